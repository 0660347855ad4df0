/**
 * One self-contained HTML report from a results directory: the paper's tables and figures (charts as inline
 * SVG, no scripts or external files), the SAE fit, the run config, environment and timings. No Jupyter needed.
 */
import pl from "nodejs-polars";
import { basename, dirname, join, relative } from "node:path";
import { checkOutputNotInput, checkOutputPath, writeFileAtomic } from "../common/fs.ts";
import { SAA_CAVEAT } from "../data/saa.ts";
import { parquetBytes } from "../formats/parquet.ts";
import {
  deltaF1Chart,
  deltaF1SeedChart,
  densityChart,
  distinct,
  type Evidence,
  evidenceOf,
  NOT_EVIDENCE_NOTE,
  records,
  referenceChart,
  type ReferenceValidity,
  renderSvg,
  sizesNote,
  taskLabel,
  taskSettings,
  trainingCurvesChart,
  type VegaLiteSpec,
  where,
} from "../plots/mod.ts";
import { escapeHtml, tableHtml } from "./html.ts";
import { latentsReportSection } from "./latents.ts";
import { frameLatentsReportSection } from "./latents_frames.ts";
import { steerSweepSection } from "./steer_sweep.ts";
import { hasFrameLevel, loadResults, requireTable, type ResultsBundle, utteranceLevel } from "./results.ts";
import { bitrateFamilies, defaultTask, saeMetricsTable, table1, table2, table3 } from "./tables.ts";
import { claimsTable, codecDifferences, referenceValidity } from "./claims.ts";
import { curvesCaption, dataParagraph, findingsHtml } from "./findings.ts";
import { KSPARSE_SECTION_TITLE, ksparseSection } from "./ksparse.ts";

export const READING_CLAIMS =
  "Each claim is a contrast D in ΔF1 percentage points with its 95 % interval, named in the method column: " +
  "with the run's predictions, a paired bootstrap over test speakers (all recordings of a drawn speaker, one " +
  "draw for every probe in the contrast) combined with the seeds (a Student-t term for their spread); results " +
  "without predictions fall back to a t-interval over seeds or configurations, which ignores which speakers " +
  "are in the test set. holds = the interval lies on the paper's side of 0; does not hold = on the other " +
  "side; inconclusive = it contains 0. to_flip_pp = the distance from the interval's nearer end to 0: how " +
  "far it would have to move for the verdict to change. A claim whose caveats say NOT EVIDENCE is read on a " +
  "task whose reference is not above chance and the majority baseline.";

export const READING_DELTA_F1 =
  "ΔF1 = F1(probe on SAE features) − F1(probe on u), in percentage points. Higher (less negative) means " +
  "more interpretable: the accent information u carries survives in a few sparse SAE latents. 0 means the " +
  "sparse features keep all of it; positive values mean the sparse basis helps the linear probe.";

export const PAPER_DIFFERENCE =
  "The paper measures EnCodec (1.5/6/12 kbps), DAC, Mimi and SpeechTokenizer on Vox-Profile (11 corpora, " +
  "self-reported accents). The numbers here come only from the datasets and codecs of this run, so they are " +
  "not comparable to the paper's values — compare codecs and configurations within this run.";

export interface ReportSummary {
  path: string;
  bytes: number;
  charts: number;
  tables: number;
  seconds: number;
  /** Sections left out and why (e.g. no density table). */
  notes: string[];
  /** The report's tables written beside it (`<name>-tables/`, CSV and Parquet), relative to its folder. */
  tableFiles: string[];
}

