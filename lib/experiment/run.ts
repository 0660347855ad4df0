/**
 * The experiment grid (paper Sec. 2.4, 4): for each dataset × codec × task, the reference F1 on u, then for
 * each (q, s, seed) an SAE and one probe per feature kind, giving ΔF1 = F1 − F1_ref.
 *
 * Caching and resume: every cell is stored as `<outDir>/cells/<key>.json`, the key being a content hash of
 * its inputs (the exact feature matrices and labels, the cell's settings, and the source the cell runs: its
 * module's whole local import graph). A killed run resumes, recomputing nothing finished; a changed setting changes exactly the
 * keys it affects. Writes are atomic.
 */
import { join } from "node:path";
import { exists, readJson, writeFileAtomic, writeJsonAtomic } from "../common/fs.ts";
import { hashJson, sha256Hex } from "../common/hash.ts";
import { sourceHash } from "../common/source_graph.ts";
import { lockDir } from "../common/lock.ts";
import { type Matrix, takeRows } from "../common/matrix.ts";
import { parquetBytes } from "../formats/parquet.ts";
import { log, Progress } from "../common/progress.ts";
import { type Locations, locationsOf } from "../common/settings.ts";
import {
  prepareDataset,
  readManifest,
  speakerFolds,
  taskApplies,
  type TaskRow,
  type TaskSplits,
  taskSplits,
} from "../data/mod.ts";
import { getCodec } from "../codecs/registry.ts";
import type { CodecInfo } from "../codecs/types.ts";
import { extractFeatureSets, type FeatureSet, loadFeatureSet } from "../extract/mod.ts";
import { permutedLabelF1, runProtocol } from "../probe/mod.ts";
import {
  artefactDir,
  hasArtefacts,
  protocolArtefacts,
  type SplitLists,
  writeArtefacts,
} from "./artefacts.ts";
import {
  type CellData,
  type CellOutcome,
  type CellSpec,
  DENSITY_GROUPS,
  type FeatureOutcome,
  probeOutcome,
  saeConfigFor,
} from "./cell.ts";
import {
  convergenceOf,
  describeEpochs,
  epochsFor,
  type Pooling,
  type ProbeConfig,
  type RunConfig,
  scheduleName,
  type TaskId,
} from "./config.ts";
import {
  type Column,
  CURVE_TABLE,
  type CurveRow,
  DENSITY_TABLE,
  type DensityRow,
  RESULT_TABLE,
  type ResultRow,
  type RowOf,
  type SettingRow,
  SUMMARY_TABLE,
  type SummaryRow,
  tableFrame,
} from "../formats/results.ts";
import { CellPool } from "./pool.ts";
import { computeTotals, previousRuns, type RunRecord } from "./run_history.ts";
import { bootstrapDeltaF1, bootstrapF1, percentileInterval, seedInterval } from "./stats.ts";
import type { ProbeRows } from "../probe/mod.ts";

/** `Locations`: where data sets, weights and the cache are (from the environment, at the edge). */
export interface RunOptions extends Locations {
  /** List the cells and whether each is cached; compute nothing. */
  dryRun?: boolean;
  quiet?: boolean;
  /**
   * Keep each cell's SAE, probes and split lists in `<outDir>/cells/<key>/` (default true; see artefacts.ts).
   * Off: only the metrics JSON per cell, the smaller footprint.
   */
  checkpoints?: boolean;
  /**
   * "extract" (default): extract what the feature stores lack. "stored": read complete stores only, never
   * extract or rewrite them (array tasks and merges of another executor, many processes at once).
   */
  features?: "extract" | "stored";
  /** Recorded in run_info.json as `executor` (e.g. the Slurm job ids). */
  executor?: Record<string, unknown>;
  /** Compute threads per cell's SAE; default cores ÷ workers. Changes speed only, never a result. */
  threadsPerCell?: number;
  /** onnxruntime execution providers for extraction with the ONNX codecs, e.g. ["cuda", "cpu"]. */
  providers?: string[];
}

/** Where a cell sits in the grid: dataset × codec × task × SAE config (q, s) × seed. */
export interface CellCoordinates {
  dataset: string;
  codec: string;
  task: TaskId;
  q: number;
  s: number;
  seed: number;
}

export interface PlannedCell extends CellCoordinates {
  epochs: number;
  k: number;
  dZ: number;
  key: string | null;
  cached: boolean;
}

