/**
 * Result rows, built the one way: every column of the results table (lib/formats/results.ts) has exactly one
 * entry in RESULT_COLUMNS saying where its value comes from — the resolved cell, its SAE outcome, the probe's
 * outcome, the task's reference and data. A reference row (feature "u") is the same builder with no cell. The
 * mapped type makes a column without an entry (or an entry without a column) a compile error: adding a
 * column is one line in the schema and one here.
 */
import { writeTableFiles } from "../formats/table_files.ts";
import { join } from "node:path";
import {
  type Column,
  CURVE_TABLE,
  type CurveRow,
  DENSITY_TABLE,
  type DensityRow,
  RESULT_TABLE,
  type ResultRow,
  type RowOf,
  SUMMARY_TABLE,
  type SummaryRow,
  tableFrame,
} from "../formats/results.ts";
import { type PredictionRow, writePredictions } from "../formats/predictions.ts";
import { type KSparseRow, ksparseSettingOf, writeKSparse } from "../formats/ksparse.ts";
import { kSparseTableRows } from "../probe/ksparse.ts";
import type { ProbeRows } from "../probe/protocol.ts";
import { classificationMetrics } from "../probe/metrics.ts";
import { type CellOutcome, DENSITY_GROUPS } from "./cell.ts";
import type { RunConfig } from "./config.ts";
import type { KeyedCell, KeyedTask } from "./grid_plan.ts";
import { type ResolvedCell, scheduleName } from "./plan.ts";
import type { FeatureOutcome } from "./probe_outcome.ts";
import type { RefOutcome } from "./reference.ts";
import {
  percentileInterval,
  type ScoredRecording,
  seedInterval,
  speakerDeltaF1Interval,
  speakerF1Interval,
} from "./stats.ts";

/** Everything one results row is built from. */
export interface RowSource {
  task: KeyedTask;
  ref: RefOutcome;
  /** Labels of the protocol's scored rows, in the order of the pooled predictions. */
  truth: Int32Array;
  refInterval: { low: number; high: number } | null;
  chance: { mean: number; low: number; high: number } | null;
  /** Null for a reference row. */
  cell: ResolvedCell | null;
  sae: CellOutcome | null;
  probe: Omit<FeatureOutcome, "feature"> & { feature: string };
  seed: number;
  key: string;
  f1Interval: { low: number; high: number } | null;
  deltaInterval: { low: number; high: number } | null;
}

const sae = <T>(pick: (o: CellOutcome) => T) => (s: RowSource): T | null => (s.sae ? pick(s.sae) : null);

