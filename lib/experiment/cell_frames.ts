/**
 * The frame-level side of a cell (saeInput "frames"). The SAE never sees labels, so it is fit on the frames of
 * every recording of the dataset's train split (labelled for the cell's task or not) and one SAE per codec ×
 * config × seed serves every task (the executor trains it once and stores it under `cells/sae-<key>/`):
 *
 *   train     ≤ perRecording frames of each train-split recording
 *   monitor   ≤ ⌈monitorFrames / n_val1⌉ frames of each val1 recording (at most half of its frames): the
 *             stopping rule's validation loss
 *   held-out  the next ≤ perRecording frames of each val1 recording (disjoint from monitor): the SAE's and
 *             PCA-k's held-out fit, on speakers the SAE never trained on
 *
 * Each recording's frames are taken in the order of a permutation seeded by the cell's seed and the recording's
 * frames file (its content key), so the sample depends on neither order, workers nor threads. The probes'
 * features are every frame of a probe recording encoded and pooled (lib/sae/frame_pooling.ts).
 * Memory: one split's sampled frames (≤ perRecording × recordings rows) and one probe recording's codes at a
 * time.
 */
import { basename } from "node:path";
import type { Matrix } from "../common/matrix.ts";
import { Rng } from "../common/random.ts";
import { readFrames } from "../extract/frames.ts";
import { encodeSae } from "../sae/evaluate.ts";
import { poolFrameCodes } from "../sae/frame_pooling.ts";
import type { SaeModel } from "../sae/model.ts";

/** The frames files a frame-level cell reads (absolute paths). */
export interface FrameSources {
  /** Every recording of the dataset's train split and val1 split that the store holds: the SAE's rows. */
  train: string[];
  val1: string[];
  /** The probe rows' recordings, in CellData.probe's order. */
  probe: string[];
  /** The shared SAE of this codec × config × seed: its key, and its folder when the executor stored it. */
  sae?: { key: string; dir: string };
}

/**
 * The frame indices (ascending) a cell with `seed` takes from a recording of `t` frames: positions
 * [offset, offset + count) of the recording's seeded permutation (all frames when t ≤ count and offset 0).
 */
export function frameSample(t: number, count: number, seed: number, file: string, offset = 0): Int32Array {
  if (offset === 0 && t <= count) return Int32Array.from({ length: t }, (_, i) => i);
  // The file's name is its content key (lib/extract/frames.ts): 16 hex digits, of which 8 salt the seed.
  const salt = parseInt(basename(file).slice(0, 8), 16) >>> 0;
  const mixed = (Math.imul(seed + 1, 0x9e3779b1) ^ salt) >>> 0;
  return new Rng(mixed).permutation(t).slice(offset, offset + count).sort();
}

/** The sampled frames of recordings, stacked (≤ count × files rows, allocated once). */
export async function sampledFrames(
  files: string[],
  d: number,
  count: number,
  seed: number,
  offset = 0,
): Promise<Matrix> {
  const data = new Float32Array(count * files.length * d);
  let rows = 0;
  for (const file of files) {
    const e = await readFrames(file, d);
    for (const t of frameSample(e.rows, count, seed, file, offset)) {
      data.set(e.data.subarray(t * d, (t + 1) * d), rows * d);
      rows++;
    }
  }
  return { rows, cols: d, data: data.subarray(0, rows * d) };
}

/**
 * The val1 frames, read once per recording: the first ≤ `monitorEach` of its permutation (never more than
 * half its frames, so every recording of ≥ 2 frames is also held out) for the stopping rule, the next
 * ≤ `perRecording` held out.
 */
async function val1Frames(
  files: string[],
  d: number,
  counts: { monitorEach: number; perRecording: number },
  seed: number,
): Promise<{ monitor: Matrix; heldout: Matrix }> {
  const mon = new Float32Array(counts.monitorEach * files.length * d);
  const held = new Float32Array(counts.perRecording * files.length * d);
  let m = 0, h = 0;
  for (const file of files) {
    const e = await readFrames(file, d);
    const first = Math.max(1, Math.min(counts.monitorEach, Math.floor(e.rows / 2)));
    for (const t of frameSample(e.rows, first, seed, file)) {
      mon.set(e.data.subarray(t * d, (t + 1) * d), d * m++);
    }
    for (const t of frameSample(e.rows, counts.perRecording, seed, file, first)) {
      held.set(e.data.subarray(t * d, (t + 1) * d), d * h++);
    }
  }
  return {
    monitor: { rows: m, cols: d, data: mon.subarray(0, m * d) },
    heldout: { rows: h, cols: d, data: held.subarray(0, h * d) },
  };
}

/** The frame SAE's rows: train frames, val1 monitor frames, and disjoint val1 held-out frames. */
export async function frameSplits(
  frames: FrameSources,
  d: number,
  sampling: { perRecording: number; monitorFrames: number; seed: number },
): Promise<{ train: Matrix; monitor: Matrix; heldout: Matrix }> {
  const { perRecording, seed } = sampling;
  if (frames.train.length === 0 || frames.val1.length === 0) {
    throw new Error(
      `a frame-level SAE needs recordings in the train and val1 splits (${frames.train.length} and ` +
        `${frames.val1.length})`,
    );
  }
  const monitorEach = Math.max(1, Math.ceil(sampling.monitorFrames / frames.val1.length));
  const { monitor, heldout } = await val1Frames(frames.val1, d, { monitorEach, perRecording }, seed);
  if (heldout.rows === 0) {
    throw new Error(
      `the ${frames.val1.length} val1 recordings have a single frame each: nothing is left to hold out ` +
        "beside the stopping rule's frames",
    );
  }
  return { train: await sampledFrames(frames.train, d, perRecording, seed), monitor, heldout };
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
