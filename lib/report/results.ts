/**
 * Reading a results directory written by the experiment stage (results / density / curves / predictions
 * tables, run_config.json, run_info.json). Parquet is preferred; CSV is the fallback.
 */
import pl from "nodejs-polars";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { exists, readJson } from "../common/fs.ts";
import {
  type Column,
  CURVE_TABLE,
  DENSITY_TABLE,
  requiredColumns,
  RESULT_TABLE,
} from "../formats/results.ts";
import { readTableCsv } from "../formats/table_files.ts";
import { type PredictionRow, readPredictions } from "../formats/predictions.ts";
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
  /** Every probe's test predictions; null for results written before they were saved (no speaker intervals). */
  predictions: PredictionRow[] | null;
  runConfig: Record<string, unknown> | null;
  runInfo: RunInfo | null;
}

const TABLES: Record<"results" | "density" | "curves", readonly Column[]> = {
  results: RESULT_TABLE,
  density: DENSITY_TABLE,
  curves: CURVE_TABLE,
};

async function readTable(dir: string, name: keyof typeof TABLES): Promise<pl.DataFrame | null> {
  const parquet = join(dir, `${name}.parquet`), csv = join(dir, `${name}.csv`);
  try {
    if (await exists(parquet)) return pl.readParquet(parquet);
    if (await exists(csv)) return readTableCsv(csv, TABLES[name]);
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
  const source = (await exists(join(dir, "results.parquet"))) ? "results.parquet" : "results.csv";
  checkResultValues(results, join(dir, source));
  if (source === "results.parquet" && (await exists(join(dir, "results.csv")))) {
    checkCsvAgrees(dir, results);
  }
  const optionalJson = async (name: string) => {
    const p = join(dir, name);
    return (await exists(p)) ? await readJson<Record<string, unknown>>(p) : null;
  };
  const runConfig = await optionalJson("run_config.json");
  return {
    dir,
    results: withDatasetKind(results, runConfig, dir),
    density: await readTable(dir, "density"),
    curves: await readTable(dir, "curves"),
    predictions: await readPredictions(dir),
    runConfig,
    runInfo: await optionalJson("run_info.json") as RunInfo | null,
  };
}

/** The density or curves table of loaded results, or an error naming the directory when the run wrote none. */
export function requireTable(bundle: ResultsBundle, name: "density" | "curves"): pl.DataFrame {
  const df = bundle[name];
  if (!df) throw new Error(`${bundle.dir}: no ${name}.parquet or ${name}.csv in this results directory`);
  return df;
}

/**
 * The columns that identify a result row (every text column, and q, s, seed, folds): two rows with the same
 * values are one result counted twice.
 */
const RESULT_KEY = RESULT_TABLE.filter((c) =>
  c.type === "str" || ["q", "s", "seed", "probe_folds"].includes(c.name)
).map((c) => c.name);

/** Score columns and their range: F1s and accuracy are fractions; ΔF1s differences of two. */
const SCORE_RANGES: [string, number, number][] = RESULT_TABLE.flatMap((c): [string, number, number][] =>
  c.name.startsWith("delta_f1")
    ? [[c.name, -1, 1]]
    : c.name === "accuracy" || /(^|_)f1($|_)/.test(c.name)
    ? [[c.name, 0, 1]]
    : []
);

/**
 * A results table as the report will read it (it may have been edited by hand): numeric columns hold numbers,
 * scores lie in their ranges, and no result row appears twice. Errors name the file, row and column.
 */
export function checkResultValues(df: pl.DataFrame, file: string): void {
  const fix = "fix the file, or rerun the grid (cached cells are reused and the tables rewritten)";
  for (const col of RESULT_TABLE) {
    if (!df.columns.includes(col.name) || (col.type !== "float" && col.type !== "int")) continue;
    const series = df.getColumn(col.name);
    if (series.isNumeric() || series.nullCount() === series.length) continue; // all empty: read as text
    const values = series.toArray() as unknown[];
    const bad = values.findIndex((v) => v !== null && v !== "" && !Number.isFinite(Number(v)));
    const at = bad >= 0 ? `row ${bad + 1} holds ${JSON.stringify(values[bad])}` : `it is ${series.dtype}`;
    throw new Error(`${file}: column ${col.name} must be numeric, but ${at}; ${fix}`);
  }
  for (const [name, lo, hi] of SCORE_RANGES) {
    if (!df.columns.includes(name)) continue;
    const values = df.getColumn(name).toArray() as (number | null)[];
    const bad = values.findIndex((v) => v !== null && !(v >= lo && v <= hi));
    if (bad >= 0) {
      throw new Error(
        `${file}: row ${bad + 1}: ${name} = ${
          values[bad]
        } is outside [${lo}, ${hi}] (scores are fractions, ` +
          `not percentages); ${fix}`,
      );
    }
  }
  const key = RESULT_KEY.filter((c) => df.columns.includes(c));
  const seen = new Map<string, number>();
  const rows = df.select(...key).rows();
  for (let i = 0; i < rows.length; i++) {
    const k = JSON.stringify(rows[i]);
    const first = seen.get(k);
    if (first !== undefined) {
      throw new Error(
        `${file}: rows ${first + 1} and ${i + 1} are the same result (${
          key.map((c, j) => `${c}=${rows[i][j]}`).join(", ")
        }); it would be counted twice; remove one`,
      );
    }
    seen.set(k, i);
  }
}

/**
 * The grid writes results.parquet and results.csv with the same rows; the report reads the Parquet file. A CSV
 * that disagrees (edited by hand, or left from another run) is an error rather than silently ignored.
 */
function checkCsvAgrees(dir: string, parquet: pl.DataFrame): void {
  const csvPath = join(dir, "results.csv");
  let csv: pl.DataFrame;
  try {
    csv = readTableCsv(csvPath, RESULT_TABLE);
  } catch (e) {
    throw new Error(`${csvPath}: cannot be read (${(e as Error).message}); delete it or rerun the grid`);
  }
  const cols = [...RESULT_KEY, ...SCORE_RANGES.map(([c]) => c)].filter((c) =>
    parquet.columns.includes(c) && csv.columns.includes(c)
  );
  const differ = (where: string) =>
    new Error(
      `${csvPath} disagrees with ${join(dir, "results.parquet")} (${where}); the report reads the Parquet ` +
        `file: if the CSV was edited on purpose, delete results.parquet to report the CSV; otherwise rerun ` +
        `the grid to rewrite both`,
    );
  if (csv.height !== parquet.height) throw differ(`${csv.height} rows against ${parquet.height}`);
  for (const c of cols) {
    const a = parquet.getColumn(c).toArray() as unknown[], b = csv.getColumn(c).toArray() as unknown[];
    for (let i = 0; i < a.length; i++) {
      const same = typeof a[i] === "number" && typeof b[i] === "number"
        ? Math.abs((a[i] as number) - (b[i] as number)) <= 1e-9 * Math.max(1, Math.abs(a[i] as number))
        : String(a[i] ?? "") === String(b[i] ?? "");
      if (!same) {
        throw differ(`row ${i + 1}, column ${c}: ${JSON.stringify(b[i])} against ${JSON.stringify(a[i])}`);
      }
    }
  }
}

/**
 * The results with a `dataset_kind` column — the manifest's `dataset` column, where the data's caveats come from
 * (a dataset entry named "saa-holdout" is still SAA data). Results that carry the column keep it; otherwise it
 * is read from the manifests the run config names (a built-in dataset's kind is its name; a manifest that
 * cannot be read leaves the config's name, as the results' `dataset` column has it).
 */
export function withDatasetKind(
  results: pl.DataFrame,
  runConfig: Record<string, unknown> | null,
  dir: string,
): pl.DataFrame {
  if (results.columns.includes("dataset_kind")) return results;
  const entries = Array.isArray(runConfig?.datasets) ? runConfig!.datasets as Record<string, unknown>[] : [];
  const kinds = new Map<string, string>();
  for (const e of entries) {
    if (typeof e.name !== "string") continue;
    const files = [e.manifest, e.testManifest].filter((f): f is string => typeof f === "string");
    const found = new Set<string>();
    for (const f of files) {
      const path = [f, join(dir, f), join(dir, "..", f)].find((p) => existsSync(p));
      if (!path) continue;
      try {
        const df = path.endsWith(".parquet")
          ? pl.readParquet(path, { columns: ["dataset"] })
          : pl.readCSV(path, { columns: ["dataset"] });
        for (const v of df.getColumn("dataset").toArray()) if (v) found.add(String(v));
      } catch {
        // Not readable any more (moved, edited): the dataset's name stands in, as before this column.
      }
    }
    if (files.length === 0) found.add(e.name);
    if (found.size > 0) kinds.set(e.name, [...found].sort().join("+"));
  }
  const names = results.getColumn("dataset").toArray().map(String);
  return results.withColumn(pl.Series("dataset_kind", names.map((n) => kinds.get(n) ?? n), pl.Utf8));
}

/** Rows of the paper's utterance-level SAEs (and the references): what the paper's figures are drawn from. */
export function utteranceLevel(bundle: ResultsBundle): ResultsBundle {
  const keep = (df: pl.DataFrame | null) =>
    df && df.columns.includes("sae_input") ? df.filter(pl.col("sae_input").neq(pl.lit("frames"))) : df;
  return {
    ...bundle,
    results: keep(bundle.results)!,
    density: keep(bundle.density),
    curves: keep(bundle.curves),
  };
}

/** Whether the results hold frame-level SAE rows (results column sae_input = "frames"). */
export function hasFrameLevel(bundle: ResultsBundle): boolean {
  return bundle.results.columns.includes("sae_input") &&
    bundle.results.filter(pl.col("sae_input").eq(pl.lit("frames"))).height > 0;
}
