/**
 * Task data: for one (dataset, codec, task), the pooled split matrices the cells compute on, the probe rows of
 * the run's protocol, the utterance lists behind every split, and a hash of all of it (part of every cell's
 * cache key: a change in pooling, splits or features changes it).
 */
import { basename } from "node:path";
import { sha256Hex } from "../common/hash.ts";
import type { ProbeRows } from "../probe/protocol.ts";
import { type Matrix, takeRows } from "../common/matrix.ts";
import { speakerFolds, type TaskRow, type TaskSplits } from "../data/mod.ts";
import type { CodecInfo } from "../codecs/types.ts";
import type { FeatureSet } from "../extract/mod.ts";
import type { SplitLists } from "./artefacts.ts";
import type { CellData } from "./cell.ts";
import type { FrameSources } from "./cell_frames.ts";
import type { ResolvedCell } from "./plan.ts";
import type { Pooling, ProbeConfig, TaskId } from "./config.ts";

/** Everything one (dataset, codec, task) needs: the split matrices and labels. */
export interface TaskData {
  dataset: string;
  codec: string;
  task: TaskId;
  /** The codec's registry family and nominal bitrate (results columns codec_family, bitrate_kbps). */
  family: string;
  bitrateKbps: number | null;
  /** How u was pooled and which probe protocol the rows serve: every cell of the task shares them. */
  pooling: Pooling;
  probe: ProbeConfig;
  data: CellData;
  dataHash: string;
  /** dataHash with the frames files' content keys: the data of frame-level cells (absent without frames). */
  framesHash?: string;
  /** The utterance ids behind each split's rows, and their labels. */
  splits: SplitLists;
  /** The scored rows (in the order of a protocol's pooled predictions): utterance and speaker ids. */
  scored: { utteranceIds: string[]; speakerIds: string[] };
  /** Which recordings are scored: "split:test" or "external:<file>" (a dataset's testManifest). */
  testSet: string;
  /** The manifest's `dataset` column: what the data is, whatever the run config calls it. */
  kind: string;
  /** Class counts of the final probe's training rows (k-fold: the smallest fold's) and of the scored rows. */
  counts: { trainPos: number; trainNeg: number; testPos: number; testNeg: number };
}

