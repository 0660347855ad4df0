/**
 * Reading a results directory written by the experiment stage (results / density / curves tables,
 * run_config.json, run_info.json). Parquet is preferred; CSV is the fallback.
 */
import pl from "nodejs-polars";
import { join } from "node:path";
import { exists, readJson } from "../common/fs.ts";
import { requiredColumns, RESULT_TABLE } from "../formats/results.ts";
import type { ComputeTotals, RunRecord } from "../experiment/run_history.ts";

export interface RunInfo {
  name?: string;
  started?: string;
  finished?: string;
  seconds?: number;
  environment?: Record<string, unknown>;
  cells?: { total?: number; computed?: number; cached?: number };
  stages?: Record<string, number>;
  /** Compute time of the results and the history of runs (lib/experiment/run_history.ts). */
  compute?: ComputeTotals;
  runs?: RunRecord[];
  [key: string]: unknown;
}

export interface ResultsBundle {
  dir: string;
  results: pl.DataFrame;
  /** Absent when the run wrote no density table (e.g. only reference probes). */
  density: pl.DataFrame | null;
  curves: pl.DataFrame | null;
  runConfig: Record<string, unknown> | null;
  runInfo: RunInfo | null;
}

async function readTable(dir: string, name: string): Promise<pl.DataFrame | null> {
  const parquet = join(dir, `${name}.parquet`), csv = join(dir, `${name}.csv`);
  try {
    if (await exists(parquet)) return pl.readParquet(parquet);
    if (await exists(csv)) return pl.readCSV(csv);
  } catch (e) {
    throw new Error(`${dir}: cannot read ${name} table (${(e as Error).message})`);
  }
  return null;
}

export async function loadResults(dir: string): Promise<ResultsBundle> {
  if (!(await exists(dir))) {
    throw new Error(
      `results directory ${dir} does not exist: run \`deno task demo\` or \`deno task cli grid --config FILE\` first`,
    );
  }
  const results = await readTable(dir, "results");
  if (!results) throw new Error(`${dir}: no results.parquet or results.csv (not a results directory?)`);
  const missing = requiredColumns(RESULT_TABLE).filter((c) => !results.columns.includes(c));
  if (missing.length > 0) {
    throw new Error(
      `${dir}/results: missing column(s) ${
        missing.join(", ")
      } (written by an older version? rerun the grid: ` +
        "cached cells are reused and the tables rewritten)",
    );
  }
  if (results.height === 0) throw new Error(`${dir}/results: the table has no rows`);
  const optionalJson = async (name: string) => {
    const p = join(dir, name);
    return (await exists(p)) ? await readJson<Record<string, unknown>>(p) : null;
  };
  return {
    dir,
    results,
    density: await readTable(dir, "density"),
    curves: await readTable(dir, "curves"),
    runConfig: await optionalJson("run_config.json"),
    runInfo: await optionalJson("run_info.json") as RunInfo | null,
  };
}

/** The density or curves table of loaded results, or an error naming the directory when the run wrote none. */
export function requireTable(bundle: ResultsBundle, name: "density" | "curves"): pl.DataFrame {
  const df = bundle[name];
  if (!df) throw new Error(`${bundle.dir}: no ${name}.parquet or ${name}.csv in this results directory`);
  return df;
}