/** Where each results column comes from. */
export const RESULT_COLUMNS: { [K in keyof ResultRow]: (s: RowSource) => ResultRow[K] } = {
  dataset: (s) => s.task.data.dataset,
  dataset_kind: (s) => s.task.data.kind,
  codec: (s) => s.task.data.codec,
  task: (s) => s.task.data.task,
  pooling: (s) => s.task.data.pooling,
  sae_input: (s) => s.cell?.saeInput ?? "utterance",
  probe_protocol: (s) => s.task.data.probe.protocol,
  probe_folds: (s) => s.task.data.data.probeRows.folds,
  q: (s) => s.cell?.q ?? null,
  s: (s) => s.cell?.s ?? null,
  seed: (s) => s.seed,
  feature: (s) => s.probe.feature,
  f1: (s) => s.probe.f1,
  f1_low: (s) => s.f1Interval?.low ?? null,
  f1_high: (s) => s.f1Interval?.high ?? null,
  f1_ref: (s) => s.ref.f1,
  delta_f1: (s) => s.probe.f1 - s.ref.f1,
  delta_f1_low: (s) => s.deltaInterval?.low ?? null,
  delta_f1_high: (s) => s.deltaInterval?.high ?? null,
  accuracy: (s) => s.probe.accuracy,
  nnz: (s) => s.probe.nnz,
  n_iter: (s) => s.probe.nIter,
  converged: (s) => s.probe.converged,
  k: (s) => s.cell?.k ?? null,
  d_z: (s) => s.cell?.dZ ?? null,
  d_codec: (s) => s.task.data.data.train.cols,
  schedule: (s) => (s.cell ? scheduleName(s.cell.schedule) : null),
  sae_lr: (s) => s.cell?.schedule.lr ?? null,
  epochs: (s) => (s.cell?.schedule.kind === "epochs" ? s.cell.schedule.epochs : null),
  sae_steps: sae((o) => o.steps),
  sae_best_step: sae((o) => o.bestStep),
  sae_stop: sae((o) => o.stop),
  nmse: sae((o) => o.nmse),
  explained_variance: sae((o) => o.explainedVariance),
  ev_pca_k: sae((o) => o.evPcaK),
  sae_trained: sae((o) => o.saeTrained),
  ev_heldout: sae((o) => o.evHeldout),
  ev_pca_k_heldout: sae((o) => o.evPcaKHeldout),
  heldout_below_pca_k: sae((o) => o.heldoutBelowPcaK),
  l0: sae((o) => o.l0),
  dead_latents: sae((o) => o.deadLatents),
  sae_seconds: sae((o) => o.saeSeconds),
  probe_seconds: (s) => s.probe.probeSeconds,
  // Reference rows: the train recordings (what an utterance-level SAE is fit on).
  n_sae_train: (s) => s.sae?.saeTrainRows ?? s.task.data.data.train.rows,
  n_probe_train: (s) => s.ref.minTrainRows,
  n_train_pos: (s) => s.task.data.counts.trainPos,
  n_train_neg: (s) => s.task.data.counts.trainNeg,
  n_test: (s) => s.ref.predictions.length,
  n_test_pos: (s) => s.task.data.counts.testPos,
  n_test_neg: (s) => s.task.data.counts.testNeg,
  test_set: (s) => s.task.data.testSet,
  probe_c: (s) => s.probe.chosenC.reduce((a, c) => a + c, 0) / s.probe.chosenC.length,
  majority_f1: (s) => majorityF1(s.truth, s.task.data.counts),
  predicts_one_class: (s) => new Set(s.probe.predictions).size <= 1,
  codec_family: (s) => s.task.data.family,
  bitrate_kbps: (s) => s.task.data.bitrateKbps,
  f1_ref_low: (s) => s.refInterval?.low ?? null,
  f1_ref_high: (s) => s.refInterval?.high ?? null,
  chance_f1: (s) => s.chance?.mean ?? null,
  chance_f1_low: (s) => s.chance?.low ?? null,
  chance_f1_high: (s) => s.chance?.high ?? null,
  ref_above_chance: (s) => (s.refInterval && s.chance ? s.refInterval.low > s.chance.high : null),
  config_hash: (s) => (s.cell ? s.key : null),
  cell_key: (s) => s.key,
  sae_key: (s) => (s.cell ? s.sae?.saeKey ?? s.key : null),
};

/** One results row from its sources, columns in the schema's order. */
export function resultRow(s: RowSource): ResultRow {
  const row: Record<string, unknown> = {};
  for (const c of RESULT_TABLE) row[c.name] = RESULT_COLUMNS[c.name as keyof ResultRow](s);
  return row as unknown as ResultRow;
}

/** Macro-F1 of answering the probe-training majority class for every scored row (ties: class 0, US). */
export function majorityF1(truth: Int32Array, counts: { trainPos: number; trainNeg: number }): number {
  const majority = counts.trainPos > counts.trainNeg ? 1 : 0;
  return classificationMetrics(truth, new Int32Array(truth.length).fill(majority)).macroF1;
}

/**
 * A probe's scored recordings with their speakers: what the intervals resample (test speakers, each with all
 * their recordings — lib/common/speaker_bootstrap.ts).
 */
function scoredRecordings(
  task: KeyedTask,
  truth: Int32Array,
  predictions: ArrayLike<number>,
): ScoredRecording[] {
  const speakers = task.data.scored.speakerIds;
  return Array.from({ length: truth.length }, (_, i) => ({
    speaker_id: speakers[i],
    label: truth[i],
    predicted: predictions[i],
  }));
}

