/**
 * One self-contained HTML report from a results directory: the paper's tables and figures (charts as inline
 * SVG, no scripts or external files), the SAE fit, the run config, environment and timings. No Jupyter needed.
 */
import pl from "nodejs-polars";
import { join } from "node:path";
import { checkOutputNotInput, checkOutputPath, writeFileAtomic } from "../common/fs.ts";
import { SAA_CAVEAT } from "../data/saa.ts";
import {
  deltaF1Chart,
  deltaF1SeedChart,
  densityChart,
  distinct,
  records,
  renderSvg,
  taskLabel,
  taskSettings,
  trainingCurvesChart,
  type VegaLiteSpec,
  where,
} from "../plots/mod.ts";
import { escapeHtml, tableHtml } from "./html.ts";
import { latentsReportSection } from "./latents.ts";
import { loadResults, requireTable, type ResultsBundle } from "./results.ts";
import { bitrateFamilies, defaultTask, saeMetricsTable, table1, table2, table3 } from "./tables.ts";
import { claimsTable, codecDifferences, referenceValidity } from "./claims.ts";
import { KSPARSE_SECTION_TITLE, ksparseSection } from "./ksparse.ts";

export const READING_CLAIMS =
  "Each claim is a contrast D in ΔF1 percentage points with a 95 % t-interval over replicates: the seeds when " +
  "the run has several, else the configurations it is paired over (one seed). holds = the interval lies on " +
  "the paper's side of 0; does not hold = on the other side; inconclusive = it contains 0. Caveats name cells " +
  "with untrained SAEs and references not clearly above chance: a claim read there is not evidence.";

export const READING_DELTA_F1 =
  "ΔF1 = F1(probe on SAE features) − F1(probe on u), in percentage points. Higher (less negative) means " +
  "more interpretable: the accent information u carries survives in a few sparse SAE latents. 0 means the " +
  "sparse features keep all of it; positive values mean the sparse basis helps the linear probe.";

export const PAPER_DIFFERENCE =
  "The paper measures EnCodec (1.5/6/12 kbps), DAC, Mimi and SpeechTokenizer on Vox-Profile (11 corpora, " +
  "self-reported accents). The numbers here come only from the datasets and codecs listed in this run " +
  "(by default Lyra v2 at 3.2/6/9.2 kbps on FSDD and a synthetic eSpeak-accent corpus), so they are not " +
  "comparable to the paper's values — compare codecs and configurations within this run.";