function bytesOf(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

async function hashData(d: CellData): Promise<string> {
  const parts = [d.train, d.val1, d.test, d.probe].map((m) => `${m.rows}x${m.cols}`);
  parts.push(`folds=${d.probeRows.folds}`);
  const arrays = [d.train.data, d.val1.data, d.test.data, d.probe.data, d.probeRows.y, d.probeRows.testFold];
  if (d.probeRows.innerFold) arrays.push(d.probeRows.innerFold);
  const hashes = await Promise.all(arrays.map((a) => sha256Hex(bytesOf(a))));
  return sha256Hex(parts.join(",") + hashes.join(","));
}

/** The data hash in a cell's cache key: its task's, with the frames' keys for a frame-level cell (null: none). */
export function cellDataHash(task: TaskData, cell: ResolvedCell): string | null {
  return cell.saeInput === "frames" ? task.framesHash ?? null : task.dataHash;
}

async function hashFrames(dataHash: string, f: FrameSources): Promise<string> {
  const names = [f.train, f.val1, f.probe].map((files) => files.map((p) => basename(p)).join(","));
  return await sha256Hex([dataHash, ...names].join("|"));
}

/** What a frame-level SAE is fit on: its training and val1 frames files (content keys), whatever the task. */
export async function saeFramesHash(f: FrameSources): Promise<string> {
  return await sha256Hex([f.train, f.val1].map((files) => files.map((p) => basename(p)).join(",")).join("|"));
}

/** u as the run pools it: the mean of ê over time, or [mean, std] side by side (statistics pooling). */
export function pooled(fs: { u: Matrix; uStd?: Matrix }, pooling: Pooling, where: string): Matrix {
  if (pooling === "mean") return fs.u;
  if (!fs.uStd) throw new Error(`${where}: pooling mean+std but the feature store has no std over time`);
  const d = fs.u.cols, out = new Float32Array(fs.u.rows * 2 * d);
  for (let i = 0; i < fs.u.rows; i++) {
    out.set(fs.u.data.subarray(i * d, (i + 1) * d), i * 2 * d);
    out.set(fs.uStd.data.subarray(i * d, (i + 1) * d), i * 2 * d + d);
  }
  return { rows: fs.u.rows, cols: 2 * d, data: out };
}

/**
 * The probe stage's rows of a task under the run's protocol: the paper's split (val2 trains, test is scored)
 * or speaker-level k-fold over every non-SAE row (val1, val2, test), each row scored in its speaker's fold.
 */
export function probeRowsOf(
  splits: TaskSplits,
  probe: ProbeConfig,
  what: string,
): {
  rows: TaskRow[];
  testFold: (rows: TaskRow[]) => Int32Array;
  innerFold?: (rows: TaskRow[]) => Int32Array;
} {
  const test = new Set(splits.test.map((r) => r.utterance_id));
  const scoredOnTest = (rows: TaskRow[]) => Int32Array.from(rows, (r) => (test.has(r.utterance_id) ? 0 : -1));
  if (probe.protocol === "split") return { rows: [...splits.val2, ...splits.test], testFold: scoredOnTest };
  if (probe.protocol === "dev") {
    const dev = [...(probe.saeRows ? splits.train : []), ...splits.val1, ...splits.val2];
    return {
      rows: [...dev, ...splits.test],
      testFold: scoredOnTest,
      // C is chosen on the development speakers only: inner folds over them, −1 on the test rows.
      innerFold: (rows) => {
        const isDev = rows.map((r) => !test.has(r.utterance_id));
        const devRows = rows.filter((_, i) => isDev[i]);
        const folds = speakerFolds(devRows, probe.innerFolds, `${what}: probe training rows (inner folds)`);
        const out = new Int32Array(rows.length).fill(-1);
        let j = 0;
        rows.forEach((_, i) => (isDev[i] ? (out[i] = folds[j++]) : 0));
        return out;
      },
    };
  }
  return {
    rows: [...splits.val1, ...splits.val2, ...splits.test],
    testFold: (rows) => speakerFolds(rows, probe.folds, `${what}: probe rows`),
  };
}

/** What taskDataOf needs to know about where the rows come from. */
export interface TaskSource {
  dataset: string;
  codec: CodecInfo;
  task: TaskId;
  features: FeatureSet;
  splits: TaskSplits;
  pooling: Pooling;
  probe: ProbeConfig;
  testSet: string;
  kind: string;
  /**
   * The utterance ids of the dataset's train and val1 splits, labelled for the task or not: a frame-level SAE's
   * rows (it never sees labels, so every task's cells share it). Absent: the task's own train and val1 rows.
   */
  saeSplits?: { train: string[]; val1: string[] };
}

/** Class counts of the smallest fold's training rows and of all scored rows. */
function classCounts(rows: ProbeRows): TaskData["counts"] {
  let best: { pos: number; neg: number } | null = null;
  for (let f = 0; f < rows.folds; f++) {
    let pos = 0, neg = 0;
    rows.testFold.forEach((g, i) => (g !== f ? (rows.y[i] === 1 ? pos++ : neg++) : 0));
    if (!best || pos + neg < best.pos + best.neg) best = { pos, neg };
  }
  let testPos = 0, testNeg = 0;
  rows.testFold.forEach((g, i) => (g >= 0 ? (rows.y[i] === 1 ? testPos++ : testNeg++) : 0));
  return { trainPos: best!.pos, trainNeg: best!.neg, testPos, testNeg };
}

/**
 * After the recordings a codec could not encode are left out, every probe fold still needs both classes to
 * train on and to score: a split left with one class is an error before any cell, saying how many were lost.
 */
export function checkBothClasses(
  rows: TaskRow[],
  testFold: Int32Array,
  ctx: { what: string; excluded: number },
): void {
  const folds = Math.max(0, ...testFold) + 1;
  for (let f = 0; f < folds; f++) {
    for (
      const [side, pick] of [["probe-training", (g: number) => g !== f], [
        "scored",
        (g: number) => g === f,
      ]] as const
    ) {
      const labels = rows.filter((_, i) => pick(testFold[i])).map((r) => r.label);
      const n1 = labels.filter((l) => l === 1).length, n0 = labels.length - n1;
      if (n0 === 0 || n1 === 0) {
        throw new Error(
          `${ctx.what}: the ${side} rows${
            folds > 1 ? ` of fold ${f}` : ""
          } hold ${n0} of class 0 and ${n1} of ` +
            `class 1 after ${ctx.excluded} recording(s) failed to encode; a probe needs both classes — fix or ` +
            `replace the failed files (listed in the feature store's failures.csv) or drop the task`,
        );
      }
    }
  }
}

/** One (dataset, codec, task): its split matrices, probe rows and labels, and the utterance lists behind them. */
export async function taskDataOf(src: TaskSource): Promise<TaskData> {
  const { dataset, codec, task, features: fs, splits, probe } = src;
  const what = `${dataset}/${codec.id}/${task}`;
  const rowOf = new Map(fs.ids.map((id, i) => [id, i]));
  const u = pooled(fs, src.pooling, `${fs.dataset}/${fs.codecId}`);
  const kept = <R extends { utterance_id: string }>(rows: R[]) =>
    rows.filter((r) => rowOf.has(r.utterance_id));
  const pick = (rows: { utterance_id: string }[]) =>
    takeRows(u, kept(rows).map((r) => rowOf.get(r.utterance_id)!));
  const files = (rows: { utterance_id: string }[]) =>
    kept(rows).map((r) => fs.frameFiles![rowOf.get(r.utterance_id)!]);
  const asRows = (ids: string[]) => ids.map((utterance_id) => ({ utterance_id }));
  const labels = (rows: { utterance_id: string; label: number }[]) =>
    Int32Array.from(kept(rows).map((r) => r.label));
  const ids = (rows: { utterance_id: string }[]) => kept(rows).map((r) => r.utterance_id);
  const splitLists: SplitLists = {
    train: ids(splits.train),
    val1: ids(splits.val1),
    val2: ids(splits.val2),
    test: ids(splits.test),
    labels: Object.fromEntries(
      [splits.train, splits.val1, splits.val2, splits.test].flatMap((rows) =>
        kept(rows).map((r) => [r.utterance_id, r.label])
      ),
    ),
  };
  for (const name of ["train", "val2", "test"] as const) {
    if (kept(splits[name]).length === 0) throw new Error(`${what}: the ${name} split is empty`);
  }
  const plan = probeRowsOf(splits, probe, what);
  const probeRows = kept(plan.rows);
  const testFold = plan.testFold(probeRows);
  checkBothClasses(probeRows, testFold, { what, excluded: fs.failures.length });
  const innerFold = plan.innerFold?.(probeRows);
  if (probe.protocol === "kfold") {
    splitLists.folds = Object.fromEntries(probeRows.map((r, i) => [r.utterance_id, testFold[i]]));
  }
  const data: CellData = {
    train: pick(splits.train),
    val1: pick(splits.val1),
    test: pick(splits.test),
    probe: pick(probeRows),
    probeRows: {
      y: labels(probeRows),
      testFold,
      folds: probe.protocol === "kfold" ? probe.folds : 1,
      ...(innerFold ? { innerFold } : {}),
    },
    ...(fs.frameFiles
      ? {
        frames: {
          train: files(src.saeSplits ? asRows(src.saeSplits.train) : splits.train),
          val1: files(src.saeSplits ? asRows(src.saeSplits.val1) : splits.val1),
          probe: files(probeRows),
        },
      }
      : {}),
  };
  const dataHash = await hashData(data);
  return {
    dataset,
    codec: codec.id,
    task,
    family: codec.family,
    bitrateKbps: codec.bitrateKbps ?? null,
    pooling: src.pooling,
    probe,
    data,
    dataHash,
    ...(data.frames ? { framesHash: await hashFrames(dataHash, data.frames) } : {}),
    splits: splitLists,
    scored: {
      utteranceIds: probeRows.filter((_, i) => testFold[i] >= 0).map((r) => r.utterance_id),
      speakerIds: probeRows.filter((_, i) => testFold[i] >= 0).map((r) => r.speaker_id),
    },
    testSet: src.testSet,
    kind: src.kind,
    counts: classCounts(data.probeRows),
  };
}