/** A key/value table describing what the results hold (datasets, codecs, grid, seeds, rows, timing). */
export function runSummaryTable(bundle: ResultsBundle): pl.DataFrame {
  const rows = records(bundle.results, ["dataset", "codec", "task", "q", "s", "seed", "feature"], "results");
  const list = (f: string) => distinct(rows, f).map(String).join(", ");
  const info = bundle.runInfo;
  const entries: [string, string][] = [
    ["results directory", bundle.dir],
    ["datasets", list("dataset")],
    ["codecs", list("codec")],
    ["tasks", distinct<string>(rows, "task").map(taskLabel).join(", ")],
    ["latent ratios q", list("q")],
    ["relative sparsities s", list("s")],
    ["seeds", list("seed")],
    ["features", list("feature")],
    ["result rows", String(rows.length)],
    [
      "predictions (intervals over test speakers)",
      bundle.predictions
        ? `${bundle.predictions.length} rows`
        : "none saved: intervals over seeds or configurations only",
    ],
    // Where results are read (report, every notebook's first table), the data's caveats are read too.
    ...datasetCaveats(bundle.results).map((c): [string, string] => [`caveat: ${c.name}`, c.caveat]),
  ];
  // A shortened epoch rule is a visible setting of the run, never silent.
  if (info?.epochs_rule) entries.push(["SAE epochs", String(info.epochs_rule)]);
  if (Array.isArray(info?.excluded)) {
    entries.push(["utterances excluded (unreadable/too short)", String(info.excluded.length)]);
  }
  if (info?.started) entries.push(["started", String(info.started)]);
  // Compute time of the results (each cell's own seconds, kept when a rerun reads it from the cache), not
  // the wall time of the latest — possibly cached — run.
  const compute = info?.compute;
  if (compute) {
    entries.push([
      "compute seconds (SAE / probes, summed over cells)",
      `${compute.sae_seconds.toFixed(1)} / ${compute.probe_seconds.toFixed(1)}`,
    ]);
    entries.push([
      "wall seconds of the runs that computed cells",
      compute.computing_runs_wall_seconds.toFixed(1),
    ]);
  }
  const last = info?.runs?.at(-1);
  if (last) {
    entries.push([
      `latest run (of ${info!.runs!.length})`,
      `${last.seconds.toFixed(1)} s wall, cells computed / cached / total ${last.cells.computed} / ` +
      `${last.cells.cached} / ${last.cells.total}`,
    ]);
  } else if (typeof info?.seconds === "number") {
    entries.push(["run seconds", info.seconds.toFixed(1)]);
  }
  return pl.DataFrame([
    pl.Series("item", entries.map((e) => e[0]), pl.Utf8),
    pl.Series("value", entries.map((e) => e[1]), pl.Utf8),
  ]);
}

/** A table the report writes beside itself (CSV always, Parquet too: every report table has typed columns). */
export interface ReportTableFile {
  name: string;
  df: pl.DataFrame;
}

/** Where the report's tables go, beside the report file: `report-tables/` for report.html. */
export const REPORT_TABLES_DIR = "report-tables";

/** The tables folder of a report file: `<name>-tables` beside `<name>.html` (its own, so it can be cleaned). */
export function reportTablesDir(reportPath: string): string {
  return `${basename(reportPath).replace(/\.html?$/i, "")}-tables`;
}