/** Labels of the protocol's scored rows, in the order of its pooled predictions. */
function scoredTruth(rows: ProbeRows): Int32Array {
  const out: number[] = [];
  rows.testFold.forEach((f, i) => (f >= 0 ? out.push(rows.y[i]) : 0));
  return Int32Array.from(out);
}

/** What every row of one task shares: its reference, scored labels, and validity against chance. */
type TaskSources = Pick<RowSource, "task" | "ref" | "truth" | "refInterval" | "chance">;

function taskSources(config: RunConfig, task: KeyedTask, ref: RefOutcome): TaskSources {
  const truth = scoredTruth(task.data.data.probeRows);
  return {
    task,
    ref,
    truth,
    refInterval: config.bootstrap > 0
      ? speakerF1Interval(scoredRecordings(task, truth, ref.predictions), {
        resamples: config.bootstrap,
        seed: 0,
      })
      : null,
    chance: ref.chance.length > 0 ? percentileInterval(ref.chance) : null,
  };
}

/** Reference rows: feature "u", one per seed so each seed's ΔF1 has its own baseline row. */
function referenceRows(config: RunConfig, t: TaskSources): ResultRow[] {
  return config.seeds.map((seed) =>
    resultRow({
      ...t,
      cell: null,
      sae: null,
      probe: { ...t.ref, feature: "u" },
      seed,
      key: t.task.refKey,
      f1Interval: t.refInterval,
      deltaInterval: null,
    })
  );
}

/** One cell's rows in the three tables: a results row per feature kind, its density groups, its curve. */
/** How many seeds a cell's SAE setting runs (frame-level cells may run a subset: frames.seeds). */
function seedsOf(config: RunConfig, cell: ResolvedCell): number {
  return cell.saeInput === "frames" ? (config.frames?.seeds ?? config.seeds).length : config.seeds.length;
}

function cellRows(
  config: RunConfig,
  c: KeyedCell,
  o: CellOutcome,
  t: TaskSources,
): { results: ResultRow[]; density: DensityRow[]; curves: CurveRow[]; ksparse: KSparseRow[] } {
  const B = config.bootstrap, seed = c.cell.seed;
  const scored = (predictions: ArrayLike<number>) => scoredRecordings(t.task, t.truth, predictions);
  const results = o.outcomes.map((f) =>
    resultRow({
      ...t,
      cell: c.cell,
      sae: o,
      probe: f,
      seed,
      key: c.key,
      f1Interval: B > 0 ? speakerF1Interval(scored(f.predictions), { resamples: B, seed }) : null,
      // Across seeds the summary table gives the interval; a single seed gets the paired bootstrap.
      deltaInterval: seedsOf(config, c.cell) === 1 && B > 0 && f.predictions.length > 0
        ? speakerDeltaF1Interval(scored(f.predictions), scored(t.ref.predictions), { resamples: B, seed })
        : null,
    })
  );
  const where = {
    dataset: c.cell.dataset,
    codec: c.cell.codec,
    task: c.cell.task,
    sae_input: c.cell.saeInput,
    codec_family: t.task.data.family,
    bitrate_kbps: t.task.data.bitrateKbps,
    q: c.cell.q,
    s: c.cell.s,
    seed,
  };
  const density = Array.from(
    { length: DENSITY_GROUPS },
    (_, g) => ({ ...where, group: g, density: o.densityGroups[g] }),
  );
  const curves = o.curves.map((r) => ({
    ...where,
    epoch: r.epoch,
    step: r.step,
    train_loss: r.trainLoss,
    val_loss: r.valLoss,
    nmse: r.nmse,
    l0: r.l0,
    dead: r.dead,
  }));
  // Each feature's k-sparse probes, with the same bootstrap interval as its results row.
  const ksparse = o.outcomes.flatMap((f, i) =>
    kSparseTableRows(
      f.ksparse ?? [],
      ksparseSettingOf(results[i]),
      B > 0 ? (p) => speakerF1Interval(scored(p.predictions), { resamples: B, seed }) : undefined,
    )
  );
  return { results, density, curves, ksparse };
}

