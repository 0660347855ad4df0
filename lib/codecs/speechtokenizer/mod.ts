/**
 * SpeechTokenizer codecs for the registry: `speechtokenizer` (all 8 RVQ layers) and `speechtokenizer-1q`
 * (RVQ-1 only, the HuBERT-distilled "semantic" layer). ê is T × 1024 at 50 frames/s (16 kHz input).
 */
import type { Codec, CodecEntry, LoadOptions } from "../types.ts";
import { frameRate, hopLength, OFFICIAL_CONFIG } from "./config.ts";
import { SptRunner } from "./model.ts";
import { loadSptWeights, OFFICIAL_URL } from "./weights.ts";

const SOURCE =
  `SpeechTokenizer (ZhangXInFD/SpeechTokenizer, code Apache-2.0), weights ${OFFICIAL_URL} (licence not stated)`;

/** Bits per code: log2(codebook size). */
const bitrate = (nq: number) =>
  (nq * Math.log2(OFFICIAL_CONFIG.codebookSize) * frameRate(OFFICIAL_CONFIG)) / 1000;

function entry(id: string, nq: number): CodecEntry {
  return {
    id,
    family: "speechtokenizer",
    sampleRate: OFFICIAL_CONFIG.sampleRate,
    dCodec: OFFICIAL_CONFIG.encoder.dimension,
    frameRate: frameRate(OFFICIAL_CONFIG),
    bitrateKbps: bitrate(nq),
    minSamples: 1,
    source: SOURCE,
    load: (opts: LoadOptions = {}) => loadSpeechTokenizer(id, nq, opts),
  };
}

export async function loadSpeechTokenizer(id: string, nq: number, opts: LoadOptions = {}): Promise<Codec> {
  const { weights, config, source } = await loadSptWeights(opts);
  const runner = await SptRunner.create(weights, config, nq, opts.threads);
  return {
    id,
    family: "speechtokenizer",
    sampleRate: config.sampleRate,
    dCodec: config.encoder.dimension,
    frameRate: frameRate(config),
    bitrateKbps: (nq * Math.log2(config.codebookSize) * frameRate(config)) / 1000,
    minSamples: 1,
    source:
      `${SOURCE}; loaded from ${source} (${nq} of ${config.nQ} codebooks × ${config.codebookSize}, hop ${
        hopLength(config)
      })`,
    encode: async (audio: Float32Array) => (await runner.run(audio, ["ehat"])).ehat!,
    dispose: () => void runner.release(),
  };
}

export const SPEECHTOKENIZER_CODECS: CodecEntry[] = [
  entry("speechtokenizer", 8),
  entry("speechtokenizer-1q", 1),
];
