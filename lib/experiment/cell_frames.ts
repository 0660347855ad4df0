/**
 * The frame-level side of a cell (saeInput "frames"): the SAE's training, monitoring and held-out rows are
 * frames ê_t of the train, val1 and test recordings — at most `framesPerRecording` of each, a subsample seeded
 * by the cell's seed and the recording's frames file (so it does not depend on order, workers or threads) —
 * and the probes' features are every frame of a probe recording encoded and pooled (lib/sae/frame_pooling.ts).
 * Memory: one split's sampled frames (≤ cap × recordings rows) and one probe recording's codes at a time.
 */
import { basename } from "node:path";
import type { Matrix } from "../common/matrix.ts";
import { Rng } from "../common/random.ts";
import { readFrames } from "../extract/frames.ts";
import { encodeSae } from "../sae/evaluate.ts";
import { poolFrameCodes } from "../sae/frame_pooling.ts";
import type { SaeModel } from "../sae/model.ts";

/** The frames file of every row of a cell's splits (same order as CellData's matrices). */
export interface FrameSources {
  train: string[];
  val1: string[];
  test: string[];
  probe: string[];
}

/** The frame indices (ascending) a cell with `seed` takes from a recording of `t` frames, at most `cap`. */
export function frameSample(t: number, cap: number, seed: number, file: string): Int32Array {
  if (t <= cap) return Int32Array.from({ length: t }, (_, i) => i);
  // The file's name is its content key (lib/extract/frames.ts): 16 hex digits, of which 8 salt the seed.
  const salt = parseInt(basename(file).slice(0, 8), 16) >>> 0;
  const mixed = (Math.imul(seed + 1, 0x9e3779b1) ^ salt) >>> 0;
  return new Rng(mixed).permutation(t).slice(0, cap).sort();
}

/** The sampled frames of a split's recordings, stacked (≤ cap × files rows, allocated once). */
export async function sampledFrames(files: string[], d: number, cap: number, seed: number): Promise<Matrix> {
  const data = new Float32Array(cap * files.length * d);
  let rows = 0;
  for (const file of files) {
    const e = await readFrames(file, d);
    for (const t of frameSample(e.rows, cap, seed, file)) {
      data.set(e.data.subarray(t * d, (t + 1) * d), rows * d);
      rows++;
    }
  }
  return { rows, cols: d, data: data.subarray(0, rows * d) };
}

/** The SAE's rows of a frame-level cell: sampled frames of the train, val1 and test recordings. */
export async function frameSplits(
  frames: FrameSources,
  d: number,
  cap: number,
  seed: number,
): Promise<{ train: Matrix; val1: Matrix; test: Matrix }> {
  return {
    train: await sampledFrames(frames.train, d, cap, seed),
    val1: await sampledFrames(frames.val1, d, cap, seed),
    test: await sampledFrames(frames.test, d, cap, seed),
  };
}

/** z, z_pos and z_mag of each probe recording (N × d_z each): all its frames encoded, then pooled. */
export async function pooledFrameFeatures(
  model: SaeModel,
  files: string[],
  threads: number,
): Promise<{ z: Matrix; z_pos: Matrix; z_mag: Matrix }> {
  const { dZ, dIn } = model.config;
  const out = { z: new Float32Array(files.length * dZ), pos: new Float32Array(files.length * dZ) };
  const mag = new Float32Array(files.length * dZ);
  for (const [i, file] of files.entries()) {
    // One recording at a time: its codes (T × d_z) are the only frame-sized buffer held.
    const codes = await encodeSae(model, await readFrames(file, dIn), threads);
    const p = poolFrameCodes(codes);
    out.z.set(p.z, i * dZ);
    out.pos.set(p.zPos, i * dZ);
    mag.set(p.zMag, i * dZ);
  }
  const m = (data: Float32Array): Matrix => ({ rows: files.length, cols: dZ, data });
  return { z: m(out.z), z_pos: m(out.pos), z_mag: m(mag) };
}