class Page {
  constructor(readonly tablesDir = REPORT_TABLES_DIR) {}
  parts: string[] = [];
  charts = 0;
  tables = 0;
  notes: string[] = [];
  files: ReportTableFile[] = [];
  h2(text: string) {
    this.parts.push(`<h2>${escapeHtml(text)}</h2>`);
  }
  p(text: string) {
    this.parts.push(`<p>${escapeHtml(text)}</p>`);
  }
  /**
   * A table, written beside the report as `report-tables/<file>.csv/.parquet` when `file` is given (its
   * caption links it); `muted` greys the cells that are not evidence.
   */
  table(
    df: pl.DataFrame,
    caption: string,
    note?: string,
    opts: {
      file?: string;
      /** The file of a table registered with `file` (e.g. the full table of a compact display). */
      link?: string;
      muted?: (row: Record<string, unknown>, column: string) => boolean;
    } = {},
  ) {
    // Every table leaves the page: one given neither file nor link is written under its caption's name.
    const file = opts.file ?? (opts.link ? undefined : this.freeName(caption));
    if (file) this.file(file, df);
    const name = file ?? opts.link;
    const link = name ? `${this.tablesDir}/${name}.csv` : undefined;
    this.parts.push(`<div class="table">${tableHtml(df, { caption, note, link, muted: opts.muted })}</div>`);
    this.tables++;
  }
  /** A file name from a caption ("Latents needed to reach …" → latents_needed_to_reach_…), unique in the page. */
  private freeName(caption: string): string {
    const base = caption.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "")
      .slice(0, 60).replace(/_+$/, "") || "table";
    let name = base;
    for (let i = 2; this.files.some((f) => f.name === name); i++) name = `${base}_${i}`;
    return name;
  }
  /** A table file without a table in the page (e.g. the whole fit table, shown per task). */
  file(name: string, df: pl.DataFrame) {
    if (this.files.some((f) => f.name === name)) throw new Error(`report table file '${name}' written twice`);
    this.files.push({ name, df });
  }
  async chart(spec: VegaLiteSpec) {
    this.parts.push(`<figure class="chart">${await renderSvg(spec)}</figure>`);
    this.charts++;
  }
  /** Runs a section; a section whose data is absent is noted in the page, not silently skipped. */
  async section(title: string, body: () => Promise<void> | void) {
    this.h2(title);
    try {
      await body();
    } catch (e) {
      const msg = `${title}: not shown — ${(e as Error).message}`;
      this.notes.push(msg);
      this.parts.push(`<p class="missing">${escapeHtml(msg)}</p>`);
    }
  }
}

function json(value: unknown): string {
  return `<pre>${escapeHtml(JSON.stringify(value, null, 2))}</pre>`;
}

/**
 * The kinds of data behind the results: the manifest's `dataset` column as the results column `dataset_kind`
 * records it (several kinds joined by "+"), else — results from before that column — the dataset names the
 * config gave. A dataset entry named "saa-holdout" is still SAA data.
 */
export function datasetKinds(results: pl.DataFrame): Set<string> {
  const column = results.columns.includes("dataset_kind") ? "dataset_kind" : "dataset";
  return new Set(
    results.getColumn(column).toArray().flatMap((v) => String(v ?? "").split(/[+,]/)).map((v) => v.trim())
      .filter((v) => v !== ""),
  );
}

/** The caveats of the data in the results that carry one (SAA: 8 kHz audio, one paragraph per speaker, …). */
export function datasetCaveats(results: pl.DataFrame): { name: string; caveat: string }[] {
  return datasetKinds(results).has("saa") ? [{ name: "Speech Accent Archive", caveat: SAA_CAVEAT }] : [];
}

const CSS =
  `body{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}h3{font-size:1.05em;margin:1em 0 .3em}
figure.chart{margin:1em 0;overflow-x:auto}div.table{overflow-x:auto;margin:1em 0}
table.nac-sae td.text{max-width:22em}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:12px}.missing{color:#a40000}
.reading{background:#f3f7ff;border-left:4px solid #4c78a8;padding:.5em 1em}
.findings{background:#fffbea;border-left:4px solid #d9a400;padding:.3em 1em .6em}
.findings li{margin:.25em 0}.verdict-holds{color:#1a7f37}.verdict-not{color:#a40000}.not-evidence{color:#777}
figcaption{color:#555;font-size:90%;max-width:60em}`;

/** Greys Table 1–3 cells of (dataset, task, codec) settings whose reference is not evidence. */
function mutedBy(validity: Map<string, ReferenceValidity>) {
  const weak = new Set(
    [...validity.values()].filter((v) => !v.evidence).flatMap((v) => [
      `${v.dataset}|${v.task}|${v.codec}`,
      `${v.dataset}|${taskLabel(v.task)}|${v.codec}`,
    ]),
  );
  return {
    any: weak.size > 0,
    /** Table 1: rows (dataset, task label), one column per codec. */
    byColumn: (row: Record<string, unknown>, column: string) =>
      weak.has(`${row.dataset}|${row.task}|${column}`),
    /** Tables 2/3 of one task: the codec is a column (prefix) or the row's `codec`. */
    forTask: (task: string) => (row: Record<string, unknown>, column: string) =>
      weak.has(`${row.dataset}|${task}|${row.codec ?? column.split(" ")[0]}`) &&
      column !== "dataset" && column !== "q",
  };
}