export interface ReportSummary {
  path: string;
  bytes: number;
  charts: number;
  tables: number;
  seconds: number;
  /** Sections left out and why (e.g. no density table). */
  notes: string[];
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

class Page {
  parts: string[] = [];
  charts = 0;
  tables = 0;
  notes: string[] = [];
  h2(text: string) {
    this.parts.push(`<h2>${escapeHtml(text)}</h2>`);
  }
  p(text: string) {
    this.parts.push(`<p>${escapeHtml(text)}</p>`);
  }
  table(df: pl.DataFrame, caption: string, note?: string) {
    this.parts.push(`<div class="table">${tableHtml(df, { caption, note })}</div>`);
    this.tables++;
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

/** The caveats of the datasets in the results that carry one (SAA: 8 kHz audio, one paragraph per speaker, …). */
export function datasetCaveats(results: pl.DataFrame): { name: string; caveat: string }[] {
  const names = new Set(results.getColumn("dataset").toArray().map(String));
  return names.has("saa") ? [{ name: "Speech Accent Archive", caveat: SAA_CAVEAT }] : [];
}

const CSS =
  `body{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
figure.chart{margin:1em 0;overflow-x:auto}div.table{overflow-x:auto;margin:1em 0}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:12px}.missing{color:#a40000}
.reading{background:#f3f7ff;border-left:4px solid #4c78a8;padding:.5em 1em}`;

/** The reading notes, the run, the reference against chance (per protocol with `compare`), claims, codec pairs. */
async function referenceSections(page: Page, bundle: ResultsBundle, compare: ResultsBundle[]): Promise<void> {
  const { results } = bundle;
  page.parts.push(
    `<div class="reading"><p><b>How to read ΔF1.</b> ${escapeHtml(READING_DELTA_F1)}</p>` +
      `<p><b>Data.</b> ${escapeHtml(PAPER_DIFFERENCE)}</p>` +
      datasetCaveats(results).map((c) => `<p><b>${escapeHtml(c.name)}.</b> ${escapeHtml(c.caveat)}</p>`).join(
        "",
      ) +
      "</div>",
  );
  await page.section("Run", () => page.table(runSummaryTable(bundle), "What these results hold"));
  await page.section(
    "Table 1 — reference macro-F1 (%) of a probe on u",
    () =>
      page.table(
        table1(results),
        "Reference macro-F1 (%) per codec (columns) and task (rows)",
        "Probe on u = mean of ê over time; higher is better.",
      ),
  );
  await page.section(
    "Is the reference above chance? Reference F1 (%) and the label-permuted chance level",
    () =>
      page.table(
        referenceValidity(results),
        "Reference macro-F1 on u with its 95 % bootstrap interval, and the F1 of label-permuted probes (mean, 2.5–97.5 %)",
        "above_chance = NO: the reference's interval reaches into the chance range — ΔF1 on that task and codec " +
          "measures noise, not lost accent information.",
      ),
  );
  if (compare.length > 0) {
    // Runs of the same data under other protocols (e.g. the paper's and the best-powered one), side by side.
    const all = pl.concat([results, ...compare.map((b) => b.results)], { how: "diagonal" });
    await page.section("Protocols side by side", () => {
      page.p(
        `This run and ${compare.map((b) => b.dir).join(", ")}: the same data under each probe protocol ` +
          '("mean, split" = the paper\'s mean pooling and fixed split). Every number names the protocol that ' +
          "produced it.",
      );
      page.table(
        referenceValidity(all),
        "Reference macro-F1 (%) against label-permuted chance, per protocol",
      );
      page.table(claimsTable(all), "The paper's claims per protocol");
    });
  }
  await page.section("Paper claims on this run's data", () => {
    page.p(READING_CLAIMS);
    page.table(
      claimsTable(results),
      "The paper's three claims: holds / does not hold / inconclusive, with the numbers",
    );
  });
  await page.section("ΔF1 differences between codecs", () =>
    page.table(
      codecDifferences(results),
      "Mean ΔF1 (%) on z over the grid, per pair of codecs, with the 95 % interval of the difference",
      "within intervals: the ranking of that pair is not supported by these results.",
    ));
}

/** The paper's figures and tables 2 and 3 (task2: the task of the single-task ones), then the intervals. */
async function figureSections(
  page: Page,
  bundle: ResultsBundle,
  task2: string,
  settings: ReturnType<typeof taskSettings>,
): Promise<void> {
  const { results } = bundle;
  const rows = records(results, ["seed", "feature", "q", "s"], "results");
  const multiSeed = distinct(rows, "seed").length > 1;
  await page.section("Figures 2 and 3 — ΔF1 (%) on z across q and s", async () => {
    for (const s of settings) await page.chart(deltaF1Chart(results, { ...s, feature: "z" }));
  });
  await page.section(
    `Table 2 — position vs magnitude at s = 5 % (${taskLabel(task2)})`,
    () =>
      page.table(
        table2(results, { task: task2 }),
        `ΔF1 (%) at s = 5 %, ${taskLabel(task2)}`,
        "Rows per codec: full z, position-only z_pos (which latents fire), magnitude-only z_mag (sorted top-k values).",
      ),
  );
  await page.section("ΔF1 (%) of position-only and magnitude-only features", async () => {
    for (const feature of ["z_pos", "z_mag"]) {
      if (where(rows, { feature }).length === 0) continue;
      for (const s of settings.filter((x) => x.task === task2)) {
        await page.chart(deltaF1Chart(results, { ...s, feature }));
      }
    }
  });
  await page.section("Figure 4 — activation density over latent-index groups (q = 2, s = 5 %)", async () => {
    await page.chart(densityChart(requireTable(bundle, "density"), { q: 2, s: 0.05, task: task2, results }));
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
      );
    }
  });
  const hasBootstrap = results.columns.includes("delta_f1_low") &&
    records(results, ["delta_f1_low"], "results").some((r) => typeof r.delta_f1_low === "number");
  if (multiSeed || hasBootstrap) {
    await page.section(
      multiSeed
        ? "ΔF1 (%) with 95 % intervals over seeds"
        : "ΔF1 (%) with 95 % bootstrap intervals over scored utterances (one seed)",
      async () => {
        for (const s of settings) await page.chart(deltaF1SeedChart(results, { ...s, feature: "z" }));
      },
    );
  }
}

/** SAE training, latents and steering, the run config and the environment. */
async function runSections(page: Page, bundle: ResultsBundle, task2: string): Promise<void> {
  const { results } = bundle;
  await page.section("SAE training", async () => {
    await page.chart(trainingCurvesChart(requireTable(bundle, "curves"), { task: task2 }));
    page.table(
      saeMetricsTable(results),
      "SAE fit per configuration (seed means)",
      "On the SAE's training rows: NMSE, explained variance and ev_pca_k, the explained variance of PCA with k " +
        "components fitted on those rows (the yardstick: a TopK SAE with d_z ≥ 2k can represent PCA-k); " +
        "sae_trained = seeds whose explained variance ≥ ev_pca_k − 0.02. On held-out rows (test): ev_heldout " +
        "(SAE) and ev_pca_k_heldout (the same PCA); heldout_below_pca_k = seeds generalising worse than PCA-k " +
        "(by more than 0.02). steps = Adam steps (convergent schedule: until the val1 loss stopped improving). " +
        "L0 = active latents per input; dead = latents never active on the training rows.",
    );
  });
  await page.section("Latents and steering", async () => {
    page.parts.push(await latentsReportSection(bundle.dir));
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
  opts: { compare?: ResultsBundle[] } = {},
): Promise<Omit<ReportSummary, "path" | "bytes" | "seconds"> & { html: string }> {
  const { results } = bundle;
  const page = new Page();
  const task2 = defaultTask(results);
  const settings = taskSettings(results);

  await referenceSections(page, bundle, opts.compare ?? []);
  await figureSections(page, bundle, task2, settings);
  await page.section(KSPARSE_SECTION_TITLE, () => ksparseSection(page, bundle.dir));
  await runSections(page, bundle, task2);

  const title = `nac-sae report — ${escapeHtml(String(bundle.runInfo?.name ?? bundle.dir))}`;
  const html = `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title>` +
    `<style>${CSS}</style></head><body>\n<h1>${title}</h1>\n<p>Generated ${new Date().toISOString()} from ` +
    `<code>${escapeHtml(bundle.dir)}</code>.</p>\n${page.parts.join("\n")}\n</body></html>\n`;
  return { html, charts: page.charts, tables: page.tables, notes: page.notes };
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
  const { html, charts, tables, notes } = await buildReportHtml(bundle, { compare });
  await writeFileAtomic(path, html);
  return {
    path,
    bytes: new TextEncoder().encode(html).length,
    charts,
    tables,
    seconds: (performance.now() - t0) / 1000,
    notes,
  };
}
