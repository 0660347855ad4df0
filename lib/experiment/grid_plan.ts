/**
 * The keyed plan of a run on this machine: datasets prepared, feature stores extracted (or read), the planner's
 * resolved cells (plan.ts) over the facts those give, each with its task data and cache key. Both executors
 * build it the same way; they differ only in where the cells are computed.
 */
import { join } from "node:path";
import { log } from "../common/progress.ts";
import type { Locations } from "../common/settings.ts";
import type pl from "nodejs-polars";
import { manifestRows, taskSplits, validationHalves } from "../data/mod.ts";
import { getCodec } from "../codecs/registry.ts";
import {
  cellCacheKey,
  type CodeVersions,
  codeVersions,
  isCached,
  referenceKey,
  saeCacheKey,
} from "./cache.ts";
import { type RunConfig, type TaskId, taskSpecs } from "./config.ts";
import { prepareDatasetsOf, type PreparedDataset } from "./datasets.ts";
import { type DatasetFeatures, type Excluded, loadRunFeatures } from "./features.ts";
import { cellId, planCells, type ResolvedCell } from "./plan.ts";
import { cellDataHash, saeFramesHash, type TaskData, taskDataOf } from "./task_data.ts";

/** One (dataset, codec, task)'s data with its reference probe's cache key. */
export interface KeyedTask {
  data: TaskData;
  refKey: string;
  /** With frames: the hash of the dataset's train and val1 frames files (task_data.ts saeFramesHash). */
  saeFrames?: string;
}

/** A planned cell with its task data and cache key. */
export interface KeyedCell {
  cell: ResolvedCell;
  task: KeyedTask;
  key: string;
  /** Frame-level cells: the key of the SAE shared with the other tasks' cells (cache.ts saeCacheKey). */
  saeKey?: string;
  cached: boolean;
}

export interface GridPlan {
  versions: CodeVersions;
  datasets: PreparedDataset[];
  tasks: KeyedTask[];
  cells: KeyedCell[];
  excluded: Excluded[];
  extractSeconds: number;
}

export interface GridPlanOptions extends Locations {
  /** "extract" what the stores lack (default) or read complete stores only ("stored"). */
  features?: "extract" | "stored";
  /** Keep each cell's SAE, probes and split lists: a cell cached without them counts as not cached. */
  checkpoints?: boolean;
  providers?: string[];
  quiet?: boolean;
}

/** One (dataset, codec, task)'s task data under the run's pooling and probe protocol. */
export function taskDataOfSet(config: RunConfig, set: DatasetFeatures, task: TaskId): Promise<TaskData> {
  return taskDataOf({
    dataset: set.prepared.dataset.name,
    codec: set.codec,
    task,
    features: set.features,
    splits: taskSplits(set.prepared.manifest, taskSpecs(config).get(task)!),
    pooling: config.pooling,
    probe: config.probe,
    testSet: set.prepared.testSet,
    kind: set.prepared.kind,
    saeSplits: splitIds(set.prepared.manifest),
  });
}

/**
 * A frame-level SAE's recordings: every train-split recording, and validation half 1 of all validation
 * recordings (the halves dealt as for a task, every recording as one class: labels are no SAE's business).
 */
function splitIds(manifest: pl.DataFrame): { train: string[]; val1: string[] } {
  const rows = manifestRows(manifest);
  const of = (split: string) => rows.filter((r) => r.split === split);
  const { val1 } = validationHalves(
    of("validation").map((r) => ({
      utterance_id: r.utterance_id,
      path: r.path,
      speaker_id: r.speaker_id,
      label: 0,
    })),
  );
  return { train: of("train").map((r) => r.utterance_id), val1: val1.map((r) => r.utterance_id) };
}