/** The validity entries of one task (n notes under the tables of that task). */
function ofTask(validity: Map<string, ReferenceValidity>, task: string): Map<string, ReferenceValidity> {
  return new Map([...validity].filter(([, v]) => v.task === task));
}

/**
 * The table without the listed columns that hold one value throughout, and those values in words ("protocol:
 * mean, split") for its note: a column repeating one value only takes width. The CSV keeps every column.
 */
function withoutUniform(df: pl.DataFrame, columns: string[]): { df: pl.DataFrame; said: string } {
  const said: string[] = [];
  let out = df;
  for (const c of columns) {
    if (!df.columns.includes(c) || df.height === 0) continue;
    const values = [...new Set(df.getColumn(c).toArray().map(String))];
    if (values.length === 1) {
      out = out.drop(c);
      said.push(`${c.replace(/_/g, " ")}: ${values[0]}`);
    }
  }
  return { df: out, said: said.length > 0 ? `Every row: ${said.join("; ")}.` : "" };
}

const UNIFORM = ["dataset", "protocol", "test_set"];

/**
 * The reference-validity table as the page shows it: each interval in one cell ("[34.7, 65.4]") and the
 * counts per class as "50 / 30", so it fits the page; the CSV beside the report keeps one number per column.
 */
function validityDisplay(validity: pl.DataFrame): pl.DataFrame {
  const rows = validity.toRecords();
  const num = (v: unknown) => (typeof v === "number" ? v.toFixed(1) : "—");
  const pair = (a: unknown, b: unknown, open = "[", close = "]") =>
    typeof a === "number" && typeof b === "number" ? `${open}${num(a)}, ${num(b)}${close}` : "—";
  const counts = (
    a: unknown,
    b: unknown,
  ) => (typeof a === "number" && typeof b === "number" ? `${a} / ${b}` : "—");
  const col = (name: string, f: (r: Record<string, unknown>) => unknown, numeric = false) =>
    pl.Series(name, rows.map(f), numeric ? pl.Float64 : pl.Utf8);
  return pl.DataFrame([
    col("dataset", (r) => r.dataset),
    col("task", (r) => r.task),
    col("codec", (r) => r.codec),
    col("protocol", (r) => r.protocol),
    col("test_set", (r) => r.test_set),
    col("f1_ref_pct", (r) => r.f1_ref_pct, true),
    col("95 % interval", (r) => pair(r.low_pct, r.high_pct)),
    col("chance_pct", (r) => r.chance_pct, true),
    col("chance range", (r) => pair(r.chance_low_pct, r.chance_high_pct)),
    col("majority_pct", (r) => r.majority_pct, true),
    col("above_chance", (r) => r.above_chance),
    col("above_majority", (r) => r.above_majority),
    col("evidence", (r) => r.evidence),
    col("n_train", (r) => counts(r.n_train_0, r.n_train_1)),
    col("n_test", (r) => counts(r.n_test_0, r.n_test_1)),
    col("test_speakers", (r) => r.test_speakers, true),
  ]);
}

/** "US vs UK: US / UK" per task of a reference-validity table. */
function classNames(validity: pl.DataFrame): string {
  const seen = new Map<string, string>();
  for (const r of validity.toRecords()) seen.set(String(r.task), String(r.classes_0_1));
  return [...seen].map(([t, c]) => `${t}: ${c}`).join("; ");
}

/** Rows whose caveats say NOT EVIDENCE are greyed (claims, codec differences). */
const mutedRow = (row: Record<string, unknown>) => String(row.caveats ?? "").includes("NOT EVIDENCE");

