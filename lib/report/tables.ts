/**
 * The paper's tables as Polars DataFrames, values in % (2 decimals), seeds averaged:
 * Table 1 (reference macro-F1 per codec × task), Table 2 (ΔF1 of z / position / magnitude at s = 5 % across q),
 * Table 3 (ΔF1 of bitrate variants × q × s). A `dataset` column keeps datasets apart (the paper has one).
 */
import pl from "nodejs-polars";
import type { SaeConfig } from "../sae/config.ts";
import * as plots from "../plots/mod.ts";
import { requiredColumns, RESULT_TABLE } from "../formats/results.ts";

/** Paper order of the tasks. */
const TASK_ORDER = ["us-vs-uk", "us-vs-non-us-uk"];

function orderTasks(tasks: string[]): string[] {
  return [...tasks].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
function rank(task: string): number {
  const i = TASK_ORDER.indexOf(task);
  return i < 0 ? TASK_ORDER.length : i;
}

function rowsOf(results: pl.DataFrame): plots.Row[] {
  return plots.records(results, requiredColumns(RESULT_TABLE), "results");
}

/** Builds a frame column by column so the column order and types are the table's, not inference's. */
function frame(columns: [string, unknown[], "str" | "int" | "num"][]): pl.DataFrame {
  return pl.DataFrame(columns.map(([name, values, kind]) => {
    if (kind === "str") return pl.Series(name, values, pl.Utf8);
    // Via Float64: nodejs-polars 0.25.2 turns null into 0 in a Series built directly as Int32.
    const f = pl.Series(name, values, pl.Float64);
    return kind === "int" ? f.cast(pl.Int32) : f;
  }));
}

/** The task of Tables 2/3: the paper's US vs UK when present, else the first task in the results. */
export function defaultTask(results: pl.DataFrame): string {
  return orderTasks(plots.distinct<string>(rowsOf(results), "task"))[0];
}

/** Mean ΔF1 (%) over seeds of the matching rows, or null when there are none. */
function deltaPct(rows: plots.Row[], eq: Record<string, unknown>): number | null {
  const m = plots.where(rows, eq);
  return m.length === 0 ? null : plots.round(plots.meanOf(m, "delta_f1") * 100);
}

/** Table 1: reference macro-F1 (%) of a probe on u, one row per (dataset, task), one column per codec. */
export function table1(results: pl.DataFrame): pl.DataFrame {
  const rows = rowsOf(results);
  const codecs = plots.orderCodecs(rows);
  const settings = plots.groupBy(rows, ["dataset", "task"])
    .map((g) => g.key)
    .sort((a, b) =>
      String(a.dataset).localeCompare(String(b.dataset)) || rank(a.task as string) - rank(b.task as string)
    );
  const cell = (dataset: unknown, task: unknown, codec: string) => {
    const ref = plots.where(rows, { dataset, task, codec, feature: "u" });
    // Without "u" rows the reference still sits on every row as f1_ref: one value per seed.
    const src = ref.length > 0
      ? ref
      : plots.groupBy(plots.where(rows, { dataset, task, codec }), ["seed"]).map((g) => g.rows[0]);
    return src.length === 0 ? null : plots.round(plots.meanOf(src, ref.length > 0 ? "f1" : "f1_ref") * 100);
  };
  return frame([
    ["dataset", settings.map((s) => s.dataset), "str"],
    ["task", settings.map((s) => plots.taskLabel(s.task as string)), "str"],
    ...codecs.map((c) =>
      [c, settings.map((s) => cell(s.dataset, s.task, c)), "num"] as [string, unknown[], "num"]
    ),
  ]);
}

export interface Table2Options {
  /** Relative sparsity (paper: 0.05). */
  s?: number;
  /** Default: US vs UK when present. */
  task?: string;
  dataset?: string;
}

const FEATURE_ROWS: [string, string][] = [["z", "z (full)"], ["z_pos", "position"], ["z_mag", "magnitude"]];

/** Table 2: ΔF1 (%) of z, position-only and magnitude-only features at one s, rows per codec, columns per q. */
export function table2(results: pl.DataFrame, opts: Table2Options = {}): pl.DataFrame {
  const s = opts.s ?? 0.05;
  const task = opts.task ?? defaultTask(results);
  const rows = plots.where(rowsOf(results), { task, dataset: opts.dataset, s });
  if (rows.length === 0) throw new Error(`Table 2: no rows for task '${task}' at s = ${s}`);
  const qs = plots.distinct<number>(rows, "q");
  const out: { dataset: string; codec: string; features: string; cells: (number | null)[] }[] = [];
  for (const dataset of plots.distinct<string>(rows, "dataset")) {
    for (const codec of plots.orderCodecs(plots.where(rows, { dataset }))) {
      for (const [feature, label] of FEATURE_ROWS) {
        const cells = qs.map((q) => deltaPct(rows, { dataset, codec, feature, q }));
        if (cells.every((c) => c === null)) continue;
        out.push({ dataset, codec, features: label, cells });
      }
    }
  }
  return frame([
    ["dataset", out.map((r) => r.dataset), "str"],
    ["codec", out.map((r) => r.codec), "str"],
    ["features", out.map((r) => r.features), "str"],
    ...qs.map((q, i) => [`q=${q}`, out.map((r) => r.cells[i]), "num"] as [string, unknown[], "num"]),
  ]);
}

/** Codec families with at least two bitrate variants in the results, variants ordered by bitrate. */
export function bitrateFamilies(results: pl.DataFrame): { family: string; codecs: string[] }[] {
  const rows = rowsOf(results);
  const byFamily = new Map<string, string[]>();
  for (const codec of plots.orderCodecs(rows)) {
    const r = plots.where(rows, { codec })[0];
    if (typeof r.bitrate_kbps !== "number") continue;
    const family = r.codec_family as string;
    byFamily.set(family, [...(byFamily.get(family) ?? []), codec]);
  }
  return [...byFamily.entries()].filter(([, c]) => c.length >= 2).map(([family, codecs]) => ({
    family,
    codecs,
  }));
}

export interface Table3Options {
  /** Codec family (e.g. "lyra", "encodec"); default: the first family with ≥ 2 bitrate variants. */
  family?: string;
  task?: string;
  dataset?: string;
  /** Relative sparsities (paper: 5 % and 10 %). */
  s?: number[];
  /** ΔF1 of which feature (paper: z). */
  feature?: string;
}

function pct(s: number): string {
  return `${plots.round(s * 100, 1)}%`;
}

/** Table 3: ΔF1 (%) of one family's bitrate variants; rows per (dataset, q), columns per (variant, s). */
export function table3(results: pl.DataFrame, opts: Table3Options = {}): pl.DataFrame {
  const families = bitrateFamilies(results);
  const fam = opts.family === undefined ? families[0] : families.find((f) => f.family === opts.family);
  if (!fam) {
    throw new Error(
      `Table 3: no codec family with ≥ 2 bitrate variants${opts.family ? ` named '${opts.family}'` : ""} ` +
        `(families: ${families.map((f) => f.family).join(", ") || "none"})`,
    );
  }
  const task = opts.task ?? defaultTask(results);
  const ss = opts.s ?? [0.05, 0.1];
  const feature = opts.feature ?? "z";
  const rows = plots.where(rowsOf(results), { task, dataset: opts.dataset, feature })
    .filter((r) => fam.codecs.includes(r.codec as string));
  if (rows.length === 0) throw new Error(`Table 3: no '${feature}' rows for ${fam.family} on task '${task}'`);
  const keys = plots.groupBy(rows.filter((r) => r.q !== null), ["dataset", "q"]).map((g) => g.key)
    .sort((a, b) => String(a.dataset).localeCompare(String(b.dataset)) || (a.q as number) - (b.q as number));
  const columns = fam.codecs.flatMap((codec) => ss.map((s) => ({ codec, s })));
  return frame([
    ["dataset", keys.map((k) => k.dataset), "str"],
    ["q", keys.map((k) => k.q), "int"],
    ...columns.map(({ codec, s }) =>
      [
        `${codec} s=${pct(s)}`,
        keys.map((k) => deltaPct(rows, { dataset: k.dataset, q: k.q, codec, s })),
        "num",
      ] as [string, unknown[], "num"]
    ),
  ]);
}

/**
 * Seeds whose flag is true, as "all", "none" or "n of m"; null when the results predate the flag. Used for
 * `sae_trained` (in-sample explained variance within 0.02 of PCA-k's) and `heldout_below_pca_k`.
 */
function flagCount(rows: plots.Row[], field: string): string | null {
  const flags = rows.map((r) => r[field]).filter((v): v is boolean => typeof v === "boolean");
  if (flags.length === 0) return null;
  const n = flags.filter((v) => v).length;
  return n === flags.length ? "all" : n === 0 ? "none" : `${n} of ${flags.length}`;
}

/**
 * SAE fit per configuration (seed means): k, d_z, schedule (epochs or Adam steps), NMSE and explained variance
 * on the training rows beside PCA-k's (the yardstick) and whether every seed's SAE reached it (`sae_trained`),
 * the held-out (test) explained variance of both and the seeds generalising worse than PCA-k, L0, dead latents,
 * time.
 */
export function saeMetricsTable(
  results: pl.DataFrame,
  opts: { codec?: string; task?: string; dataset?: string } = {},
): pl.DataFrame {
  const rows = plots.where(rowsOf(results), {
    feature: "z",
    codec: opts.codec,
    task: opts.task,
    dataset: opts.dataset,
  })
    .filter((r) => r.q !== null);
  const withInput = rows.map((r) => ({ ...r, sae_input: r.sae_input ?? "utterance" }));
  const groups = plots.groupBy(withInput, ["dataset", "codec", "task", "sae_input", "q", "s"]).sort((a, b) =>
    String(a.key.dataset).localeCompare(String(b.key.dataset)) ||
    String(a.key.codec).localeCompare(String(b.key.codec)) ||
    rank(a.key.task as string) - rank(b.key.task as string) ||
    // The paper's SAEs on u first, then the frame-level SAEs of the same configuration.
    String(b.key.sae_input).localeCompare(String(a.key.sae_input)) ||
    (a.key.q as number) - (b.key.q as number) || (a.key.s as number) - (b.key.s as number)
  );
  const col = (f: string, digits = 4) =>
    groups.map((
      g,
    ) => (g.rows.some((r) => typeof r[f] === "number")
      ? plots.round(plots.meanOf(g.rows, f), digits)
      : null)
    );
  return frame([
    ["dataset", groups.map((g) => g.key.dataset), "str"],
    ["codec", groups.map((g) => g.key.codec), "str"],
    ["task", groups.map((g) => plots.taskLabel(g.key.task as string)), "str"],
    ["sae_input", groups.map((g) => g.key.sae_input), "str"],
    ["q", groups.map((g) => g.key.q), "int"],
    ["s", groups.map((g) => g.key.s), "num"],
    ["k", groups.map((g) => g.rows[0].k), "int"],
    ["d_z", groups.map((g) => g.rows[0].d_z), "int"],
    ["epochs", groups.map((g) => g.rows[0].epochs ?? null), "int"],
    // n with every table: the recordings the SAE was fitted to.
    ["n_sae_train", groups.map((g) => g.rows[0].n_sae_train ?? null), "int"],
    ["steps", col("sae_steps", 0), "num"],
    ["nmse", col("nmse"), "num"],
    ["explained_variance", col("explained_variance"), "num"],
    ["ev_pca_k", col("ev_pca_k"), "num"],
    ["sae_trained", groups.map((g) => flagCount(g.rows, "sae_trained")), "str"],
    ["ev_heldout", col("ev_heldout"), "num"],
    ["ev_pca_k_heldout", col("ev_pca_k_heldout"), "num"],
    ["heldout_below_pca_k", groups.map((g) => flagCount(g.rows, "heldout_below_pca_k")), "str"],
    ["l0", col("l0", 2), "num"],
    ["dead_latents", col("dead_latents", 1), "num"],
    ["sae_seconds", col("sae_seconds", 2), "num"],
  ]);
}

/** SAE configurations (e.g. `paperGrid(d_codec)`) as a table: q, s, d_z, k, epochs, batch size, lr, Adam ε. */
export function saeConfigTable(configs: SaeConfig[]): pl.DataFrame {
  return frame([
    ["q", configs.map((c) => c.q), "int"],
    ["s", configs.map((c) => c.s), "num"],
    ["d_in", configs.map((c) => c.dIn), "int"],
    ["d_z", configs.map((c) => c.dZ), "int"],
    ["k", configs.map((c) => c.k), "int"],
    ["epochs", configs.map((c) => c.epochs), "int"],
    ["batch_size", configs.map((c) => c.batchSize), "int"],
    ["lr", configs.map((c) => c.lr), "num"],
    ["adam_eps", configs.map((c) => c.adamEps), "num"],
  ]);
}

/** Utterances per split behind each (dataset, codec, task): SAE training, probe training, test; and d_codec. */
export function splitSizesTable(results: pl.DataFrame): pl.DataFrame {
  const rows = rowsOf(results);
  const codecs = plots.orderCodecs(rows);
  const groups = plots.groupBy(rows, ["dataset", "task", "codec"]).sort((a, b) =>
    String(a.key.dataset).localeCompare(String(b.key.dataset)) ||
    rank(a.key.task as string) - rank(b.key.task as string) ||
    codecs.indexOf(a.key.codec as string) - codecs.indexOf(b.key.codec as string)
  );
  const first = (f: string) => groups.map((g) => g.rows[0][f] ?? null);
  return frame([
    ["dataset", groups.map((g) => g.key.dataset), "str"],
    ["task", groups.map((g) => plots.taskLabel(g.key.task as string)), "str"],
    ["codec", groups.map((g) => g.key.codec), "str"],
    ["d_codec", first("d_codec"), "int"],
    ["n_sae_train", first("n_sae_train"), "int"],
    ["n_probe_train", first("n_probe_train"), "int"],
    ["n_test", first("n_test"), "int"],
  ]);
}

/** Probe diagnostics per (dataset, task, feature): fits, share converged, mean non-zero weights and iterations. */
export function probeSummaryTable(results: pl.DataFrame): pl.DataFrame {
  const order = ["u", "z", "z_pos", "z_mag"];
  const groups = plots.groupBy(rowsOf(results), ["dataset", "task", "feature"]).sort((a, b) =>
    String(a.key.dataset).localeCompare(String(b.key.dataset)) ||
    rank(a.key.task as string) - rank(b.key.task as string) ||
    order.indexOf(a.key.feature as string) - order.indexOf(b.key.feature as string)
  );
  return frame([
    ["dataset", groups.map((g) => g.key.dataset), "str"],
    ["task", groups.map((g) => plots.taskLabel(g.key.task as string)), "str"],
    ["feature", groups.map((g) => g.key.feature), "str"],
    ["probes", groups.map((g) => g.rows.length), "int"],
    [
      "converged_pct",
      groups.map((g) =>
        plots.round(100 * g.rows.filter((r) => r.converged === true).length / g.rows.length, 1)
      ),
      "num",
    ],
    ["mean_f1_pct", groups.map((g) => plots.round(plots.meanOf(g.rows, "f1") * 100)), "num"],
    ["mean_nnz", groups.map((g) => plots.round(plots.meanOf(g.rows, "nnz"), 1)), "num"],
    ["mean_n_iter", groups.map((g) => plots.round(plots.meanOf(g.rows, "n_iter"), 1)), "num"],
  ]);
}

/** The ΔF1 computation spelled out for one (task, dataset, feature): F1, F1_ref and ΔF1 (%) per codec, q, s. */
export function deltaF1Table(results: pl.DataFrame, opts: plots.DeltaF1Options): pl.DataFrame {
  const rows = plots.deltaF1Rows(results, opts).sort((a, b) =>
    String(a.codec).localeCompare(String(b.codec)) || (a.q as number) - (b.q as number) ||
    (b.s as number) - (a.s as number)
  );
  const col = (f: string) => rows.map((r) => r[f] ?? null);
  return frame([
    ["codec", col("codec"), "str"],
    ["q", col("q"), "int"],
    ["s", col("s"), "num"],
    ["k", col("k"), "int"],
    ["d_z", col("d_z"), "int"],
    ["F1 %", col("f1_pct"), "num"],
    ["F1_ref %", col("f1_ref_pct"), "num"],
    ["ΔF1 %", col("delta_f1_pct"), "num"],
    ["seeds", col("seeds"), "int"],
  ]);
}
