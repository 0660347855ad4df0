/**
 * The k-sparse table (declared in lib/formats/ksparse.ts), its chart and report section, and notebook 08: rows
 * written from real k-sparse probes read back; the chart has a panel per codec, a line per feature and the
 * reference rule; the report renders the section from fixture data and says so in a sentence when the table is
 * absent; the notebook executes on a fixture results directory.
 */
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "node:path";
import pl from "nodejs-polars";
import { matrix } from "../lib/common/matrix.ts";
import { Rng } from "../lib/common/random.ts";
import {
  KSPARSE_TABLE,
  ksparseFrame,
  type KSparseRow,
  type KSparseSetting,
  ksparseSettingOf,
  readKSparse,
  writeKSparse,
} from "../lib/formats/ksparse.ts";
import { type ResultRow, tableFrame } from "../lib/formats/results.ts";
import { ksparseChart, ksparseRows, renderSvg } from "../lib/plots/mod.ts";
import { kSparseOutcomes, kSparseProbes, kSparseTableRows } from "../lib/probe/mod.ts";
import {
  ksparseAbsent,
  ksparseTable,
  latentsNeededTable,
  READING_KSPARSE,
  writeReport,
} from "../lib/report/mod.ts";
import { fixtureFrames, writeFixtureResults } from "../testdata/results_fixture.ts";
import { skipWithout } from "./tools.ts";

const SETTING: KSparseSetting = {
  dataset: "synthetic",
  codec: "lyra-3.2kbps",
  task: "us-vs-uk",
  pooling: "mean",
  probe_protocol: "split",
  probe_folds: 1,
  sae_input: "utterance",
  q: 2,
  s: 0.05,
  seed: 0,
  feature: "z",
  f1_ref: 0.8,
  n_test: 60,
  cell_key: "abc123",
  codec_family: "lyra",
  bitrate_kbps: 3.2,
};

/** k-sparse probes on planted data (columns 3 and 8 carry the label): the table rows of a real run. */
function realRows(): KSparseRow[] {
  const rng = new Rng(1), n = 120, d = 24;
  const x = matrix(n, d), y = Int32Array.from({ length: n }, (_, i) => i % 2);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) x.data[i * d + j] = rng.normal() + ((j === 3 || j === 8) ? 1.5 * y[i] : 0);
  }
  const result = kSparseProbes(x, { y, testFold: Int32Array.from(y, (_, i) => (i < 60 ? -1 : 0)), folds: 1 });
  // Through the JSON form a cached cell keeps.
  const outcomes = JSON.parse(JSON.stringify(kSparseOutcomes(result)));
  return kSparseTableRows(
    outcomes,
    SETTING,
    (p) => ({ low: Math.max(0, p.f1 - 0.1), high: Math.min(1, p.f1 + 0.1) }),
  );
}