export interface RunSummary {
  outDir: string;
  cells: { total: number; cached: number; computed: number };
  rows: number;
  seconds: number;
  files: string[];
  excluded: { dataset: string; codec: string; utterance_id: string; reason: string }[];
  planned?: PlannedCell[];
}

/** Everything one (dataset, codec, task) needs: the split matrices and labels. */
export interface TaskData {
  dataset: string;
  codec: string;
  task: TaskId;
  /** The codec's registry family and nominal bitrate (results columns codec_family, bitrate_kbps). */
  family: string;
  bitrateKbps: number | null;
  data: CellData;
  dataHash: string;
  /** The utterance ids behind each split's rows, and their labels. */
  splits: SplitLists;
}

/**
 * Hash of the source a cell runs: cell.ts and every local module it imports, transitively (stages, shared
 * layers, formats), so a code change recomputes exactly the cells it can affect.
 */
function codeVersion(): Promise<string> {
  return sourceHash(new URL("./cell.ts", import.meta.url), new URL("..", import.meta.url));
}

function bytesOf(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

async function hashData(d: CellData): Promise<string> {
  const parts = [d.train, d.val1, d.test, d.probe].map((m) => `${m.rows}x${m.cols}`);
  parts.push(`folds=${d.probeRows.folds}`);
  const hashes = await Promise.all(
    [d.train.data, d.val1.data, d.test.data, d.probe.data, d.probeRows.y, d.probeRows.testFold].map((a) =>
      sha256Hex(bytesOf(a))
    ),
  );
  return sha256Hex(parts.join(",") + hashes.join(","));
}

/** u as the run pools it: the mean of ê over time, or [mean, std] side by side (statistics pooling). */
function pooled(fs: FeatureSet, pooling: Pooling): Matrix {
  if (pooling === "mean") return fs.u;
  if (!fs.uStd) throw new Error(`${fs.dataset}/${fs.codecId}: the feature store has no std over time`);
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
function probeRowsOf(
  splits: TaskSplits,
  probe: ProbeConfig,
  what: string,
): { rows: TaskRow[]; testFold: (rows: TaskRow[]) => Int32Array } {
  if (probe.protocol === "split") {
    const test = new Set(splits.test.map((r) => r.utterance_id));
    return {
      rows: [...splits.val2, ...splits.test],
      testFold: (rows) => Int32Array.from(rows, (r) => (test.has(r.utterance_id) ? 0 : -1)),
    };
  }
  return {
    rows: [...splits.val1, ...splits.val2, ...splits.test],
    testFold: (rows) => speakerFolds(rows, probe.folds, `${what}: probe rows`),
  };
}

/** One (dataset, codec, task): its split matrices, probe rows and labels, and the utterance lists behind them. */
async function taskDataOf(
  config: RunConfig,
  dataset: string,
  codecId: string,
  task: TaskId,
  entry: CodecInfo,
  fs: FeatureSet,
  splits: TaskSplits,
): Promise<TaskData> {
  const rowOf = new Map(fs.ids.map((id, i) => [id, i]));
  const u = pooled(fs, config.pooling);
  const pick = (rows: { utterance_id: string }[]) => {
    const idx = rows.map((r) => rowOf.get(r.utterance_id)).filter((i): i is number => i !== undefined);
    return takeRows(u, idx);
  };
  const kept = <R extends { utterance_id: string }>(rows: R[]) =>
    rows.filter((r) => rowOf.has(r.utterance_id));
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
    if (kept(splits[name]).length === 0) {
      throw new Error(`${dataset}/${codecId}/${task}: the ${name} split is empty`);
    }
  }
  const plan = probeRowsOf(splits, config.probe, `${dataset}/${codecId}/${task}`);
  const probeRows = kept(plan.rows);
  const testFold = plan.testFold(probeRows);
  if (config.probe.protocol === "kfold") {
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
      folds: config.probe.protocol === "split" ? 1 : config.probe.folds,
    },
  };
  return {
    dataset,
    codec: codecId,
    task,
    family: entry.family,
    bitrateKbps: entry.bitrateKbps ?? null,
    data,
    dataHash: await hashData(data),
    splits: splitLists,
  };
}

