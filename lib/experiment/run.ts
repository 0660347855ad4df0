/**
 * The experiment grid on this machine (paper Sec. 2.4, 4): for each dataset × codec × task, the reference F1
 * on u, then for each (q, s, seed) an SAE and one probe per feature kind, giving ΔF1 = F1 − F1_ref.
 *
 * The phases, one module each: plan.ts (run config → resolved cells, shared with the Slurm executor),
 * datasets.ts and features.ts (manifests and feature stores), grid_plan.ts (cells keyed over their data),
 * execute.ts (computing what is not cached), rows.ts and write.ts (results tables, run_info.json). Caching and
 * resume: cache.ts. A killed run resumes, recomputing nothing finished.
 */
import { lockDir } from "../common/lock.ts";
import type { Locations } from "../common/settings.ts";
import { codeVersions } from "./cache.ts";
import { cellCacheKey, isCached } from "./cache.ts";
import type { RunConfig } from "./config.ts";
import { prepareDatasetsOf } from "./datasets.ts";
import { computeCells } from "./execute.ts";
import { loadRunFeatures } from "./features.ts";
import { planFromManifests, planGrid, taskDataOfSet } from "./grid_plan.ts";
import { scheduleName } from "./plan.ts";
import { cellDataHash, type TaskData } from "./task_data.ts";
import { type PlannedCell, type RunSummary, writeGrid } from "./write.ts";
import { join } from "node:path";

export type { PlannedCell, RunSummary } from "./write.ts";

/** `Locations`: where data sets, weights and the cache are (from the environment, at the edge). */
export interface RunOptions extends Locations {
  /** List the planned cells and whether each is cached; extract and compute nothing. */
  dryRun?: boolean;
  quiet?: boolean;
  /** What the progress line calls the cells (default "<run name> cells"). */
  label?: string;
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

/**
 * Runs (or with dryRun, lists) the whole grid on this machine and writes the results tables, holding a lock
 * on its outDir (`grid.lock`): a second grid on the same outDir waits, saying so, instead of computing every
 * cell a second time. A dry run takes no lock.
 */
export async function runGrid(config: RunConfig, opts: RunOptions = {}): Promise<RunSummary> {
  if (opts.dryRun) return await dryRun(config, opts);
  const unlock = await lockDir(config.outDir, "grid.lock", "another grid", opts.quiet);
  try {
    const started = new Date(), t0 = performance.now();
    const checkpoints = opts.checkpoints ?? true;
    const plan = await planGrid(config, opts);
    const computed = await computeCells(join(config.outDir, "cells"), plan.cells, {
      workers: config.workers,
      quiet: opts.quiet,
      label: opts.label ?? `${config.name} cells`,
      checkpoints,
      threadsPerCell: opts.threadsPerCell,
    });
    return await writeGrid(config, plan, { started, t0, computed, checkpoints, executor: opts.executor });
  } finally {
    await unlock();
  }
}

/**
 * The planned cells before any extraction: every cell the planner resolves, keyed and marked cached where its
 * (dataset, codec) store exists already, else listed as pending with no key.
 */
async function dryRun(config: RunConfig, opts: RunOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const { quiet, ...loc } = opts;
  const datasets = await prepareDatasetsOf(config, { ...loc, quiet });
  const cells = await planFromManifests(config, datasets, loc);
  const { sets, excluded } = await loadRunFeatures(config, datasets, {
    ...loc,
    existingOnly: true,
    workers: config.workers,
    quiet,
  });
  const versions = await codeVersions();
  const cellsDir = join(config.outDir, "cells");
  const planned: PlannedCell[] = [];
  const tasks = new Map<string, TaskData>();
  for (const cell of cells) {
    const set = sets.find((s) => s.prepared.dataset.name === cell.dataset && s.codec.id === cell.codec);
    let key: string | null = null;
    if (set) {
      const id = `${cell.dataset}/${cell.codec}/${cell.task}`;
      if (!tasks.has(id)) {
        tasks.set(id, await taskDataOfSet(config, set, cell.task));
      }
      const dataHash = cellDataHash(tasks.get(id)!, cell);
      key = dataHash === null ? null : await cellCacheKey(versions.cell, dataHash, cell);
    }
    planned.push({
      dataset: cell.dataset,
      codec: cell.codec,
      task: cell.task,
      q: cell.q,
      s: cell.s,
      seed: cell.seed,
      epochs: cell.schedule.kind === "epochs" ? cell.schedule.epochs : 0,
      schedule: scheduleName(cell.schedule),
      k: cell.k,
      dZ: cell.dZ,
      key,
      cached: key !== null && await isCached(cellsDir, key, { checkpoints: opts.checkpoints ?? true }),
    });
  }
  const nCached = planned.filter((p) => p.cached).length;
  return {
    outDir: config.outDir,
    cells: { total: planned.length, cached: nCached, computed: 0 },
    rows: 0,
    seconds: (performance.now() - t0) / 1000,
    files: [],
    excluded,
    planned,
  };
}
