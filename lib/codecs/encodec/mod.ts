/**
 * EnCodec 24 kHz codecs for the registry: ids `encodec-<bw>kbps` for the official target bandwidths.
 * ê (T × 128, 75 frames/s) = the dequantized RVQ output the decoder consumes; see README "Codecs".
 */
import type { Codec, CodecEntry, LoadOptions } from "../types.ts";
import { frameRate, hopLength, nqForBandwidth, OFFICIAL_24KHZ } from "./config.ts";
import { EncodecRunner } from "./model.ts";
import { loadEncodecWeights, OFFICIAL_URL } from "./weights.ts";

const SOURCE =
  `EnCodec 24 kHz, facebookresearch/encodec (code MIT), weights ${OFFICIAL_URL} (licence not stated)`;

function entry(kbps: number): CodecEntry {
  const id = `encodec-${kbps}kbps`;
  return {
    id,
    family: "encodec",
    sampleRate: OFFICIAL_24KHZ.sampleRate,
    dCodec: OFFICIAL_24KHZ.encoder.dimension,
    frameRate: frameRate(OFFICIAL_24KHZ),
    bitrateKbps: kbps,
    minSamples: 1,
    source: SOURCE,
    load: (opts: LoadOptions = {}) => loadEncodec(id, kbps, opts),
  };
}

/** Loads EnCodec at `kbps` (weights resolved as in lib/codecs/nn/weights_resolve.ts, folder `encodec_24khz`). */
export async function loadEncodec(id: string, kbps: number, opts: LoadOptions = {}): Promise<Codec> {
  const { weights, config, source } = await loadEncodecWeights(opts);
  const nq = nqForBandwidth(config, kbps);
  const runner = await EncodecRunner.create(weights, config, nq, opts.threads);
  return {
    id,
    family: "encodec",
    sampleRate: config.sampleRate,
    dCodec: config.encoder.dimension,
    frameRate: frameRate(config),
    bitrateKbps: kbps,
    minSamples: 1,
    source: `${SOURCE}; loaded from ${source} (${nq} of ${config.nQ} codebooks × ${config.bins}, hop ${
      hopLength(config)
    })`,
    encode: async (audio: Float32Array) => (await runner.run(audio, ["ehat"])).ehat!,
    dispose: () => void runner.release(),
  };
}

export const ENCODEC_CODECS: CodecEntry[] = [1.5, 3, 6, 12, 24].map(entry);