async function loadTaskData(
  config: RunConfig,
  quiet: boolean,
  dryRun: boolean,
  storedOnly: boolean,
  where: Locations & { providers?: string[] },
) {
  const loc = locationsOf(where);
  const tasks: TaskData[] = [];
  const excluded: RunSummary["excluded"] = [];
  for (const ds of config.datasets) {
    const allowDuplicateAudio = ds.allowDuplicateAudio;
    let manifestPath = ds.manifest;
    if (!manifestPath) {
      const prepared = await prepareDataset(ds.name, {
        ...loc,
        source: ds.source,
        quiet,
        allowDuplicateAudio,
        ...(ds.options ?? {}),
      });
      manifestPath = prepared.manifestPath;
      // What preparing found (e.g. SAA: layout, speakers left out, caveats) is shown, not only stored.
      if (prepared.report) log(prepared.report.split("\n").map((l) => `${ds.name}: ${l}`).join("\n"), quiet);
    }
    const manifest = await readManifest(manifestPath, {
      duplicateAudio: allowDuplicateAudio ? "allow" : "error",
    });
    const dsTasks = (ds.tasks ?? config.tasks).filter((t) =>
      config.tasks.includes(t) || ds.tasks?.includes(t)
    );
    // The protocol's folds are checked on the manifest, before any extraction.
    for (const task of dsTasks) {
      if (!taskApplies(manifest, task)) continue;
      const plan = probeRowsOf(taskSplits(manifest, task), config.probe, `${ds.name}/${task}`);
      plan.testFold(plan.rows);
    }
    const storeDirOf = (codecId: string) =>
      join(config.featureDir ?? join(config.outDir, "features"), ds.name, codecId);
    const codecIds: string[] = [];
    for (const codecId of config.codecs) {
      if (dryRun && !(await exists(storeDirOf(codecId)))) {
        log(`${ds.name}/${codecId}: features not extracted yet`, quiet);
      } else codecIds.push(codecId);
    }
    // All codecs at once: those sharing an encoder pass (Lyra's bitrates) encode each utterance once.
    const sets: FeatureSet[] = storedOnly
      ? await Promise.all(codecIds.map((c) => loadFeatureSet(storeDirOf(c))))
      : await extractFeatureSets({
        manifestPath,
        codecIds,
        storeDirs: codecIds.map(storeDirOf),
        workers: config.workers,
        ...loc,
        modelsDir: config.modelsDir,
        quiet,
        providers: where.providers,
      });
    for (const [c, codecId] of codecIds.entries()) {
      const entry = await getCodec(codecId, { ...loc, modelsDir: config.modelsDir });
      const fs = sets[c];
      for (const f of fs.failures) excluded.push({ dataset: ds.name, codec: codecId, ...f });
      for (const task of dsTasks) {
        if (!taskApplies(manifest, task)) {
          if (ds.tasks?.includes(task)) {
            throw new Error(`dataset '${ds.name}' does not support task '${task}'`);
          }
          continue;
        }
        tasks.push(await taskDataOf(config, ds.name, codecId, task, entry, fs, taskSplits(manifest, task)));
      }
    }
  }
  return { tasks, excluded };
}

/** The cell key naming a (dataset, codec, task)'s reference probe on u, its JSON and its folder. */
function refCellKey(key: string): string {
  return `ref-${key}`;
}

/** The reference probe on u: a feature outcome without a feature, plus the task's chance level. */
interface RefOutcome extends Omit<FeatureOutcome, "feature"> {
  /** Macro-F1 of label-permuted probes under the same protocol (the chance level), one per permutation. */
  chance: number[];
  /** Training rows of the protocol's smallest fold. */
  minTrainRows: number;
}

/**
 * Reads a cached cell or reference JSON, checking the fields the results need; a damaged file (e.g. `{}`) is an
 * error naming the file and the field, never a JavaScript internal.
 */
export async function readCachedOutcome<T>(
  path: string,
  fields: Record<string, "number" | "array">,
): Promise<T> {
  const value = await readJson<Record<string, unknown>>(path);
  const bad = (field: string, want: string, got: unknown) => {
    throw new Error(
      `${path}: damaged cached result: '${field}' must be ${want}, got ${
        JSON.stringify(got) ?? "nothing"
      }; ` +
        `delete the file to recompute it`,
    );
  };
  if (!value || typeof value !== "object" || Array.isArray(value)) bad("(top level)", "an object", value);
  for (const [k, kind] of Object.entries(fields)) {
    const v = value[k];
    if (kind === "number" && typeof v !== "number" && v !== null) bad(k, "a number", v);
    if (kind === "array" && !Array.isArray(v)) bad(k, "an array", v);
  }
  if (Array.isArray(value.outcomes)) {
    value.outcomes.forEach((o: Record<string, unknown>, i: number) => {
      if (!o || typeof o !== "object") bad(`outcomes[${i}]`, "an object", o);
      if (typeof o.feature !== "string") bad(`outcomes[${i}].feature`, "a string", o.feature);
      if (typeof o.f1 !== "number") bad(`outcomes[${i}].f1`, "a number", o.f1);
      if (!Array.isArray(o.predictions)) bad(`outcomes[${i}].predictions`, "an array", o.predictions);
    });
  }
  return value as T;
}