/** The reading notes, the run, the reference against chance (per protocol with `compare`), claims, codec pairs. */
async function referenceSections(
  page: Page,
  bundle: ResultsBundle,
  ev: Evidence,
  compare: ResultsBundle[],
): Promise<void> {
  const { results } = bundle;
  const all = [bundle, ...compare];
  page.parts.push(
    `<div class="reading"><p><b>How to read ΔF1.</b> ${escapeHtml(READING_DELTA_F1)}</p>` +
      `<p><b>Data.</b> ${escapeHtml(dataParagraph(all))} ${escapeHtml(PAPER_DIFFERENCE)}</p>` +
      datasetCaveats(results).map((c) => `<p><b>${escapeHtml(c.name)}.</b> ${escapeHtml(c.caveat)}</p>`).join(
        "",
      ) +
      "</div>",
  );
  await page.section(
    "Run",
    () => page.table(runSummaryTable(bundle), "What these results hold", undefined, { file: "run" }),
  );
  const muted = mutedBy(ev.validity);
  const n = sizesNote(ev.validity);
  await page.section(
    "Is the reference above chance? Reference F1 (%) against chance and the majority-class baseline",
    async () => {
      await page.chart(referenceChart(bundle));
      const validity = referenceValidity(all);
      page.file("reference_vs_chance", validity);
      const shown = withoutUniform(validityDisplay(validity), [...UNIFORM, "test_speakers"]);
      page.table(
        shown.df,
        compare.length > 0
          ? "Reference macro-F1 on u with its 95 % interval, label-permuted chance (mean, 2.5–97.5 %) and the " +
            "majority-class baseline, per protocol"
          : "Reference macro-F1 on u with its 95 % interval, label-permuted chance (mean, 2.5–97.5 %) and the " +
            "majority-class baseline",
        "evidence = NOT EVIDENCE: the reference's interval reaches into the chance range or below the " +
          "majority-class baseline (always answering the probe-training majority) — ΔF1 on that task and codec " +
          "measures noise, not lost accent information. n_train, n_test: probe-training and test " +
          `recordings of class 0 / class 1 (${classNames(validity)}). Intervals: ` +
          `${[...new Set(validity.getColumn("interval").toArray())].join("; ")}. ${shown.said}` +
          (compare.length > 0
            ? ` Protocols: this run and ${
              compare.map((b) => b.dir).join(", ")
            } ("mean, split" = the paper's).`
            : ""),
        { link: "reference_vs_chance", muted: (row) => row.evidence !== "yes" },
      );
    },
  );
  await page.section(
    "Table 1 — reference macro-F1 (%) of a probe on u",
    () =>
      page.table(
        table1(results),
        "Reference macro-F1 (%) per codec (columns) and task (rows)",
        `Probe on u = mean of ê over time; higher is better. ${n}` +
          (muted.any ? ` ${NOT_EVIDENCE_NOTE}.` : ""),
        { file: "table1_reference_f1", muted: muted.byColumn },
      ),
  );
  await page.section("Paper claims on this run's data", () => {
    page.p(READING_CLAIMS);
    const claims = claimsTable(all);
    page.file("claims", claims);
    const shown = withoutUniform(claims.drop(["numbers", "n", "method"]), UNIFORM);
    page.table(
      shown.df,
      compare.length > 0
        ? "The paper's three claims per protocol: holds / does not hold / inconclusive"
        : "The paper's three claims: holds / does not hold / inconclusive",
      `Intervals: ${distinct<string>(records(claims, ["method"], "claims"), "method").join("; ")}. ${n} ` +
        `The means behind each D, its n and its method are in ${page.tablesDir}/claims.csv. ${shown.said}` +
        (claims.toRecords().some(mutedRow) ? ` ${NOT_EVIDENCE_NOTE}.` : ""),
      { link: "claims", muted: mutedRow },
    );
  });
  await page.section("ΔF1 differences between codecs", () => {
    const diffs = codecDifferences(all);
    if (diffs.height === 0) {
      page.p(
        "Not shown: every setting of this run has a single codec, so there is no pair of codecs to compare.",
      );
      return;
    }
    page.file("codec_differences", diffs);
    const shown = withoutUniform(diffs.drop("method"), UNIFORM);
    page.table(
      shown.df,
      "Mean ΔF1 (%) on z over the grid, per pair of codecs, with the 95 % interval of the difference",
      `within intervals: the ranking of that pair is not supported by these results. Intervals: ` +
        `${[...new Set(diffs.getColumn("method").toArray())].join("; ")}. ${shown.said} ${n}`,
      { link: "codec_differences", muted: mutedRow },
    );
  });
}

