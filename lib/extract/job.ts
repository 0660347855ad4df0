/**
 * One utterance through the paper's preprocessing and a group of codecs (usually one; Lyra's bitrates share
 * one encoder pass): decode → first `maxSeconds` → mono → resample to the codecs' rate → ê of each → u = mean
 * over time (and the std over time, for statistics pooling). Shared by the worker and the in-thread path.
 */
import { loadAudio } from "../audio/mod.ts";
import { type CodecGroup, shortestInput } from "../codecs/types.ts";
import { meanOverTime, stdOverTime } from "./pooling.ts";

export interface JobInput {
  index: number;
  path: string;
  /** Return ê itself too (a store keeping frames for frame-level SAEs). */
  keepFrames?: boolean;
}

/** One codec's pooled ê of the utterance. */
export interface CodecOutput {
  u: Float32Array;
  uStd: Float32Array;
  frames: number;
  /** ê, frames × d row-major, when the job asked to keep frames. */
  e?: Float32Array;
}

export type JobOutput =
  /** `outs` in the group's codec order. */
  | { index: number; ok: true; outs: CodecOutput[]; seconds: number }
  | { index: number; ok: false; reason: string };

export async function runJob(group: CodecGroup, job: JobInput, maxSeconds: number): Promise<JobOutput> {
  const name = group.codecs.map((c) => c.id).join("+");
  let audio: Float32Array;
  try {
    audio = await loadAudio(job.path, { sampleRate: group.sampleRate, maxSeconds });
  } catch (e) {
    return { index: job.index, ok: false, reason: `decode: ${(e as Error).message}` };
  }
  const shortest = Math.max(group.minSamples ?? 1, ...group.codecs.map(shortestInput));
  if (audio.length < shortest) {
    return {
      index: job.index,
      ok: false,
      reason: `too short: ${audio.length} samples at ${group.sampleRate} Hz, ${name} needs ${shortest} ` +
        `(one frame)`,
    };
  }
  try {
    const es = await group.encode(audio);
    return {
      index: job.index,
      ok: true,
      outs: es.map((e) => ({
        u: meanOverTime(e),
        uStd: stdOverTime(e),
        frames: e.rows,
        // A copy: the worker transfers it, and the codec may still own (or reuse) the buffer behind ê.
        ...(job.keepFrames ? { e: e.data.slice() } : {}),
      })),
      seconds: audio.length / group.sampleRate,
    };
  } catch (e) {
    return { index: job.index, ok: false, reason: `encode: ${(e as Error).message}` };
  }
}