const CELL_FIELDS = {
  k: "number",
  dZ: "number",
  nmse: "number",
  saeSeconds: "number",
  outcomes: "array",
} as const;
const REF_FIELDS = { f1: "number", predictions: "array", chance: "array" } as const;

async function cached<T>(path: string, compute: () => Promise<T>): Promise<{ value: T; hit: boolean }> {
  if (await exists(path)) return { value: await readCachedOutcome<T>(path, REF_FIELDS), hit: true };
  const value = await compute();
  await writeJsonAtomic(path, value);
  return { value, hit: false };
}

/**
 * What a cell's cache key hashes: the stages' code version, the exact data and the cell's settings — never
 * machine parallelism (threads, workers, cores; CellSpec has none): it never changes a result
 * (tests/experiment_parallelism_test.ts) and differs between machines (array tasks, the merge), so a rerun on
 * another machine or worker count finds the same cells.
 */
export function cellKeyInput(version: string, dataHash: string, spec: CellSpec): Record<string, unknown> {
  return { version, data: dataHash, spec: { ...spec, dataset: "", codec: "" } };
}

/** The cache key of a cell (see cellKeyInput). */
export function cellCacheKey(version: string, dataHash: string, spec: CellSpec): Promise<string> {
  return hashJson(cellKeyInput(version, dataHash, spec));
}

/** A cell of the plan with what computing it needs. */
export type GridCell = PlannedCell & { spec: CellSpec; td: TaskData };

/** The grid's cells with their cache keys, over the loaded task data. */
export interface GridPlan {
  version: string;
  tasks: TaskData[];
  excluded: RunSummary["excluded"];
  planned: GridCell[];
  extractSeconds: number;
}

/** A cell's coordinates as one string: how plans and messages name it. */
export function cellId(c: Pick<PlannedCell, "dataset" | "codec" | "task" | "q" | "s" | "seed">): string {
  return `${c.dataset}/${c.codec}/${c.task}/q=${c.q}/s=${c.s}/seed=${c.seed}`;
}

/** Whether a cell is stored (with its checkpoint folder when checkpoints are kept). */
async function isCached(cellsDir: string, key: string, keep: boolean): Promise<boolean> {
  // With checkpoints on, a cell cached without its folder (`--no-checkpoints`) is recomputed.
  return await exists(join(cellsDir, `${key}.json`)) &&
    (!keep || await hasArtefacts(artefactDir(cellsDir, key), true));
}

/** Loads (extracting if needed) the task data and keys every cell of the grid. */
export async function planGrid(config: RunConfig, opts: RunOptions = {}): Promise<GridPlan> {
  const quiet = opts.quiet ?? false;
  const keep = opts.checkpoints ?? true;
  const cellsDir = join(config.outDir, "cells");
  await Deno.mkdir(cellsDir, { recursive: true });
  const version = await codeVersion();
  const tExtract = performance.now();
  const { tasks, excluded } = await loadTaskData(
    config,
    quiet,
    opts.dryRun ?? false,
    opts.features === "stored",
    opts,
  );
  const extractSeconds = (performance.now() - tExtract) / 1000;
  if (excluded.length > 0) {
    log(`excluded ${excluded.length} utterance(s) that failed to decode (listed in run_info.json):`, quiet);
    for (const e of excluded.slice(0, 10)) {
      log(`  ${e.dataset}/${e.codec} ${e.utterance_id}: ${e.reason}`, quiet);
    }
  }

  // Plan every cell with its cache key.
  const planned: GridCell[] = [];
  for (const td of tasks) {
    for (const q of config.grid.q) {
      for (const s of config.grid.s) {
        for (const seed of config.seeds) {
          const spec: CellSpec = {
            dataset: td.dataset,
            codec: td.codec,
            task: td.task,
            q,
            s,
            seed,
            epochs: epochsFor(config.epochs, q, s),
            convergence: convergenceOf(config.epochs),
            features: config.features,
            pooling: config.pooling,
            sae: config.sae,
            probe: config.probe,
          };
          const cfg = saeConfigFor(spec, td.data.train.cols);
          if (cfg.k >= cfg.dZ) {
            throw new Error(`grid cell q=${q}, s=${s}: k=${cfg.k} must be < d_z=${cfg.dZ}`);
          }
          const key = await cellCacheKey(version, td.dataHash, spec);
          planned.push({
            ...spec,
            task: td.task,
            k: cfg.k,
            dZ: cfg.dZ,
            key,
            cached: await isCached(cellsDir, key, keep),
            spec,
            td,
          });
        }
      }
    }
  }
  return { version, tasks, excluded, planned, extractSeconds };
}