/** The run's resolved cells over its prepared datasets, with the codecs' registry dimensions (no extraction). */
export async function planFromManifests(
  config: RunConfig,
  datasets: PreparedDataset[],
  loc: Locations,
): Promise<ResolvedCell[]> {
  const dCodec: Record<string, number> = {};
  for (const c of config.codecs) {
    dCodec[c] = (await getCodec(c, { ...loc, modelsDir: config.modelsDir })).dCodec;
  }
  return planCells(config, {
    supportedTasks: Object.fromEntries(datasets.map((d) => [d.dataset.name, d.supported])),
    taskProblems: Object.fromEntries(datasets.map((d) => [d.dataset.name, d.problems])),
    dCodec,
  });
}

/** Prepares the datasets, extracts (or reads) the features, and keys every planned cell. */
export async function planGrid(config: RunConfig, opts: GridPlanOptions = {}): Promise<GridPlan> {
  const { features: mode, checkpoints, providers, quiet, ...loc } = opts;
  const cellsDir = join(config.outDir, "cells");
  await Deno.mkdir(cellsDir, { recursive: true });
  const versions = await codeVersions();
  const datasets = await prepareDatasetsOf(config, { ...loc, quiet });
  const t0 = performance.now();
  const { sets, excluded } = await loadRunFeatures(config, datasets, {
    ...loc,
    mode,
    workers: config.workers,
    providers,
    quiet,
  });
  const extractSeconds = (performance.now() - t0) / 1000;
  if (excluded.length > 0) {
    log(`excluded ${excluded.length} utterance(s) that failed to decode (listed in run_info.json):`, quiet);
    for (const e of excluded.slice(0, 10)) {
      log(`  ${e.dataset}/${e.codec} ${e.utterance_id}: ${e.reason}`, quiet);
    }
  }
  // The planner's facts: the tasks each manifest supports, and each codec's d as its store holds it (a
  // scaled-down fixture codec differs from its registry entry).
  const cells = planCells(config, {
    supportedTasks: Object.fromEntries(datasets.map((d) => [d.dataset.name, d.supported])),
    taskProblems: Object.fromEntries(datasets.map((d) => [d.dataset.name, d.problems])),
    dCodec: Object.fromEntries(sets.map((s) => [s.codec.id, s.features.u.cols])),
  });
  const tasks = new Map<string, KeyedTask>();
  const taskKey = (dataset: string, codec: string, task: TaskId) => `${dataset}\u0000${codec}\u0000${task}`;
  for (const set of sets) {
    const ds = set.prepared.dataset;
    for (const task of new Set(cells.filter((c) => c.dataset === ds.name).map((c) => c.task))) {
      const data = await taskDataOfSet(config, set, task);
      const refKey = await referenceKey(versions.reference, data.dataHash, data.probe);
      // What a frame-level SAE of this task's cells is fit on: hashed once, not per cell.
      const frames = data.data.frames ? await saeFramesHash(data.data.frames) : undefined;
      tasks.set(taskKey(ds.name, set.codec.id, task), {
        data,
        refKey,
        ...(frames ? { saeFrames: frames } : {}),
      });
    }
  }
  const keyed: KeyedCell[] = [];
  for (const cell of cells) {
    const task = tasks.get(taskKey(cell.dataset, cell.codec, cell.task))!;
    const dataHash = cellDataHash(task.data, cell);
    if (dataHash === null) {
      throw new Error(
        `${
          cellId(cell)
        }: saeInput "frames" but the feature store of ${cell.dataset}/${cell.codec} keeps no ` +
          `frames; extract it with this run config (features "extract"), which keeps them`,
      );
    }
    const key = await cellCacheKey(versions.cell, dataHash, cell);
    keyed.push({
      cell,
      task,
      key,
      ...(cell.saeInput === "frames" && task.saeFrames
        ? { saeKey: await saeCacheKey(versions.cell, task.saeFrames, cell) }
        : {}),
      cached: await isCached(cellsDir, key, { checkpoints: checkpoints ?? true }),
    });
  }
  return { versions, datasets, tasks: [...tasks.values()], cells: keyed, excluded, extractSeconds };
}
