/**
 * "How many latents carry the attribute" in the report and the notebooks: the k-sparse table of a results
 * directory (lib/formats/ksparse.ts) as F1 (%) per k, the number of latents that reach the full probe, and the
 * report section (charts per task from lib/plots/ksparse.ts, then the tables), skipped with a sentence when the
 * run wrote no k-sparse table.
 */
import pl from "nodejs-polars";
import { readKSparse } from "../formats/ksparse.ts";
import {
  ALL_LATENTS,
  distinct,
  groupBy,
  ksparseCharts,
  ksparseProtocol,
  meanOf,
  records,
  round,
  type Row,
  taskLabel,
  type VegaLiteSpec,
  where,
} from "../plots/mod.ts";

export const KSPARSE_SECTION_TITLE = "How many latents carry the attribute? k-sparse probing";

export const READING_KSPARSE =
  "A k-sparse probe is the same L1 logistic probe fit on only k latents: those whose class means differ most " +
  "(|mean of class 1 − mean of class 0|) on the probe-training rows — per fold, never on the scored rows. " +
  "F1 close to the full probe's (all) at small k means a few latents carry the attribute; F1 rising only " +
  "slowly with k means it is spread over many. The dashed rule is the reference probe on u: a feature whose " +
  "all-latents F1 stays below it lost part of what u carries.";

/** The k-sparse table of a results directory, or an error saying how to produce it. */
export async function requireKSparse(resultsDir: string): Promise<pl.DataFrame> {
  const df = await readKSparse(resultsDir);
  if (!df) throw new Error(ksparseAbsent(resultsDir));
  return df;
}

/** The sentence shown where a run wrote no k-sparse table. */
export function ksparseAbsent(resultsDir: string): string {
  return `No k-sparse table (ksparse.parquet or ksparse.csv) in ${resultsDir}: this run did not probe the top-k ` +
    "latents, so there is nothing to show here. `deno task demo` writes one.";
}

function kColumn(r: Row): string {
  return r.all_latents ? ALL_LATENTS : `k=${r.k}`;
}

function kColumns(rows: Row[]): string[] {
  const sizes = distinct<number>(rows.filter((r) => !r.all_latents), "k");
  return [...sizes.map((k) => `k=${k}`), ALL_LATENTS];
}

export interface KSparseTableOptions {
  /** Feature kind (default "z"). */
  feature?: string;
  task?: string;
  /** Latent ratios to show (default: all in the table); absent ones are left out. */
  q?: number[];
}

/**
 * F1 (%) of the k-sparse probes per (dataset, task, protocol, codec, q, s), one column per k and one for all
 * latents, beside the reference F1 on u; seeds are averaged. When the table holds intervals over test speakers,
 * each cell is text: "F1 [low, high]".
 */
export function ksparseTable(ksparse: pl.DataFrame, opts: KSparseTableOptions = {}): pl.DataFrame {
  const feature = opts.feature ?? "z";
  let rows = where(records(ksparse, ["feature", "k", "all_latents", "f1", "f1_ref"], "k-sparse"), {
    feature,
    task: opts.task,
  });
  if (opts.q) rows = rows.filter((r) => opts.q!.some((q) => Math.abs((r.q as number) - q) < 1e-9));
  if (rows.length === 0) {
    throw new Error(`k-sparse: no '${feature}' rows${opts.q ? ` at q = ${opts.q.join(", ")}` : ""}`);
  }
  const labelled = rows.map((r) => ({ ...r, protocol: ksparseProtocol(r), k_column: kColumn(r) }));
  const ks = kColumns(rows);
  // With intervals over test speakers in the table, each cell reads "F1 [low, high]" (one seed) instead of a number.
  const withIntervals = rows.some((r) => typeof r.f1_low === "number");
  const out = groupBy(labelled, ["dataset", "task", "protocol", "codec", "q", "s"]).map(
    ({ key, rows: g }) => {
      const row: Row = { ...key, task: taskLabel(key.task as string) };
      for (const k of ks) {
        const at = g.filter((r) => r.k_column === k);
        row[k] = at.length === 0 ? null : withIntervals ? f1WithInterval(at) : round(meanOf(at, "f1") * 100);
      }
      row["F1_ref on u"] = round(meanOf(g, "f1_ref") * 100);
      row.n_test = g[0].n_test ?? null;
      row.seeds = distinct(g, "seed").length;
      return row;
    },
  );
  const columns = ["dataset", "task", "protocol", "codec", "q", "s", ...ks, "F1_ref on u", "n_test", "seeds"];
  const numeric = new Set(["q", "s", ...(withIntervals ? [] : ks), "F1_ref on u", "n_test", "seeds"]);
  return pl.DataFrame(
    columns.map((c) => pl.Series(c, out.map((r) => r[c] ?? null), numeric.has(c) ? pl.Float64 : pl.Utf8)),
  );
}