/** The paper's figures and tables 2 and 3 (task2: the task of the single-task ones), then the intervals. */
async function figureSections(
  page: Page,
  bundle: ResultsBundle,
  task2: string,
  settings: ReturnType<typeof taskSettings>,
): Promise<void> {
  const { results } = bundle;
  const ev = evidenceOf(bundle);
  const rows = records(results, ["seed", "feature", "q", "s"], "results");
  const multiSeed = distinct(rows, "seed").length > 1;
  const muted = mutedBy(ev.validity);
  const n2 = sizesNote(ofTask(ev.validity, task2));
  await page.section("Figures 2 and 3 — ΔF1 (%) on z across q and s", async () => {
    for (const s of settings) await page.chart(deltaF1Chart(bundle, { ...s, feature: "z" }));
  });
  await page.section(
    `Table 2 — position vs magnitude at s = 5 % (${taskLabel(task2)})`,
    () =>
      page.table(
        table2(results, { task: task2 }),
        `ΔF1 (%) at s = 5 %, ${taskLabel(task2)}`,
        "Rows per codec: full z, position-only z_pos (which latents fire), magnitude-only z_mag (sorted top-k " +
          `values). ${n2}` + (muted.any ? ` ${NOT_EVIDENCE_NOTE}.` : ""),
        { file: "table2_position_magnitude", muted: muted.forTask(task2) },
      ),
  );
  await page.section("ΔF1 (%) of position-only and magnitude-only features", async () => {
    for (const feature of ["z_pos", "z_mag"]) {
      if (where(rows, { feature }).length === 0) continue;
      for (const s of settings.filter((x) => x.task === task2)) {
        await page.chart(deltaF1Chart(bundle, { ...s, feature }));
      }
    }
  });
  await page.section("Figure 4 — activation density over latent-index groups (q = 2, s = 5 %)", async () => {
    await page.chart(
      densityChart(requireTable(bundle, "density"), { q: 2, s: 0.05, task: task2, results: bundle }),
    );
  });
  const families = bitrateFamilies(results);
  await page.section("Table 3 — bitrate variants", () => {
    if (families.length === 0) {
      throw new Error("no codec family with two or more bitrate variants in these results");
    }
    for (const f of families) {
      page.table(
        table3(results, { family: f.family, task: task2 }),
        `ΔF1 (%) of ${f.codecs.join(" / ")} on z, ${taskLabel(task2)}`,
        n2 + (muted.any ? ` ${NOT_EVIDENCE_NOTE}.` : ""),
        { file: `table3_bitrate_${f.family}`, muted: muted.forTask(task2) },
      );
    }
  });
  const hasBootstrap = results.columns.includes("delta_f1_low") &&
    records(results, ["delta_f1_low"], "results").some((r) => typeof r.delta_f1_low === "number");
  if (ev.intervals || multiSeed || hasBootstrap) {
    await page.section(
      ev.intervals
        ? `ΔF1 (%) with 95 % intervals over test speakers${multiSeed ? " × seeds" : " (one seed)"}`
        : multiSeed
        ? "ΔF1 (%) with 95 % intervals over seeds"
        : "ΔF1 (%) with 95 % bootstrap intervals over scored utterances (one seed)",
      async () => {
        for (const s of settings) await page.chart(deltaF1SeedChart(bundle, { ...s, feature: "z" }));
      },
    );
  }
}

