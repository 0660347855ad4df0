/**
 * The end of a run, whichever executor computed its cells: every planned cell must be stored; the reference
 * probes are computed (or read), and the results tables, run_info.json and run_config.json written.
 */
import { join } from "node:path";
import { exists, writeJsonAtomic } from "../common/fs.ts";
import { CELL_FIELDS, readCachedOutcome } from "./cache.ts";
import type { CellOutcome } from "./cell.ts";
import { describeEpochs, type RunConfig } from "./config.ts";
import { computeReferences } from "./execute.ts";
import type { Excluded } from "./features.ts";
import type { GridPlan, KeyedCell } from "./grid_plan.ts";
import { type CellCoordinates, cellId } from "./plan.ts";
import { writeResultTables } from "./rows.ts";
import { computeTotals, previousRuns, type RunRecord } from "./run_history.ts";

/** A planned cell as a dry run lists it. */
export interface PlannedCell extends CellCoordinates {
  /** Epochs of an epoch schedule (0 for the convergent one). */
  epochs: number;
  schedule: string;
  k: number;
  dZ: number;
  /** Null while the cell's features are not extracted (the key hashes them). */
  key: string | null;
  cached: boolean;
}

export interface RunSummary {
  outDir: string;
  cells: { total: number; cached: number; computed: number };
  rows: number;
  seconds: number;
  files: string[];
  excluded: Excluded[];
  planned?: PlannedCell[];
}

export interface WriteOptions {
  started: Date;
  t0: number;
  /** Cells this run computed (the rest came from the cache). */
  computed: number;
  checkpoints?: boolean;
  /** Recorded in run_info.json as `executor`. */
  executor?: Record<string, unknown>;
}

/**
 * Writes the results tables, run_info.json and run_config.json from the stored cells (computing only the
 * reference probes on u). Every planned cell must be stored; the error lists those that are not.
 */
export async function writeGrid(config: RunConfig, plan: GridPlan, run: WriteOptions): Promise<RunSummary> {
  const cellsDir = join(config.outDir, "cells");
  const missing: KeyedCell[] = [];
  for (const c of plan.cells) if (!(await exists(join(cellsDir, `${c.key}.json`)))) missing.push(c);
  if (missing.length > 0) {
    throw new Error(
      `${missing.length} of ${plan.cells.length} cells are not computed yet (${cellsDir}): ` +
        missing.slice(0, 5).map((c) => cellId(c.cell)).join(", ") + (missing.length > 5 ? ", ..." : ""),
    );
  }
  const refs = await computeReferences(cellsDir, plan.tasks, { checkpoints: run.checkpoints ?? true });
  const outcomes = new Map<string, CellOutcome>();
  for (const c of plan.cells) {
    outcomes.set(c.key, await readCachedOutcome<CellOutcome>(join(cellsDir, `${c.key}.json`), CELL_FIELDS));
  }
  const { files, rows } = await writeResultTables(config, plan.cells, outcomes, refs);
  const summary = await writeRunInfo(config, plan, run, [...outcomes.values()]);
  return { ...summary, rows, files: [...files, ...summary.files] };
}

/** run_info.json (environment, executor, cells, stage times, the history of runs) and run_config.json. */
async function writeRunInfo(
  config: RunConfig,
  plan: GridPlan,
  run: WriteOptions,
  outcomes: CellOutcome[],
): Promise<Omit<RunSummary, "rows">> {
  const total = plan.cells.length, cached = total - run.computed;
  const seconds = (performance.now() - run.t0) / 1000;
  const finished = new Date().toISOString();
  const executor = run.executor ?? { kind: "local", workers: config.workers };
  const infoPath = join(config.outDir, "run_info.json");
  const codeVersion = `${plan.versions.cell}.${plan.versions.reference}`;
  const thisRun: RunRecord = {
    started: run.started.toISOString(),
    finished,
    seconds,
    cells: { total, computed: run.computed, cached },
    extract_and_load_seconds: plan.extractSeconds,
    code_version: codeVersion,
    executor,
  };
  const runs = [...await previousRuns(infoPath), thisRun];
  const probeSeconds = (o: CellOutcome) => o.outcomes.reduce((b, f) => b + f.probeSeconds, 0);
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
    cells: { total, computed: run.computed, cached },
    stages: {
      extract_and_load_seconds: plan.extractSeconds,
      sae_seconds_total: outcomes.reduce((a, o) => a + o.saeSeconds, 0),
      probe_seconds_total: outcomes.reduce((a, o) => a + probeSeconds(o), 0),
    },
    // What the results cost: each cell's own seconds, whichever run computed it (a cached rerun keeps them).
    compute: computeTotals(outcomes.map((o) => ({ sae: o.saeSeconds, probe: probeSeconds(o) })), runs),
    runs,
    epochs_rule: describeEpochs(config.epochs),
    code_version: codeVersion,
    code_versions: plan.versions,
    excluded: plan.excluded,
  });
  await writeJsonAtomic(join(config.outDir, "run_config.json"), config);
  return {
    outDir: config.outDir,
    cells: { total, cached, computed: run.computed },
    seconds,
    files: [infoPath, join(config.outDir, "run_config.json")],
    excluded: plan.excluded,
  };
}