/**
 * Computes the given cells on this machine (config.workers in parallel) and stores each under
 * `<outDir>/cells/<key>.json` (and its folder) as it finishes; cells already stored are skipped. Returns how
 * many it computed.
 */
export async function computeCells(
  config: RunConfig,
  cells: GridCell[],
  opts: {
    quiet?: boolean;
    label?: string;
    checkpoints?: boolean;
    /** Compute threads per cell's SAE; default cores ÷ workers. Changes speed only, never a result. */
    threadsPerCell?: number;
  } = {},
): Promise<number> {
  const keep = opts.checkpoints ?? true;
  const cellsDir = join(config.outDir, "cells");
  const todo: GridCell[] = [];
  for (const c of cells) if (!(await isCached(cellsDir, c.key!, keep))) todo.push(c);
  const progress = new Progress({
    label: opts.label ?? "grid cells",
    total: cells.length,
    unit: "cells",
    quiet: opts.quiet,
    intervalMs: 3000,
  });
  const nCached = cells.length - todo.length;
  progress.skip(nCached, `${nCached} cached`);
  if (todo.length === 0) return 0;
  const pool = new CellPool(
    Math.min(config.workers, todo.length),
    opts.threadsPerCell ?? Math.max(1, Math.floor(navigator.hardwareConcurrency / config.workers)),
  );
  let computed = 0;
  try {
    await Promise.all(todo.map(async (p) => {
      const { artefacts, ...outcome } = await pool.run(p.spec, p.td.data).catch((e) => {
        throw new Error(`cell ${cellId(p)}: ${e.message}`);
      });
      // The folder first, then the JSON that marks the cell as done.
      if (keep && artefacts) {
        await writeArtefacts(artefactDir(cellsDir, p.key!), { ...artefacts, splits: p.td.splits });
      }
      await writeJsonAtomic(join(cellsDir, `${p.key}.json`), outcome);
      computed++;
      progress.tick(1, `${p.dataset}/${p.codec}/${p.task} q=${p.q} s=${p.s}`);
    }));
  } finally {
    pool.close();
  }
  return computed;
}

/**
 * Writes the results tables, run_info.json and run_config.json from the stored cells (computing only the
 * reference probes on u). Every planned cell must be stored; the error lists those that are not.
 */