/** "F1 [low, high]" in % for one probe with its interval; the seed mean alone ("…, n seeds") for several. */
function f1WithInterval(rows: Row[]): string {
  const pct = (v: unknown) => (typeof v === "number" ? (v * 100).toFixed(1) : "—");
  if (rows.length > 1) return `${(meanOf(rows, "f1") * 100).toFixed(1)} (mean of ${rows.length} seeds)`;
  const [r] = rows;
  return `${pct(r.f1)} [${pct(r.f1_low)}, ${pct(r.f1_high)}]`;
}

/**
 * Per (dataset, task, protocol, codec, feature): how many latents reach the full probe — per SAE configuration
 * and seed, the smallest k whose F1 is within `tolerance` (F1 units, default 0.02) of the all-latents F1 — as
 * the median over configurations, with F1 (%) at k = 1 and at all latents (means), and the reference F1 on u.
 */
export function latentsNeededTable(ksparse: pl.DataFrame, opts: { tolerance?: number } = {}): pl.DataFrame {
  const tol = opts.tolerance ?? 0.02;
  const rows = records(ksparse, ["feature", "k", "all_latents", "f1", "f1_ref", "cell_key"], "k-sparse")
    .map((r) => ({ ...r, protocol: ksparseProtocol(r) }));
  const perProbe = groupBy(rows, ["dataset", "task", "protocol", "codec", "feature", "cell_key", "seed"])
    .flatMap(({ key, rows: g }) => {
      const all = g.find((r) => r.all_latents);
      if (!all) return [];
      const sizes = g.filter((r) => !r.all_latents).sort((a, b) => (a.k as number) - (b.k as number));
      const reach = sizes.find((r) => (r.f1 as number) >= (all.f1 as number) - tol) ?? all;
      const k1 = sizes.find((r) => r.k === 1);
      return [{
        ...key,
        needed: reach.k as number,
        f1_k1: k1?.f1 ?? null,
        f1_all: all.f1,
        f1_ref: all.f1_ref,
      }];
    });
  if (perProbe.length === 0) {
    throw new Error("k-sparse: no all-latents rows to compare the top-k probes with");
  }
  const out = groupBy(perProbe, ["dataset", "task", "protocol", "codec", "feature"]).map((
    { key, rows: g },
  ) => ({
    ...key,
    task: taskLabel(key.task as string),
    "latents needed (median)": median(g.map((r) => r.needed as number)),
    probes: g.length,
    "F1 at k=1 (%)": round(meanOf(g, "f1_k1") * 100),
    "F1 all latents (%)": round(meanOf(g, "f1_all") * 100),
    "F1_ref on u (%)": round(meanOf(g, "f1_ref") * 100),
  }));
  const columns = Object.keys(out[0]);
  const text = new Set(["dataset", "task", "protocol", "codec", "feature"]);
  return pl.DataFrame(
    columns.map((c) =>
      pl.Series(c, out.map((r) => (r as Row)[c] ?? null), text.has(c) ? pl.Utf8 : pl.Float64)
    ),
  );
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Where the report section writes: the report page's paragraph, table and chart methods. */
export interface ReportSink {
  p(text: string): void;
  table(df: pl.DataFrame, caption: string, note?: string): void;
  chart(spec: VegaLiteSpec): Promise<void>;
}

/**
 * The report's k-sparse section: the reading note, one chart per task, the latents-needed table and the z table
 * at the smallest and largest q; a sentence instead when the results directory has no k-sparse table.
 */
export async function ksparseSection(out: ReportSink, resultsDir: string): Promise<void> {
  const ksparse = await readKSparse(resultsDir);
  if (!ksparse) return out.p(ksparseAbsent(resultsDir));
  out.p(READING_KSPARSE);
  for (const spec of ksparseCharts(ksparse)) await out.chart(spec);
  out.table(
    latentsNeededTable(ksparse),
    "Latents needed to reach the full probe's F1 (within 2 points), per codec, protocol and feature",
    "Median over SAE configurations and seeds of the smallest k (1, 2, 5, 10, 20) whose F1 is within 2 " +
      "points of the all-latents F1 (the column count when none is).",
  );
  const qs = distinct<number>(where(records(ksparse, ["q", "feature"], "k-sparse"), { feature: "z" }), "q");
  if (qs.length === 0) {
    return out.p("No k-sparse probes on z in this table: the per-k table of z is left out.");
  }
  const shown = [...new Set([qs[0], qs.at(-1)!])];
  out.table(
    ksparseTable(ksparse, { feature: "z", q: shown }),
    `k-sparse probe F1 (%) on z at q = ${shown.join(" and ")}`,
    "Columns k=…: the probe on the top-k latents; all: every latent (the full probe); [low, high]: the 95 % " +
      "interval over test speakers where the run computed one. Seeds averaged.",
  );
}
