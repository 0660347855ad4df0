import pl from "nodejs-polars";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  bitrateFamilies,
  defaultTask,
  deltaF1Table,
  probeSummaryTable,
  saeConfigTable,
  saeMetricsTable,
  splitSizesTable,
  table1,
  table2,
  table3,
  tableHtml,
} from "../lib/report/mod.ts";
import { paperGrid } from "../lib/sae/config.ts";
import { fixtureFrames } from "../testdata/results_fixture.ts";

const f = fixtureFrames({ seeds: [0, 1] });
// deno-lint-ignore no-explicit-any
const src = f.results.toRecords() as any[];
const pick = (eq: Record<string, unknown>) =>
  src.filter((r) => Object.entries(eq).every(([k, v]) => r[k] === v));
const meanPct = (rows: { [k: string]: number }[], field: string) =>
  Math.round(rows.reduce((a, r) => a + r[field], 0) / rows.length * 100 * 100) / 100;

Deno.test("Table 1: reference macro-F1 (%) — rows (dataset, task) in paper order, one column per codec", () => {
  const t = table1(f.results);
  assertEquals(t.columns, ["dataset", "task", "lyra-3.2kbps", "lyra-6kbps", "lyra-9.2kbps"]);
  const rows = t.toRecords();
  assertEquals(rows.map((r) => `${r.dataset}|${r.task}`), [
    "fsdd|US vs Non-US-UK",
    "synthetic|US vs UK",
    "synthetic|US vs Non-US-UK",
  ]);
  const ref = pick({ dataset: "synthetic", task: "us-vs-uk", codec: "lyra-6kbps", feature: "u" });
  assertEquals(ref.length, 2); // one per seed, averaged
  assertAlmostEquals(rows[1]["lyra-6kbps"] as number, meanPct(ref, "f1"), 1e-9);
});

Deno.test("Table 2: z / position / magnitude rows per codec, q columns, at s = 5 %", () => {
  assertEquals(defaultTask(f.results), "us-vs-uk");
  const t = table2(f.results);
  assertEquals(t.columns, ["dataset", "codec", "features", "q=2", "q=5", "q=10", "q=20"]);
  assertEquals(t.height, 9);
  const rows = t.toRecords();
  assertEquals(rows.slice(0, 3).map((r) => r.features), ["z (full)", "position", "magnitude"]);
  const cell = pick({ task: "us-vs-uk", codec: "lyra-3.2kbps", feature: "z_pos", q: 10, s: 0.05 });
  assertAlmostEquals(rows[1]["q=10"] as number, meanPct(cell, "delta_f1"), 1e-9);
  assertThrows(() => table2(f.results, { s: 0.3 }), Error, "no rows");
});

Deno.test("Table 3: bitrate variants × s ∈ {5 %, 10 %} columns, q rows", () => {
  assertEquals(bitrateFamilies(f.results), [{
    family: "lyra",
    codecs: ["lyra-3.2kbps", "lyra-6kbps", "lyra-9.2kbps"],
  }]);
  const t = table3(f.results, { family: "lyra" });
  assertEquals(t.columns, [
    "dataset",
    "q",
    "lyra-3.2kbps s=5%",
    "lyra-3.2kbps s=10%",
    "lyra-6kbps s=5%",
    "lyra-6kbps s=10%",
    "lyra-9.2kbps s=5%",
    "lyra-9.2kbps s=10%",
  ]);
  assertEquals(t.getColumn("q").toArray(), [2, 5, 10, 20]);
  const cell = pick({ task: "us-vs-uk", codec: "lyra-9.2kbps", feature: "z", q: 20, s: 0.1 });
  assertAlmostEquals(t.toRecords()[3]["lyra-9.2kbps s=10%"] as number, meanPct(cell, "delta_f1"), 1e-9);
  assertThrows(() => table3(f.results, { family: "encodec" }), Error, "families: lyra");
  const single = fixtureFrames({ codecs: ["lyra-6kbps"] });
  assertThrows(() => table3(single.results), Error, "no codec family");
});

Deno.test("run tables: SAE configs, fit, split sizes, probes, ΔF1 spelled out (nulls stay null)", () => {
  const cfg = saeConfigTable(paperGrid(64));
  assertEquals(cfg.height, 16);
  assertEquals(cfg.getColumn("k").toArray().slice(0, 4), [32, 16, 7, 4]);
  const fit = saeMetricsTable(f.results, { task: "us-vs-uk" });
  assertEquals(fit.height, 3 * 16);
  const fitCols = [
    "ev_pca_k",
    "sae_trained",
    "ev_heldout",
    "ev_pca_k_heldout",
    "heldout_below_pca_k",
    "steps",
  ];
  for (const c of fitCols) assert(fit.columns.includes(c), c);
  assertEquals(new Set(fit.getColumn("sae_trained").toArray()), new Set(["all"]));
  const partly = fixtureFrames({ seeds: [0, 1], untrained: [[2, 0.05]] });
  const flagged = saeMetricsTable(partly.results, { task: "us-vs-uk" }).toRecords()
    .filter((r) => r.sae_trained !== "all");
  assertEquals(flagged.map((r) => [r.q, r.s, r.sae_trained]), [[2, 0.05, "none"], [2, 0.05, "none"], [
    2,
    0.05,
    "none",
  ]]);
  const sizes = splitSizesTable(f.results);
  assertEquals(sizes.height, 9);
  assertEquals(sizes.getColumn("n_test").toArray()[0], pick({ dataset: "fsdd", feature: "u" })[0].n_test);
  const probes = probeSummaryTable(f.results).toRecords();
  assertEquals(probes.slice(0, 4).map((r) => r.feature), ["u", "z", "z_pos", "z_mag"]);
  assertEquals(probes[0].probes, 3 * 2);
  const d = deltaF1Table(f.results, { task: "us-vs-uk", feature: "z" });
  assertEquals(d.columns, ["codec", "q", "s", "k", "d_z", "F1 %", "F1_ref %", "ΔF1 %", "seeds"]);
  assertEquals(d.getColumn("seeds").toArray()[0], 2);
  // Reference rows have no q/k: the fixture keeps them null, not 0.
  assertEquals(pick({ feature: "u" })[0].q, null);
});

Deno.test("HTML table: escaped header and cells, negative values marked, nulls shown as a dash", () => {
  const html = tableHtml(table2(f.results), { caption: "T2 <s=5%>" });
  assertEquals(html.includes("T2 &lt;s=5%&gt;"), true);
  assertEquals((html.match(/<tr>/g) ?? []).length, 1 + 9);
  assertEquals(html.includes('class="num neg"'), true);
  const nulls = tableHtml(pl.DataFrame({ codec: ["a", "b"], nmse: [0.5, null] }));
  assertEquals(nulls.includes('class="na"'), true);
  const small = tableHtml(pl.DataFrame({ lr: [1e-5], eps: [6.25e-10], f1: [81.114] }));
  for (const t of [">0.00001<", ">6.25e-10<", ">81.11<"]) assertEquals(small.includes(t), true, t);
});