Deno.test("k-sparse table: rows from real probes are written (Parquet + CSV) and read back alike", async () => {
  const rows = realRows();
  assertEquals(rows.map((r) => [r.k, r.all_latents]), [[1, false], [2, false], [5, false], [10, false], [
    20,
    false,
  ], [24, true]]);
  assertEquals(rows[1].latents.split(" ").map(Number).sort(), [3, 8]);
  assertEquals(rows.at(-1)!.latents, "");
  const dir = await Deno.makeTempDir({ prefix: "nac-sae-ksparse-" });
  try {
    assertEquals(await readKSparse(dir), null);
    const paths = await writeKSparse(dir, rows);
    assertEquals(paths, [join(dir, "ksparse.parquet"), join(dir, "ksparse.csv")]);
    const fromParquet = await readKSparse(dir);
    await Deno.remove(paths[0]);
    const fromCsv = await readKSparse(dir);
    for (const df of [fromParquet!, fromCsv!]) {
      assertEquals(df.height, rows.length);
      assertEquals(df.columns, KSPARSE_TABLE.map((c) => c.name));
      const back = df.toRecords() as Record<string, unknown>[];
      assertEquals(back.map((r) => r.k), rows.map((r) => r.k));
      back.forEach((r, i) => assertAlmostEquals(r.f1 as number, rows[i].f1, 1e-12));
      // A single latent index stays text (CSV would otherwise read "3" as a number).
      assertEquals(String(back[0].latents), rows[0].latents);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("k-sparse table: bad rows and tables are errors naming the row, column or file", async () => {
  const row = realRows()[0];
  assertThrows(
    () => ksparseFrame([{ ...row, latents: "3 8" }]),
    Error,
    "2 latent indices in 'latents'; expected 1",
  );
  assertThrows(() => ksparseFrame([{ ...row, f1: 1.5 }]), Error, "f1 = 1.5");
  assertThrows(() => ksparseFrame([{ ...row, k: 0 }]), Error, "k must be a positive integer");
  assertThrows(() => ksparseFrame([{ ...row, all_latents: true }]), Error, "expected none (all latents)");
  const dir = await Deno.makeTempDir({ prefix: "nac-sae-ksparse-" });
  try {
    pl.DataFrame({ codec: ["x"], k: [1] }).writeCSV(join(dir, "ksparse.csv"));
    await assertRejects(() => readKSparse(dir), Error, "ksparse.csv: missing column(s) dataset");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("k-sparse setting of a results row: its columns, sae_input 'utterance' until the results carry it", () => {
  const row = fixtureFrames().results.toRecords().find((r) => r.feature === "z") as unknown as ResultRow;
  const setting = ksparseSettingOf(row);
  assertEquals(
    Object.keys(setting).sort(),
    KSPARSE_TABLE.map((c) => c.name).filter((c) =>
      !["k", "all_latents", "f1", "f1_low", "f1_high", "latents"].includes(c)
    ).sort(),
  );
  assertEquals([setting.cell_key, setting.q, setting.f1_ref], [row.cell_key, row.q, row.f1_ref]);
  assertEquals(setting.sae_input, "utterance");
  assertEquals(ksparseSettingOf({ ...row, sae_input: "frames" } as ResultRow).sae_input, "frames");
});

const ks = fixtureFrames({ ksparse: true }).ksparse!;

Deno.test("k-sparse chart: a panel per codec, a line per feature, x = 1 … 20, all; the reference as a rule", async () => {
  const spec = ksparseChart(ks, { task: "us-vs-uk" });
  const facet = spec.facet as Record<string, { field: string; sort?: string[] }>;
  assertEquals(facet.column.field, "codec");
  assertEquals(facet.column.sort, ["lyra-3.2kbps", "lyra-6kbps", "lyra-9.2kbps"]);
  assertEquals(facet.row, undefined); // one protocol
  const layer =
    (spec.spec as { layer: { mark: { type: string }; encoding: Record<string, { sort?: string[] }> }[] })
      .layer;
  assertEquals(layer.map((l) => l.mark.type), ["area", "line", "rule"]);
  // z_mag has as few as 4 columns (s = 5 %, d = 64): a size capped at the column count is its "all" point.
  assertEquals(layer[1].encoding.x.sort, ["1", "2", "5", "10", "20", "all"]);
  const svg = await renderSvg(spec);
  assertEquals((svg.match(/class="mark-line role-mark/g) ?? []).length, 9);
  assertEquals((svg.match(/class="mark-rule role-mark/g) ?? []).length, 3);
  for (const label of ["z (full)", "position (z_pos)", "magnitude (z_mag)", ">all<"]) {
    assert(svg.includes(label), label);
  }
  assert(!svg.includes("NaN"));
});

Deno.test("k-sparse chart rows: mean over configurations with their range; one configuration with its interval", () => {
  const rows = ksparseRows(ks, { task: "us-vs-uk", codecs: ["lyra-6kbps"] });
  const z1 = rows.find((r) => r.feature === "z" && r.k_label === "1")!;
  const src = (ks.toRecords() as Record<string, unknown>[]).filter((r) =>
    r.task === "us-vs-uk" && r.codec === "lyra-6kbps" && r.feature === "z" && r.k === 1
  ).map((r) => (r.f1 as number) * 100);
  assertEquals(src.length, 16);
  assertAlmostEquals(z1.f1_pct as number, src.reduce((a, b) => a + b) / 16, 0.01);
  assertAlmostEquals(z1.lo_pct as number, Math.min(...src), 0.01);
  assertEquals(z1.band, "range over configurations");
  // One configuration and a written interval: the band is that interval.
  const one = tableFrame(KSPARSE_TABLE, realRows());
  const r1 = ksparseRows(one, { task: "us-vs-uk" }).find((r) => r.k_label === "1")!;
  assertEquals(r1.band, "interval over test speakers");
  assertThrows(() => ksparseRows(ks, { task: "us-vs-uk", q: 3 }), Error, "no rows for task 'us-vs-uk'");
  assertThrows(() => ksparseRows(ks, { task: "us-vs-non-us-uk" }), Error, "pass { dataset }");
});

Deno.test("k-sparse tables: F1 per k for z, and the latents needed to reach the full probe", () => {
  const t = ksparseTable(ks, { feature: "z", q: [2, 20] });
  assertEquals(t.columns.slice(0, 12), [
    "dataset",
    "task",
    "protocol",
    "codec",
    "q",
    "s",
    "k=1",
    "k=2",
    "k=5",
    "k=10",
    "k=20",
    "all",
  ]);
  assertEquals([...new Set(t.getColumn("q").toArray())], [2, 20]);
  assertEquals(t.height, 3 * 3 * 2 * 4); // settings × codecs × q × s
  assertEquals(t.getColumn("protocol").toArray()[0], "mean, split");
  // Intervals over test speakers in the table: each cell reads "F1 [low, high]".
  const real = realRows();
  const withIv = ksparseTable(ksparseFrame(real)).toRecords()[0];
  const p = (v: number) => (v * 100).toFixed(1);
  assertEquals(withIv["k=1"], `${p(real[0].f1)} [${p(real[0].f1_low!)}, ${p(real[0].f1_high!)}]`);
  assertEquals(withIv.all, `${p(real[5].f1)} [${p(real[5].f1_low!)}, ${p(real[5].f1_high!)}]`);
  // Hand-made probes: F1 0.6, 0.7, 0.79 at k = 1, 2, 5 and 0.8 at all: k = 5 is the first within 2 points.
  const base = realRows()[0];
  const rows = [[1, 0.6], [2, 0.7], [5, 0.79], [24, 0.8]].map(([k, f1], i, a): KSparseRow => ({
    ...base,
    k,
    f1,
    all_latents: i === a.length - 1,
    latents: i === a.length - 1 ? "" : Array.from({ length: k }, (_, j) => j).join(" "),
  }));
  const needed = latentsNeededTable(ksparseFrame(rows)).toRecords()[0];
  assertEquals(needed["latents needed (median)"], 5);
  assertEquals(needed["F1 at k=1 (%)"], 60);
  assertEquals(needed["F1 all latents (%)"], 80);
  assertEquals(
    latentsNeededTable(ksparseFrame(rows), { tolerance: 0.15 }).toRecords()[0]["latents needed (median)"],
    2,
  );
});

Deno.test("report: the k-sparse section renders from the table (charts per task, tables); skipped with a sentence without it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nac-sae-ksparse-report-" });
  try {
    await writeFixtureResults(dir, { ksparse: true });
    const summary = await writeReport(dir);
    // The report's own 11 charts and 10 tables, plus one chart per (task, dataset) setting and two tables.
    assertEquals([summary.charts, summary.tables, summary.notes], [14, 12, []]);
    const html = await Deno.readTextFile(summary.path);
    assert(html.includes("<h2>How many latents carry the attribute? k-sparse probing</h2>"));
    assert(html.includes(READING_KSPARSE.slice(0, 60)));
    for (const t of ["How many latents carry US vs UK?", "How many latents carry US vs Non-US-UK?"]) {
      assert(html.includes(t), t);
    }
    assert(html.includes("k-sparse probe F1 (%) on z at q = 2 and 20"));
    assertEquals((html.match(/<svg /g) ?? []).length, summary.charts);

    for (const ext of ["parquet", "csv"]) await Deno.remove(join(dir, `ksparse.${ext}`));
    const without = await writeReport(dir);
    assertEquals([without.charts, without.tables, without.notes], [11, 10, []]);
    const page = await Deno.readTextFile(without.path);
    assert(page.includes("<h2>How many latents carry the attribute? k-sparse probing</h2>"));
    assert(page.includes(ksparseAbsent(dir).slice(0, 40)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const hasNbconvert =
  new Deno.Command("sh", { args: ["-c", "command -v jupyter-nbconvert"], stdout: "null" }).outputSync()
    .success;

Deno.test({
  name: "notebook 08 executes on a results directory with a k-sparse table: its table, charts and z table",
  ignore: skipWithout(import.meta.url, "jupyter-nbconvert", !hasNbconvert),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-nb08-" });
    try {
      const results = join(dir, "results"), reports = join(dir, "reports");
      await writeFixtureResults(results, { ksparse: true });
      const run = await new Deno.Command("bash", {
        args: ["tools/run_notebooks.sh", "notebooks/08_ksparse.ipynb"],
        env: { NAC_SAE_RESULTS: results, NAC_SAE_REPORTS: reports },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(run.stderr);
      assert(run.code === 0 && log.includes("notebooks: 1 ok, 0 failed"), log);
      const nb = JSON.parse(await Deno.readTextFile(join(reports, "08_ksparse.ipynb")));
      const outs = nb.cells.flatMap((
        c: { outputs?: { output_type: string; data?: Record<string, unknown> }[] },
      ) => c.outputs ?? []);
      assertEquals(outs.filter((o: { output_type: string }) => o.output_type === "error").length, 0);
      const charts = outs.filter((o: { data?: Record<string, unknown> }) =>
        o.data?.["application/vnd.vegalite.v5+json"]
      );
      assertEquals(charts.length, 3); // one per (task, dataset) setting of the fixture
      const tables = outs.filter((o: { data?: Record<string, unknown> }) =>
        [o.data?.["text/html"] ?? ""].flat().join("").startsWith("<table")
      );
      assertEquals(tables.length, 2);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