/** Writes one declared table as `<base>.parquet` and `<base>.csv` (atomically, each). */
export async function writeTable<T extends readonly Column[]>(
  base: string,
  table: T,
  rows: readonly RowOf<T>[],
): Promise<string[]> {
  return await writeTableFiles(base, tableFrame(table, rows, base));
}

/** Every scored recording's label, decision value and prediction, for one probe (a results row). */
function predictionRows(t: TaskSources, key: string, p: RowSource["probe"]): PredictionRow[] {
  const { utteranceIds, speakerIds } = t.task.data.scored;
  return p.predictions.map((predicted, i) => ({
    cell_key: key,
    feature: p.feature,
    utterance_id: utteranceIds[i],
    speaker_id: speakerIds[i],
    label: t.truth[i],
    score: p.scores?.[i] ?? null,
    predicted,
  }));
}

/**
 * Writes results, density, curves, predictions (and, with several seeds, summary) from the cells and
 * references.
 */
export async function writeResultTables(
  config: RunConfig,
  cells: KeyedCell[],
  outcomes: Map<string, CellOutcome>,
  refs: Map<KeyedTask, RefOutcome>,
): Promise<{ files: string[]; rows: number }> {
  const results: ResultRow[] = [];
  const density: DensityRow[] = [];
  const curves: CurveRow[] = [];
  const predictions: PredictionRow[] = [];
  const ksparse: KSparseRow[] = [];
  const sources = new Map([...refs].map(([task, ref]) => [task, taskSources(config, task, ref)]));
  for (const t of sources.values()) {
    results.push(...referenceRows(config, t));
    predictions.push(...predictionRows(t, t.task.refKey, { ...t.ref, feature: "u" }));
  }
  for (const c of cells) {
    const o = outcomes.get(c.key)!, t = sources.get(c.task)!;
    const rows = cellRows(config, c, o, t);
    results.push(...rows.results);
    density.push(...rows.density);
    curves.push(...rows.curves);
    ksparse.push(...rows.ksparse);
    for (const f of o.outcomes) predictions.push(...predictionRows(t, c.key, f));
  }
  const out = (name: string) => join(config.outDir, name);
  const files = [
    ...await writeTable(out("results"), RESULT_TABLE, results),
    ...await writeTable(out("density"), DENSITY_TABLE, density),
    ...await writeTable(out("curves"), CURVE_TABLE, curves),
    ...await writePredictions(config.outDir, predictions),
    ...await writeKSparse(config.outDir, ksparse),
  ];
  if (config.seeds.length > 1) {
    files.push(...await writeTable(out("summary"), SUMMARY_TABLE, summarize(results)));
  }
  return { files, rows: results.length };
}

/** What `summarize` reads of a results row. */
export type SummaryInput = Pick<
  ResultRow,
  | "dataset"
  | "codec"
  | "task"
  | "pooling"
  | "probe_protocol"
  | "probe_folds"
  | "sae_input"
  | "q"
  | "s"
  | "feature"
  | "delta_f1"
  | "k"
  | "d_z"
>;

/** Mean ± std and 95 % interval of ΔF1 across seeds per (dataset, codec, task, protocol, q, s, feature). */
export function summarize(rows: readonly SummaryInput[]): SummaryRow[] {
  const groups = new Map<string, SummaryInput[]>();
  for (const r of rows) {
    if (r.feature === "u") continue;
    const k = [r.dataset, r.codec, r.task, r.pooling, r.probe_protocol, r.sae_input, r.q, r.s, r.feature]
      .join(
        "|",
      );
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const iv = seedInterval(rs.map((r) => r.delta_f1));
    const r0 = rs[0];
    return {
      dataset: r0.dataset,
      codec: r0.codec,
      task: r0.task,
      pooling: r0.pooling,
      probe_protocol: r0.probe_protocol,
      probe_folds: r0.probe_folds,
      sae_input: r0.sae_input,
      q: r0.q!,
      s: r0.s!,
      feature: r0.feature,
      k: r0.k!,
      d_z: r0.d_z!,
      n_seeds: iv.n,
      delta_f1_mean: iv.mean,
      delta_f1_std: iv.std,
      delta_f1_low: iv.low,
      delta_f1_high: iv.high,
    };
  });
}
