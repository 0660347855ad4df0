/**
 * One utterance through the paper's preprocessing and a codec: decode → first `maxSeconds` → mono →
 * resample to the codec's rate → ê → u = mean over time (and the std over time, for statistics pooling).
 * Shared by the worker and the in-thread path.
 */
import { loadAudio } from "../audio/mod.ts";
import type { Codec } from "../codecs/types.ts";
import { meanOverTime, stdOverTime } from "../codecs/types.ts";

export interface JobInput {
  index: number;
  path: string;
}

export type JobOutput =
  | { index: number; ok: true; u: Float32Array; uStd: Float32Array; frames: number; seconds: number }
  | { index: number; ok: false; reason: string };

export async function runJob(codec: Codec, job: JobInput, maxSeconds: number): Promise<JobOutput> {
  let audio: Float32Array;
  try {
    audio = await loadAudio(job.path, { sampleRate: codec.sampleRate, maxSeconds });
  } catch (e) {
    return { index: job.index, ok: false, reason: `decode: ${(e as Error).message}` };
  }
  if (audio.length === 0) {
    return { index: job.index, ok: false, reason: `no samples left after cropping to ${maxSeconds} s` };
  }
  if (codec.minSamples !== undefined && audio.length < codec.minSamples) {
    return {
      index: job.index,
      ok: false,
      reason:
        `too short: ${audio.length} samples at ${codec.sampleRate} Hz, ${codec.id} needs ${codec.minSamples}`,
    };
  }
  try {
    const e = await codec.encode(audio);
    return {
      index: job.index,
      ok: true,
      u: meanOverTime(e),
      uStd: stdOverTime(e),
      frames: e.rows,
      seconds: audio.length / codec.sampleRate,
    };
  } catch (e) {
    return { index: job.index, ok: false, reason: `encode: ${(e as Error).message}` };
  }
}