const SAE_FIT_NOTE =
  "On the SAE's training rows: NMSE, explained variance and ev_pca_k, the explained variance of PCA with k " +
  "components fitted on those rows (the yardstick: a TopK SAE with d_z ≥ 2k can represent PCA-k); " +
  "sae_trained = seeds whose explained variance ≥ ev_pca_k − 0.02. On held-out rows (test): ev_heldout " +
  "(SAE) and ev_pca_k_heldout (the same PCA); heldout_below_pca_k = seeds generalising worse than PCA-k " +
  "(by more than 0.02). steps = Adam steps (convergent schedule: until the val1 loss stopped improving). " +
  "L0 = active latents per input; dead = latents never active on the training rows; n_sae_train = the " +
  "recordings the SAE was fitted to.";

/** SAE training, latents and steering, the run config and the environment. */
const FRAME_FIT_NOTE = "sae_input = frames: frame-level SAEs, fit on sampled frames ê_t of every " +
  "train-split recording (n_sae_train counts frames), stopped on val1 frames and held out on other val1 frames " +
  "(speakers the SAE never trained on); one SAE per codec × configuration × seed serves every task (results " +
  "column sae_key), so its rows repeat across tasks.";

async function runSections(
  page: Page,
  bundle: ResultsBundle,
  task2: string,
  paper: ResultsBundle,
): Promise<void> {
  const { results } = bundle;
  await page.section("SAE training", async () => {
    const curves = requireTable(paper, "curves");
    await page.chart(trainingCurvesChart(curves, { task: task2 }));
    page.parts.push(`<figcaption>${escapeHtml(curvesCaption(curves, { task: task2 }))}</figcaption>`);
    page.file("sae_fit", saeMetricsTable(results));
    // One table per (dataset, task): the task in the caption, not in a column squeezed to five lines.
    const groups = records(results, ["dataset", "task", "feature"], "results").filter((r) =>
      r.feature === "z"
    );
    const settings = [...new Set(groups.map((r) => `${r.dataset}\u0000${r.task}`))];
    for (const [i, key] of settings.entries()) {
      const [dataset, task] = key.split("\u0000");
      page.table(
        saeMetricsTable(results, { dataset, task }).drop(["dataset", "task"]),
        `SAE fit per configuration (seed means) — ${dataset} · ${taskLabel(task)}`,
        i < settings.length - 1
          ? undefined
          : SAE_FIT_NOTE + (hasFrameLevel(bundle) ? ` ${FRAME_FIT_NOTE}` : "") +
            ` All settings: ${page.tablesDir}/sae_fit.csv.`,
        { link: "sae_fit" },
      );
    }
  });
  await page.section("Latents and steering", async () => {
    page.parts.push(await latentsReportSection(bundle.dir));
    if (hasFrameLevel(bundle)) page.parts.push(await frameLatentsReportSection(bundle.dir));
    // The frame-level steering sweep (steer/sweep.csv): verdicts, charts and table; its WAVs play on
    // steer/sweep.html and in the frame-level dashboard.
    const sweep = await steerSweepSection(bundle.dir, { players: false, level: 3 });
    if (sweep) {
      page.parts.push(
        `<p>Steering in SAE space, per frame: <a href="steer/sweep.html">steer/sweep.html</a> (with the steered ` +
          `WAVs), tables <a href="steer/sweep.csv">steer/sweep.csv</a>, <a href="steer/sweep.json">` +
          `steer/sweep.json</a>.</p>` + sweep,
      );
    }
  });
  await page.section("Run config", () => {
    page.parts.push(bundle.runConfig ? json(bundle.runConfig) : "<p>(no run_config.json)</p>");
  });
  await page.section("Environment and timings", () => {
    if (!bundle.runInfo) throw new Error("no run_info.json");
    page.parts.push(json(bundle.runInfo));
  });
}

export async function buildReportHtml(
  bundle: ResultsBundle,
  opts: { compare?: ResultsBundle[]; tablesDir?: string } = {},
): Promise<
  Omit<ReportSummary, "path" | "bytes" | "seconds" | "tableFiles"> & {
    html: string;
    files: ReportTableFile[];
  }