export async function writeGrid(
  config: RunConfig,
  plan: GridPlan,
  run: {
    started: Date;
    t0: number;
    computed: number;
    checkpoints?: boolean;
    executor?: Record<string, unknown>;
  },
): Promise<RunSummary> {
  const keep = run.checkpoints ?? true;
  const { version, tasks, excluded, planned } = plan;
  const cellsDir = join(config.outDir, "cells");
  const missing: GridCell[] = [];
  for (const p of planned) if (!(await exists(join(cellsDir, `${p.key}.json`)))) missing.push(p);
  if (missing.length > 0) {
    throw new Error(
      `${missing.length} of ${planned.length} cells are not computed yet (${cellsDir}): ` +
        missing.slice(0, 5).map(cellId).join(", ") + (missing.length > 5 ? ", ..." : ""),
    );
  }
  // Reference F1 on u per (dataset, codec, task): one probe, cached like a cell.
  const refs = new Map<TaskData, RefOutcome & { cellKey: string }>();
  for (const td of tasks) {
    const cellKey = refCellKey(await hashJson({ version, data: td.dataHash, probe: config.probe, ref: "u" }));
    const path = join(cellsDir, `${cellKey}.json`);
    const dir = artefactDir(cellsDir, cellKey);
    if (keep && !(await hasArtefacts(dir, false))) await Deno.remove(path).catch(() => {});
    const { value } = await cached(path, async () => {
      const r = runProtocol(td.data.probe, td.data.probeRows, config.probe);
      const probes = protocolArtefacts("u", r.fits, config.probe.C);
      if (keep) await writeArtefacts(dir, { probes, splits: td.splits });
      return {
        ...probeOutcome(r),
        minTrainRows: r.minTrainRows,
        chance: permutedLabelF1(td.data.probe, td.data.probeRows, config.probe.permutations, 0, config.probe),
      };
    });
    refs.set(td, { ...value, cellKey });
  }
  const outcomes = new Map<string, CellOutcome>();
  for (const p of planned) {
    outcomes.set(p.key!, await readCachedOutcome<CellOutcome>(join(cellsDir, `${p.key}.json`), CELL_FIELDS));
  }

  const nCached = planned.length - run.computed;
  const { files, rows } = await writeResults(config, planned, outcomes, refs);
  const seconds = (performance.now() - run.t0) / 1000;
  const finished = new Date().toISOString();
  const executor = run.executor ?? { kind: "local", workers: config.workers };
  const infoPath = join(config.outDir, "run_info.json");
  const thisRun: RunRecord = {
    started: run.started.toISOString(),
    finished,
    seconds,
    cells: { total: planned.length, computed: run.computed, cached: nCached },
    extract_and_load_seconds: plan.extractSeconds,
    code_version: version,
    executor,
  };
  const runs = [...await previousRuns(infoPath), thisRun];
  const cellSeconds = [...outcomes.values()].map((o) => ({
    sae: o.saeSeconds,
    probe: o.outcomes.reduce((b, f) => b + f.probeSeconds, 0),
  }));
  await writeJsonAtomic(infoPath, {
    name: config.name,
    started: run.started.toISOString(),
    finished,
    seconds,
    environment: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      typescript: Deno.version.typescript,
      os: Deno.build.os,
      arch: Deno.build.arch,
      cpus: navigator.hardwareConcurrency,
    },
    executor,
    cells: { total: planned.length, computed: run.computed, cached: nCached },
    stages: {
      extract_and_load_seconds: plan.extractSeconds,
      sae_seconds_total: [...outcomes.values()].reduce((a, o) => a + o.saeSeconds, 0),
      probe_seconds_total: [...outcomes.values()].reduce(
        (a, o) => a + o.outcomes.reduce((b, f) => b + f.probeSeconds, 0),
        0,
      ),
    },
    // What the results cost: each cell's own seconds, whichever run computed it (a cached rerun keeps them).
    compute: computeTotals(cellSeconds, runs),
    runs,
    epochs_rule: describeEpochs(config.epochs),
    code_version: version,
    excluded,
  });
  await writeJsonAtomic(join(config.outDir, "run_config.json"), config);
  return {
    outDir: config.outDir,
    cells: { total: planned.length, cached: nCached, computed: run.computed },
    rows,
    seconds,
    files: [...files, join(config.outDir, "run_info.json"), join(config.outDir, "run_config.json")],
    excluded,
  };
}

/** Labels of the protocol's scored rows, in the order of its pooled predictions. */
function scoredTruth(rows: ProbeRows): Int32Array {
  const out: number[] = [];
  rows.testFold.forEach((f, i) => (f >= 0 ? out.push(rows.y[i]) : 0));
  return Int32Array.from(out);
}

/**
 * Runs (or with dryRun, plans) the whole grid on this machine and writes the results tables, holding a lock
 * on its outDir (`grid.lock`): a second grid on the same outDir waits, saying so,
 * instead of computing every cell a second time. A dry run takes no lock.
 */
export async function runGrid(config: RunConfig, opts: RunOptions = {}): Promise<RunSummary> {
  if (opts.dryRun) return await runGridLocked(config, opts);
  const unlock = await lockDir(config.outDir, "grid.lock", "another grid", opts.quiet);
  try {
    return await runGridLocked(config, opts);
  } finally {
    await unlock();
  }
}

