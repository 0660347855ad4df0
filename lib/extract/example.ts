/**
 * One utterance taken through the extraction stage, step by step (notebook 01, paper Sec. 2.1): decode →
 * first 30 s → mono → resample to the codec's rate → ê (T × d_codec) → u = mean ê, with the sizes at each step.
 */
import { join } from "node:path";
import { decodeAudio, loadAudio } from "../audio/mod.ts";
import { type AssetSpec, resolveAsset } from "../common/assets.ts";
import { exists } from "../common/fs.ts";
import { homesOf } from "../common/settings.ts";
import { getCodec } from "../codecs/registry.ts";
import type { LoadOptions } from "../codecs/types.ts";
import { meanOverTime } from "./pooling.ts";

/** Lyra's own 48 kHz sample speech (Apache-2.0), so the example also exercises resampling. */
export const LYRA_SAMPLE_SPEECH: AssetSpec = {
  name: "lyra-v1.3.2-testdata",
  files: [{
    path: "sample1_48kHz.wav",
    url: "https://raw.githubusercontent.com/google/lyra/v1.3.2/lyra/testdata/sample1_48kHz.wav",
    sha256: "36082f99def471d2c72ae9460a823dc8ed7d2667069ede7afa8dc6da988e2b54",
  }],
};

/**
 * Path of the sample speech: beside the Lyra weights (lyra-v1.3.2/testdata/ in the first models folder of the
 * location rule that has it), else the cache, else a download.
 */
export async function sampleSpeechPath(opts: LoadOptions = {}): Promise<string> {
  const models = [opts.modelsDir, ...homesOf(opts, "models")].filter((d): d is string => d !== undefined);
  let beside: string | undefined;
  for (const m of models) {
    const dir = join(m, "lyra-v1.3.2", "testdata");
    if (await exists(join(dir, LYRA_SAMPLE_SPEECH.files[0].path))) {
      beside = dir;
      break;
    }
  }
  const dir = await resolveAsset(LYRA_SAMPLE_SPEECH, {
    dir: beside,
    homes: homesOf(opts, "models"),
    cacheDir: opts.cacheDir,
    quiet: true,
  });
  return join(dir, LYRA_SAMPLE_SPEECH.files[0].path);
}

export interface ExtractionExample {
  codec: string;
  path: string;
  sourceSampleRate: number;
  sourceChannels: number;
  sourceSeconds: number;
  /** Samples after crop, mono and resampling to the codec's rate. */
  samples: number;
  sampleRate: number;
  /** ê: frames × d_codec. */
  frames: number;
  dCodec: number;
  u: Float32Array;
  encodeSeconds: number;
}

/** Takes one audio file through the paper's preparation and a codec to ê and u. */
export async function extractionExample(
  codecId: string,
  audioPath: string,
  opts: LoadOptions = {},
): Promise<ExtractionExample> {
  const entry = await getCodec(codecId, opts);
  const source = await decodeAudio(audioPath);
  const audio = await loadAudio(audioPath, { sampleRate: entry.sampleRate });
  const codec = await entry.load({ quiet: true, ...opts });
  try {
    const t0 = performance.now();
    const e = await codec.encode(audio);
    return {
      codec: codecId,
      path: audioPath,
      sourceSampleRate: source.sampleRate,
      sourceChannels: source.channels.length,
      sourceSeconds: source.channels[0].length / source.sampleRate,
      samples: audio.length,
      sampleRate: entry.sampleRate,
      frames: e.rows,
      dCodec: e.cols,
      u: meanOverTime(e),
      encodeSeconds: (performance.now() - t0) / 1000,
    };
  } finally {
    codec.dispose();
  }
}
