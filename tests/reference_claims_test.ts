/**
 * The numbers the report derives from a results table, recomputed from their definitions on the rows of
 * testdata/results_fixture.ts: the three claims' contrasts D (their sign: A − B as the paper states each
 * claim) with the t-interval over replicates, the ΔF1 chart rows (seed means in %), and the seed summary the
 * grid writes. No grid, no Python, no ../shared.
 */
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { paperClaims } from "../lib/report/claims.ts";
import { deltaF1Rows } from "../lib/plots/mod.ts";
import { summarize, type SummaryInput } from "../lib/experiment/rows.ts";
import { fixtureFrames } from "../testdata/results_fixture.ts";
import { refTInterval } from "../testdata/reference/stats.ts";

type Row = Record<string, unknown>;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** D per replicate (seeds when ≥ 2, else the pairing key), its mean and t-interval, in ΔF1 points. */
function refContrast(a: Row[], b: Row[], pairBy: string[]) {
  const seeds = [...new Set([...a, ...b].map((r) => r.seed))];
  const by = seeds.length >= 2 ? ["seed"] : pairBy;
  const key = (r: Row) => by.map((f) => String(r[f])).join("|");
  const keys = [...new Set(a.map(key))].filter((k) => b.some((r) => key(r) === k));
  const values = keys.map((k) =>
    mean(a.filter((r) => key(r) === k).map((r) => r.delta_f1 as number)) -
    mean(b.filter((r) => key(r) === k).map((r) => r.delta_f1 as number))
  );
  return { values, ...refTInterval(values) };
}

function checkClaims(seeds: number[]): number {
  const { results } = fixtureFrames({ seeds, codecs: ["lyra-3.2kbps", "lyra-9.2kbps", "encodec-6kbps"] });
  const rows = results.toRecords() as Row[];
  const claims = paperClaims(results);
  for (const c of claims) {
    const setting = rows.filter((r) => r.dataset === c.dataset && taskOf(r, c.task) && r.feature !== "u");
    const z = setting.filter((r) => r.feature === "z");
    let ref;
    if (c.claim.startsWith("(1)")) {
      // Sparsity trend: D = ΔF1(z) at s ≥ 25 % − at s = 5 %.
      const mine = z.filter((r) => r.codec === c.codec);
      ref = refContrast(mine.filter((r) => (r.s as number) >= 0.25), mine.filter((r) => r.s === 0.05), ["q"]);
    } else if (c.claim.startsWith("(2)")) {
      // Position vs magnitude at s = 5 %: D = ΔF1(z_mag) − ΔF1(z_pos); acoustic codecs: D > 0.
      assert(c.contrast.includes("> 0"), `${c.codec} is acoustic: the claim is D > 0`);
      const at5 = setting.filter((r) => r.codec === c.codec && r.s === 0.05);
      ref = refContrast(at5.filter((r) => r.feature === "z_mag"), at5.filter((r) => r.feature === "z_pos"), [
        "q",
      ]);
    } else {
      // Bitrate: D = ΔF1(z) at the family's lowest bitrate − at its highest.
      const low = z.filter((r) => r.codec === "lyra-3.2kbps"),
        high = z.filter((r) => r.codec === "lyra-9.2kbps");
      ref = refContrast(low, high, ["q", "s"]);
    }
    const pct = (x: number) => Math.round(x * 10000) / 100;
    const what = `${c.claim} ${c.codec} ${c.task}`;
    assertEquals([c.d_pct, c.low_pct, c.high_pct], [pct(ref.mean), pct(ref.low), pct(ref.high)], what);
    const want = ref.low > 0 ? "holds" : ref.high < 0 ? "does not hold" : "inconclusive";
    assertEquals(c.verdict, want, `${what}: verdict`);
  }
  return claims.length;
}

/** Whether row r belongs to the claim's task (the claims table shows the task's label, e.g. "US vs UK"). */
function taskOf(r: Row, task: string): boolean {
  const label = r.task === "us-vs-uk" ? "US vs UK" : "US vs Non-US-UK";
  return task.replace(/[^a-z]/gi, "").toLowerCase() === label.replace(/[^a-z]/gi, "").toLowerCase();
}

Deno.test("reference claims: D, its interval and verdict equal the definition (one seed: over configurations)", () => {
  const n = checkClaims([0]);
  assert(n >= 12, `only ${n} claim rows checked`);
});

Deno.test("reference claims: D, its interval and verdict equal the definition (three seeds: over seeds)", () => {
  const n = checkClaims([0, 1, 2]);
  assert(n >= 12, `only ${n} claim rows checked`);
});

Deno.test("reference claims: ΔF1 chart rows are seed means in % with the t-interval over seeds", () => {
  const { results } = fixtureFrames({ seeds: [0, 1, 2] });
  const rows = results.toRecords() as Row[];
  const chart = deltaF1Rows(results, { task: "us-vs-uk", dataset: "synthetic", feature: "z_pos" });
  assertEquals(chart.length, 3 * 16);
  for (const c of chart) {
    const g = rows.filter((r) =>
      r.task === "us-vs-uk" && r.dataset === "synthetic" && r.feature === "z_pos" && r.codec === c.codec &&
      r.q === c.q && r.s === c.s
    );
    const iv = refTInterval(g.map((r) => (r.delta_f1 as number) * 100));
    assertAlmostEquals(c.delta_f1_pct as number, iv.mean, 0.005 + 1e-9);
    assertAlmostEquals(c.lo_pct as number, iv.low, 0.005 + 1e-9);
    assertAlmostEquals(c.hi_pct as number, iv.high, 0.005 + 1e-9);
    assertAlmostEquals(c.f1_pct as number, mean(g.map((r) => r.f1 as number)) * 100, 0.005 + 1e-9);
  }
});

Deno.test("reference claims: the grid's seed summary is the t-interval of ΔF1 over seeds per cell and feature", () => {
  const { results } = fixtureFrames({ seeds: [0, 1, 2, 3], codecs: ["lyra-3.2kbps"] });
  const rows = results.toRecords() as unknown as SummaryInput[];
  const summary = summarize(rows);
  assertEquals(summary.length, 3 * 16 * 3); // (dataset, task) settings × (q, s) × features
  for (const s of summary) {
    const g = rows.filter((r) =>
      r.dataset === s.dataset && r.task === s.task && r.q === s.q && r.s === s.s && r.feature === s.feature
    );
    const iv = refTInterval(g.map((r) => r.delta_f1));
    assertEquals(s.n_seeds, 4);
    assertAlmostEquals(s.delta_f1_mean, iv.mean, 1e-12);
    assertAlmostEquals(s.delta_f1_std, iv.std, 1e-12);
    assertAlmostEquals(s.delta_f1_low, iv.low, 1e-7);
    assertAlmostEquals(s.delta_f1_high, iv.high, 1e-7);
  }
});