async function runGridLocked(config: RunConfig, opts: RunOptions): Promise<RunSummary> {
  const started = new Date();
  const t0 = performance.now();
  const plan = await planGrid(config, opts);
  const nCached = plan.planned.filter((p) => p.cached).length;
  if (opts.dryRun) {
    return {
      outDir: config.outDir,
      cells: { total: plan.planned.length, cached: nCached, computed: 0 },
      rows: 0,
      seconds: (performance.now() - t0) / 1000,
      files: [],
      excluded: plan.excluded,
      planned: plan.planned.map(({ spec: _s, td: _t, ...p }) => p),
    };
  }
  const checkpoints = opts.checkpoints ?? true;
  const computed = await computeCells(config, plan.planned, {
    quiet: opts.quiet,
    checkpoints,
    threadsPerCell: opts.threadsPerCell,
  });
  return await writeGrid(config, plan, { started, t0, computed, checkpoints, executor: opts.executor });
}

/** Writes one declared table as `<base>.parquet` and `<base>.csv` (atomically, each). */
async function writeTable<T extends readonly Column[]>(
  base: string,
  table: T,
  rows: readonly RowOf<T>[],
): Promise<string[]> {
  const df = tableFrame(table, rows, base);
  await writeFileAtomic(`${base}.parquet`, parquetBytes(df));
  await writeFileAtomic(`${base}.csv`, df.writeCSV().toString());
  return [`${base}.parquet`, `${base}.csv`];
}

/** What every row of one (dataset, codec, task) shares, and the scored labels behind its intervals. */
interface TaskColumns {
  setting: SettingRow;
  /** Which protocol produced every number: pooling of u and the probe protocol (folds: 1 for the split). */
  protocol: Pick<ResultRow, "pooling" | "probe_protocol" | "probe_folds">;
  sizes: Pick<ResultRow, "n_sae_train" | "n_probe_train" | "n_test">;
  /** Validity of the task: the reference F1's interval against the label-permuted chance level. */
  validity: Pick<
    ResultRow,
    "f1_ref_low" | "f1_ref_high" | "chance_f1" | "chance_f1_low" | "chance_f1_high" | "ref_above_chance"
  >;
  truth: Int32Array;
}

function f1Interval(config: RunConfig, truth: Int32Array, predictions: number[], seed: number) {
  return config.bootstrap > 0 ? bootstrapF1(truth, predictions, config.bootstrap, seed) : null;
}

function taskColumns(config: RunConfig, td: TaskData, ref: RefOutcome): TaskColumns {
  const truth = scoredTruth(td.data.probeRows);
  const ci = f1Interval(config, truth, ref.predictions, 0);
  const chance = ref.chance.length > 0 ? percentileInterval(ref.chance) : null;
  return {
    setting: {
      dataset: td.dataset,
      codec: td.codec,
      task: td.task,
      codec_family: td.family,
      bitrate_kbps: td.bitrateKbps,
    },
    protocol: {
      pooling: config.pooling,
      probe_protocol: config.probe.protocol,
      probe_folds: td.data.probeRows.folds,
    },
    sizes: {
      n_sae_train: td.data.train.rows,
      n_probe_train: ref.minTrainRows,
      n_test: ref.predictions.length,
    },
    validity: {
      f1_ref_low: ci?.low ?? null,
      f1_ref_high: ci?.high ?? null,
      chance_f1: chance?.mean ?? null,
      chance_f1_low: chance?.low ?? null,
      chance_f1_high: chance?.high ?? null,
      ref_above_chance: ci && chance ? ci.low > chance.high : null,
    },
    truth,
  };
}

/** Reference rows: feature "u", one per seed so each seed's ΔF1 has its own baseline row. */
function referenceRows(
  config: RunConfig,
  td: TaskData,
  ref: RefOutcome & { cellKey: string },
  tc: TaskColumns,
): ResultRow[] {
  const ci = f1Interval(config, tc.truth, ref.predictions, 0);
  return config.seeds.map((seed) => ({
    ...tc.setting,
    ...tc.protocol,
    q: null,
    s: null,
    seed,
    feature: "u",
    f1: ref.f1,
    f1_low: ci?.low ?? null,
    f1_high: ci?.high ?? null,
    f1_ref: ref.f1,
    delta_f1: 0,
    delta_f1_low: null,
    delta_f1_high: null,
    accuracy: ref.accuracy,
    nnz: ref.nnz,
    n_iter: ref.nIter,
    converged: ref.converged,
    k: null,
    d_z: null,
    d_codec: td.data.train.cols,
    schedule: null,
    sae_lr: null,
    epochs: null,
    sae_steps: null,
    sae_best_step: null,
    sae_stop: null,
    nmse: null,
    explained_variance: null,
    ev_pca_k: null,
    sae_trained: null,
    ev_heldout: null,
    ev_pca_k_heldout: null,
    heldout_below_pca_k: null,
    l0: null,
    dead_latents: null,
    sae_seconds: null,
    probe_seconds: ref.probeSeconds,
    ...tc.sizes,
    ...tc.validity,
    config_hash: null,
    cell_key: ref.cellKey,
  }));
}