> {
  const { results } = bundle;
  const page = new Page(opts.tablesDir);
  const task2 = defaultTask(results);
  const settings = taskSettings(results);
  const compare = opts.compare ?? [];
  const ev = evidenceOf(bundle);

  // The answers first: what the run found, per task and protocol, from the same tables as below.
  page.parts.push(findingsHtml([bundle, ...compare]));
  await referenceSections(page, bundle, ev, compare);
  // The paper's figures are of its utterance-level SAEs; frame-level cells are in the findings, the claims,
  // the k-sparse and the fit tables, each labelled.
  const paper = utteranceLevel(bundle);
  await figureSections(page, paper, task2, paper === bundle ? settings : taskSettings(paper.results));
  await page.section(KSPARSE_SECTION_TITLE, () => ksparseSection(page, bundle.dir));
  await runSections(page, bundle, task2, paper);

  const title = `nac-sae report — ${escapeHtml(String(bundle.runInfo?.name ?? bundle.dir))}`;
  const html = `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title>` +
    `<style>${CSS}</style></head><body>\n<h1>${title}</h1>\n<p>Generated ${new Date().toISOString()} from ` +
    `<code>${escapeHtml(bundle.dir)}</code>.</p>\n${page.parts.join("\n")}\n</body></html>\n`;
  return { html, charts: page.charts, tables: page.tables, notes: page.notes, files: page.files };
}

/** Writes each table as CSV and Parquet into `<folder of the report>/report-tables/`; returns the paths. */
async function writeReportTables(reportPath: string, files: ReportTableFile[]): Promise<string[]> {
  const dir = join(dirname(reportPath), reportTablesDir(reportPath));
  const out: string[] = [];
  for (const { name, df } of files) {
    const base = join(dir, name);
    await writeFileAtomic(`${base}.csv`, df.writeCSV().toString());
    await writeFileAtomic(`${base}.parquet`, parquetBytes(df));
    out.push(`${base}.csv`, `${base}.parquet`);
  }
  // The folder is this report's own: a table an earlier report wrote and this one does not is removed, so
  // nothing there is stale.
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isFile && /\.(csv|parquet)$/.test(e.name) && !out.includes(path)) await Deno.remove(path);
  }
  return out;
}

/**
 * Writes the report (default `<resultsDir>/report.html`) and returns where, how big, and what it holds.
 * `compare`: results directories of the same data under other protocols, shown side by side.
 */
/**
 * Before any work: the report path can be a file, and is none of the results files it is built from (every
 * file of the results folders other than HTML reports).
 */
async function checkReportOutput(path: string, resultsDir: string, compare: string[]): Promise<void> {
  await checkOutputPath(path, "file", "--out");
  const inputs: [string, string][] = [];
  for (const dir of [resultsDir, ...compare]) {
    try {
      for await (const e of Deno.readDir(dir)) {
        if (e.isFile && !e.name.endsWith(".html")) inputs.push(["the results file", join(dir, e.name)]);
      }
    } catch {
      // A missing or unreadable results folder is reported by loadResults, with what to do.
    }
  }
  await checkOutputNotInput(path, "--out", inputs);
}

export async function writeReport(
  resultsDir: string,
  outPath?: string,
  opts: { compare?: string[] } = {},
): Promise<ReportSummary> {
  const t0 = performance.now();
  const path = outPath ?? join(resultsDir, "report.html");
  await checkReportOutput(path, resultsDir, opts.compare ?? []);
  const bundle = await loadResults(resultsDir);
  const compare = await Promise.all((opts.compare ?? []).map((d) => loadResults(d)));
  const { html, charts, tables, notes, files } = await buildReportHtml(bundle, {
    compare,
    tablesDir: reportTablesDir(path),
  });
  await writeFileAtomic(path, html);
  const tableFiles = await writeReportTables(path, files);
  return {
    path,
    tableFiles: tableFiles.map((f) => relative(dirname(path), f)),
    bytes: new TextEncoder().encode(html).length,
    charts,
    tables,
    seconds: (performance.now() - t0) / 1000,
    notes,
  };
}
