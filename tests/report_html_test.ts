import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import pl from "nodejs-polars";
import { loadResults, writeReport } from "../lib/report/mod.ts";
import { datasetCaveats, runSummaryTable } from "../lib/report/report.ts";
import { SAA_CAVEAT } from "../lib/data/saa.ts";
import { type FixtureOptions, writeFixtureResults } from "../testdata/results_fixture.ts";

async function fixtureDir(seeds = [0], opts: FixtureOptions = {}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "nac-sae-report-" });
  await writeFixtureResults(dir, { seeds, ...opts });
  return dir;
}

Deno.test("writeReport: one self-contained HTML page with the paper's tables, charts as inline SVG, config and timings", async () => {
  const dir = await fixtureDir();
  try {
    const summary = await writeReport(dir);
    assertEquals(summary.path, join(dir, "report.html"));
    // Reference vs chance + Figs 2/3 (3 settings) + z_pos/z_mag (2) + Fig 4 + interval charts (3) + curves.
    assertEquals(summary.charts, 11);
    // Run, reference vs chance, Table 1, claims, codec differences, Table 2, Table 3 (×1), SAE fit (×3 settings).
    assertEquals(summary.tables, 10);
    assertEquals(summary.notes, []);
    const html = await Deno.readTextFile(summary.path);
    assertEquals((html.match(/<svg /g) ?? []).length, summary.charts);
    assertEquals((html.match(/<table /g) ?? []).length, summary.tables);
    const has = (s: string) => assert(html.includes(s), `report lacks ${s}`);
    for (
      const h of [
        "Findings",
        "Table 1",
        "Is the reference above chance?",
        "Paper claims on this run",
        "ΔF1 differences between codecs",
        "Figures 2 and 3",
        "Table 2",
        "Figure 4",
        "Table 3",
        "SAE training",
        "Run config",
      ]
    ) {
      has(`<h2>${h}`);
    }
    has("How to read ΔF1");
    for (const claim of ["(1) sparsity trend", "(2) position vs magnitude", "(3) bitrate"]) has(claim);
    has("bootstrap over 40 test speakers, one seed"); // claims say how their intervals were computed
    has("ΔF1 (%) with 95 % intervals over test speakers (one seed)");
    has(`&quot;deno&quot;: &quot;${Deno.version.deno}&quot;`); // environment from run_info.json
    has("sae_seconds_total"); // stage timings
    has(">SAE epochs</td>"); // the epoch rule is visible
    has(">fixed 5</td>");
    // Self-contained: no scripts, stylesheets, images or anything fetched; only XML namespace URIs mention http.
    for (const bad of ["<script", "<link", "<img", "src=", "<iframe"]) assert(!html.includes(bad), bad);
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<)]+/g)].map((m) => m[0]);
    assertEquals(urls.filter((u) => !u.startsWith("http://www.w3.org/")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeReport: several seeds give interval charts over seeds; CSV-only results are read too", async () => {
  const dir = await fixtureDir([0, 1, 2]);
  try {
    for (const t of ["results", "density", "curves"]) await Deno.remove(join(dir, `${t}.parquet`));
    const out = join(dir, "sub", "r.html");
    const summary = await writeReport(dir, out);
    assertEquals(summary.path, out);
    assert((await Deno.readTextFile(out)).includes("95 % intervals over test speakers × seeds"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report sections whose data is missing say so in the page instead of vanishing", async () => {
  const dir = await fixtureDir();
  try {
    await Deno.remove(join(dir, "density.parquet"));
    await Deno.remove(join(dir, "density.csv"));
    const summary = await writeReport(dir);
    assertEquals(summary.notes.length, 1);
    assertStringIncludes(summary.notes[0], "no density.parquet or density.csv");
    assert(
      (await Deno.readTextFile(summary.path)).includes(
        "Figure 4 — activation density over latent-index groups (q = 2, s = 5 %): not shown",
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadResults: clear errors for a missing directory, a directory without results, missing columns", async () => {
  await assertRejects(() => loadResults("/nonexistent/results"), Error, "does not exist");
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(() => loadResults(dir), Error, "no results.parquet or results.csv");
    await Deno.writeTextFile(join(dir, "results.csv"), "dataset,codec\nx,y\n");
    await assertRejects(() => loadResults(dir), Error, "missing column(s) task, q, s");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI: `report --results DIR --json` prints the summary as the last stdout line; `report DIR` works", async () => {
  const dir = await fixtureDir();
  try {
    const run = (...args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "lib/cli/main.ts", "report", ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const ok = await run("--results", dir, "--json");
    assertEquals(ok.code, 0, new TextDecoder().decode(ok.stderr));
    const lines = new TextDecoder().decode(ok.stdout).trim().split("\n");
    const summary = JSON.parse(lines.at(-1)!);
    assertEquals(summary.charts, 11);
    assertStringIncludes(lines[0], "report.html");
    const positional = await run(dir, "--out", join(dir, "p.html"));
    assertEquals(positional.code, 0);
    const missing = await run("--results", join(dir, "nope"));
    assertEquals(missing.code, 1);
    assertStringIncludes(new TextDecoder().decode(missing.stderr), "does not exist");
    assertEquals((await run()).code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeReport --compare: the same data under another protocol, side by side, each number labelled", async () => {
  const dir = await fixtureDir();
  const other = await fixtureDir();
  try {
    // The second run as if made with statistics pooling and 5-fold probes.
    const { default: pl } = await import("nodejs-polars");
    const res = pl.readParquet(join(other, "results.parquet")).withColumns(
      pl.lit("mean+std").alias("pooling"),
      pl.lit("kfold").alias("probe_protocol"),
      pl.lit(5).cast(pl.Int32).alias("probe_folds"),
    );
    res.writeParquet(join(other, "results.parquet"));
    await Deno.remove(join(other, "results.csv"));
    const summary = await writeReport(dir, undefined, { compare: [other] });
    const html = await Deno.readTextFile(summary.path);
    for (const label of [">mean, split<", ">mean+std, 5-fold<"]) assert(html.includes(label), label);
    // The claims table appears once, holding both protocols (it used to be shown twice).
    assertEquals(
      html.split("The paper&#39;s three claims").length + html.split("The paper's three claims").length - 2,
      1,
    );
    assert(
      html.includes("5-fold cross-validation (u = mean+std of ê over time; the folds mix test speakers"),
    );
    assertEquals(summary.notes, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});

Deno.test("report: results on the Speech Accent Archive carry its caveats (8 kHz audio, …); other data none", () => {
  const saa = pl.DataFrame({ dataset: ["saa", "saa"], codec: ["lyra-3.2kbps", "lyra-6kbps"] });
  assertEquals(datasetCaveats(saa), [{ name: "Speech Accent Archive", caveat: SAA_CAVEAT }]);
  assertStringIncludes(datasetCaveats(saa)[0].caveat, "8 kHz");
  assertEquals(datasetCaveats(pl.DataFrame({ dataset: ["fsdd"], codec: ["lyra-3.2kbps"] })), []);
  // The kind of data comes from the manifest (results column dataset_kind), not the name the config gave it.
  const holdout = pl.DataFrame({ dataset: ["saa-holdout"], dataset_kind: ["saa"], codec: ["lyra-6kbps"] });
  assertEquals(datasetCaveats(holdout).map((c) => c.name), ["Speech Accent Archive"]);
  const renamed = pl.DataFrame({ dataset: ["saa"], dataset_kind: ["fsdd"], codec: ["lyra-6kbps"] });
  assertEquals(datasetCaveats(renamed), []);
});

Deno.test("report: the run table (the report's and every notebook's first table) lists the data's caveats", async () => {
  const dir = await fixtureDir();
  try {
    const bundle = await loadResults(dir);
    const saa = { ...bundle, results: bundle.results.withColumn(pl.lit("saa").alias("dataset_kind")) };
    const rows = runSummaryTable(saa).toRecords() as Record<string, unknown>[];
    assert(rows.some((r) => Object.values(r).some((v) => String(v).includes("8 kHz"))), JSON.stringify(rows));
    const plain = runSummaryTable(bundle).toRecords() as Record<string, unknown>[];
    assert(!plain.some((r) => Object.values(r).some((v) => String(v).includes("8 kHz"))));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report answers first: Findings per task and protocol from the run, tables written beside it as CSV and Parquet", async () => {
  const dir = await fixtureDir([0, 1], { weakTasks: ["us-vs-uk"], oneClass: ["z_mag"], speakers: 30 });
  try {
    const summary = await writeReport(dir);
    const html = await Deno.readTextFile(summary.path);
    // Findings come first, before every table.
    assert(html.indexOf("<h2>Findings") < html.indexOf("<table "));
    const findings = html.slice(html.indexOf("<h2>Findings"), html.indexOf("</section>"));
    assertStringIncludes(findings, "US vs UK — synthetic, the paper's protocol");
    assertStringIncludes(findings, "not above chance and the majority-class baseline at any codec");
    assertStringIncludes(findings, "US vs Non-US-UK — fsdd");
    assertStringIncludes(
      findings,
      "Reference F1 on u is above chance and the majority baseline at lyra-3.2kbps",
    );
    for (const v of ["holds", "does not hold", "inconclusive"]) {
      assert(findings.includes(`>${v}</b>`) || v === "holds", v);
    }
    assertStringIncludes(findings, "pp from flipping");
    assertStringIncludes(findings, "probes answering a single class for every test recording");
    assertStringIncludes(findings, "z_mag 96 of 96");
    assertStringIncludes(findings, "bootstrap over test speakers");
    // The Data paragraph names this run's data, not a fixed default.
    assert(!html.includes("FSDD and a synthetic eSpeak-accent corpus"));
    assertStringIncludes(html, "dataset 'fsdd' — the Free Spoken Digit Dataset");
    // Every table beside the report, as CSV and Parquet, linked from its caption.
    const names = ["claims", "reference_vs_chance", "codec_differences", "sae_fit", "table1_reference_f1"];
    for (const name of names) {
      for (const ext of ["csv", "parquet"]) {
        assert(summary.tableFiles.includes(`report-tables/${name}.${ext}`), `${name}.${ext}`);
      }
      const csv = pl.readCSV(join(dir, "report-tables", `${name}.csv`));
      const parquet = pl.readParquet(join(dir, "report-tables", `${name}.parquet`));
      assertEquals([csv.height, csv.columns], [parquet.height, parquet.columns], name);
    }
    assertStringIncludes(html, 'href="report-tables/claims.csv"');
    const claims = pl.readCSV(join(dir, "report-tables", "claims.csv"));
    for (const c of ["method", "to_flip_pp", "n", "caveats", "numbers"]) {
      assert(claims.columns.includes(c), c);
    }
    // Greyed cells and the words that say why.
    assertStringIncludes(html, "grey = not evidence");
    assert(html.includes('class="num muted"'));
    // Training curves carry a caption explaining the two losses.
    assertStringIncludes(html, "validation = the MSE of the current weights on validation half 1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report on old results (no predictions): seed-only intervals, and it says so; one codec: no empty codec table", async () => {
  const dir = await fixtureDir([0, 1], { predictions: false, codecs: ["lyra-6kbps"] });
  try {
    const summary = await writeReport(dir);
    const html = await Deno.readTextFile(summary.path);
    assertStringIncludes(html, "These results carry no predictions");
    assertStringIncludes(
      html,
      "t-interval over 2 seeds; no predictions saved, so test speakers are not resampled",
    );
    assertStringIncludes(html, "95 % intervals over seeds");
    assertStringIncludes(html, "every setting of this run has a single codec");
    const section = html.slice(html.indexOf("<h2>ΔF1 differences between codecs"));
    assert(
      section.indexOf("<table ") > section.indexOf("<h2>", 5),
      "no table under the codec-differences heading",
    );
    assertEquals(summary.notes.length, 1);
    assertStringIncludes(summary.notes[0], "Table 3 — bitrate variants: not shown");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report on results as the experiment stage writes them before issue 21 (no predictions, no new columns)", async () => {
  const dir = await fixtureDir([0], { predictions: false, newColumns: false });
  try {
    const summary = await writeReport(dir);
    assertEquals(summary.notes, []);
    const html = await Deno.readTextFile(summary.path);
    assertStringIncludes(html, "These results carry no predictions");
    // n from the totals the results hold; the majority baseline unknown rather than invented.
    assertStringIncludes(html, "probe training 80, test ");
    const validity = pl.readCSV(join(dir, "report-tables", "reference_vs_chance.csv"));
    assertEquals(new Set(validity.getColumn("above_majority").toArray()), new Set(["unknown"]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report: the data's kind comes from the manifest the run config names, not the dataset's name", async () => {
  const dir = await fixtureDir([0], {
    settings: [{ dataset: "saa-holdout", task: "us-vs-uk" }],
    newColumns: false,
    predictions: false,
  });
  try {
    await Deno.writeTextFile(
      join(dir, "manifest.csv"),
      "utterance_id,path,dataset,speaker_id,accent_narrow,accent_broad,split\na,a.wav,saa,s1,England,British Isles,test\n",
    );
    await Deno.writeTextFile(
      join(dir, "run_config.json"),
      JSON.stringify({
        name: "fixture",
        datasets: [{ name: "saa-holdout", manifest: join(dir, "manifest.csv") }],
      }),
    );
    const bundle = await loadResults(dir);
    assertEquals(new Set(bundle.results.getColumn("dataset_kind").toArray()), new Set(["saa"]));
    const rows = runSummaryTable(bundle).toRecords() as Record<string, unknown>[];
    assert(rows.some((r) => String(r.value).includes("8 kHz")), JSON.stringify(rows));
    // Without a readable manifest the dataset's name stands in (and names no SAA caveat here).
    await Deno.remove(join(dir, "manifest.csv"));
    const renamed = await loadResults(dir);
    assertEquals(new Set(renamed.results.getColumn("dataset_kind").toArray()), new Set(["saa-holdout"]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report tables: a folder per report file (<name>-tables), tables an earlier report wrote and this one does not removed", async () => {
  const dir = await fixtureDir([0]);
  try {
    const first = await writeReport(dir);
    assert(first.tableFiles.includes("report-tables/codec_differences.csv"));
    await Deno.writeTextFile(join(dir, "report-tables", "old_table.csv"), "a\n1\n");
    const other = await writeReport(dir, join(dir, "p.html"));
    assert(other.tableFiles.every((f) => f.startsWith("p-tables/")), JSON.stringify(other.tableFiles));
    assertStringIncludes(await Deno.readTextFile(join(dir, "p.html")), 'href="p-tables/claims.csv"');
    await writeReport(dir);
    assertEquals(await Deno.stat(join(dir, "report-tables", "old_table.csv")).catch(() => null), null);
    assert((await Deno.stat(join(dir, "p-tables", "claims.csv"))).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