/** One cell's rows in the three tables: a results row per feature kind, its density groups, its curve. */
function cellRows(
  config: RunConfig,
  p: PlannedCell & { td: TaskData },
  o: CellOutcome,
  ref: RefOutcome,
  tc: TaskColumns,
): { results: ResultRow[]; density: DensityRow[]; curves: CurveRow[] } {
  const cell = { ...tc.setting, q: p.q, s: p.s, seed: p.seed };
  const results = o.outcomes.map((f): ResultRow => {
    const ci = config.seeds.length === 1 && config.bootstrap > 0 && f.predictions.length > 0
      ? bootstrapDeltaF1(tc.truth, f.predictions, ref.predictions, config.bootstrap, p.seed)
      : null;
    const f1ci = f1Interval(config, tc.truth, f.predictions, p.seed);
    return {
      ...cell,
      ...tc.protocol,
      feature: f.feature,
      f1: f.f1,
      f1_low: f1ci?.low ?? null,
      f1_high: f1ci?.high ?? null,
      f1_ref: ref.f1,
      delta_f1: f.f1 - ref.f1,
      delta_f1_low: ci?.low ?? null,
      delta_f1_high: ci?.high ?? null,
      accuracy: f.accuracy,
      nnz: f.nnz,
      n_iter: f.nIter,
      converged: f.converged,
      k: o.k,
      d_z: o.dZ,
      d_codec: o.dCodec,
      schedule: scheduleName(config.epochs),
      sae_lr: config.sae.lr,
      epochs: convergenceOf(config.epochs) ? null : p.epochs,
      sae_steps: o.steps,
      sae_best_step: o.bestStep,
      sae_stop: o.stop,
      nmse: o.nmse,
      explained_variance: o.explainedVariance,
      ev_pca_k: o.evPcaK,
      sae_trained: o.saeTrained,
      ev_heldout: o.evHeldout,
      ev_pca_k_heldout: o.evPcaKHeldout,
      heldout_below_pca_k: o.heldoutBelowPcaK,
      l0: o.l0,
      dead_latents: o.deadLatents,
      sae_seconds: o.saeSeconds,
      probe_seconds: f.probeSeconds,
      ...tc.sizes,
      ...tc.validity,
      config_hash: p.key,
      cell_key: p.key!,
    };
  });
  const density = Array.from({ length: DENSITY_GROUPS }, (_, g) => ({
    ...cell,
    group: g,
    density: o.densityGroups[g],
  }));
  const curves = o.curves.map((c) => ({
    ...cell,
    epoch: c.epoch,
    step: c.step,
    train_loss: c.trainLoss,
    val_loss: c.valLoss,
    nmse: c.nmse,
    l0: c.l0,
    dead: c.dead,
  }));
  return { results, density, curves };
}

async function writeResults(
  config: RunConfig,
  planned: (PlannedCell & { td: TaskData })[],
  outcomes: Map<string, CellOutcome>,
  refs: Map<TaskData, RefOutcome & { cellKey: string }>,
): Promise<{ files: string[]; rows: number }> {
  const results: ResultRow[] = [];
  const density: DensityRow[] = [];
  const curves: CurveRow[] = [];
  const columns = new Map([...refs].map(([td, ref]) => [td, taskColumns(config, td, ref)]));
  for (const [td, ref] of refs) results.push(...referenceRows(config, td, ref, columns.get(td)!));
  for (const p of planned) {
    const rows = cellRows(config, p, outcomes.get(p.key!)!, refs.get(p.td)!, columns.get(p.td)!);
    results.push(...rows.results);
    density.push(...rows.density);
    curves.push(...rows.curves);
  }
  const out = (name: string) => join(config.outDir, name);
  const files = [
    ...await writeTable(out("results"), RESULT_TABLE, results),
    ...await writeTable(out("density"), DENSITY_TABLE, density),
    ...await writeTable(out("curves"), CURVE_TABLE, curves),
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
    const k = [r.dataset, r.codec, r.task, r.pooling, r.probe_protocol, r.q, r.s, r.feature].join("|");
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
