/**
 * The paper-claims table and the validity tables on planted results: each claim's verdict follows the sign
 * and interval of its contrast; replicates are seeds when there are several, else configurations.
 */
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import pl from "nodejs-polars";
import { Rng } from "../lib/common/random.ts";
import {
  claimsIntervalComparison,
  claimsTable,
  codecDifferences,
  paperClaims,
  referenceValidity,
} from "../lib/report/claims.ts";
import { fixtureFrames } from "../testdata/results_fixture.ts";

/** ΔF1 of a (codec, s, feature): planted per codec, plus seeded noise of `noise`. */
function planted(seeds: number[], noise: number, trained = true): pl.DataFrame {
  const rng = new Rng(3);
  const rows: Record<string, unknown>[] = [];
  const effect = (codec: string, s: number, feature: string) => {
    // 3.2 kbps: strong sparsity trend, magnitude loses less; 9.2 kbps: flat, position loses less; 6 ≈ 3.2.
    const base = codec === "lyra-9.2kbps" ? -0.12 : -0.02;
    const trend = codec === "lyra-9.2kbps" ? 0 : s <= 0.05 ? -0.08 : s >= 0.25 ? 0 : -0.03;
    const split = feature === "z_pos"
      ? (codec === "lyra-9.2kbps" ? 0.02 : -0.05)
      : feature === "z_mag"
      ? (codec === "lyra-9.2kbps" ? -0.02 : 0.02)
      : 0;
    return base + trend + split;
  };
  for (const codec of ["lyra-3.2kbps", "lyra-6kbps", "lyra-9.2kbps"]) {
    for (const seed of seeds) {
      rows.push({
        dataset: "saa",
        codec,
        codec_family: "lyra",
        bitrate_kbps: Number(codec.slice(5, -4)),
        task: "us-vs-uk",
        q: null,
        s: null,
        seed,
        feature: "u",
        f1: 0.6,
        delta_f1: 0,
        f1_ref_low: 0.5,
        f1_ref_high: 0.7,
        chance_f1: 0.45,
        chance_f1_low: 0.4,
        chance_f1_high: codec === "lyra-6kbps" ? 0.55 : 0.48,
        ref_above_chance: codec !== "lyra-6kbps",
        sae_trained: null,
        pooling: "mean",
        probe_protocol: "split",
        probe_folds: 1,
      });
      for (const q of [2, 5, 10, 20]) {
        for (const s of [0.5, 0.25, 0.1, 0.05]) {
          for (const feature of ["z", "z_pos", "z_mag"]) {
            rows.push({
              dataset: "saa",
              codec,
              codec_family: "lyra",
              bitrate_kbps: Number(codec.slice(5, -4)),
              task: "us-vs-uk",
              q,
              s,
              seed,
              feature,
              f1: 0.5,
              delta_f1: effect(codec, s, feature) + noise * rng.normal(),
              f1_ref_low: 0.5,
              f1_ref_high: 0.7,
              chance_f1: 0.45,
              chance_f1_low: 0.4,
              chance_f1_high: codec === "lyra-6kbps" ? 0.55 : 0.48,
              ref_above_chance: codec !== "lyra-6kbps",
              sae_trained: trained || q !== 20,
              pooling: "mean",
              probe_protocol: "split",
              probe_folds: 1,
            });
          }
        }
      }
    }
  }
  return pl.DataFrame(rows);
}

const find = (rows: ReturnType<typeof paperClaims>, claim: string, codec: string) =>
  rows.find((r) => r.claim.startsWith(claim) && r.codec.startsWith(codec))!;

Deno.test("claims: verdicts follow the planted effects; one seed pairs over configurations", () => {
  const rows = paperClaims(planted([0], 0.005));
  const trend = find(rows, "(1)", "lyra-3.2kbps");
  assertEquals(trend.verdict, "holds");
  // Without predictions: the old interval over configurations, and the method says what it ignores.
  assert(trend.method.startsWith("t-interval over 4 q values (one seed)"), trend.method);
  assert(trend.method.includes("test speakers are not resampled"), trend.method);
  assert(trend.low_pct > 0 && Math.abs(trend.d_pct - 8) < 1, JSON.stringify(trend));
  assertEquals(find(rows, "(1)", "lyra-9.2kbps").verdict, "inconclusive");
  const posMag = find(rows, "(2)", "lyra-3.2kbps");
  assertEquals(posMag.verdict, "holds");
  assert(posMag.numbers.endsWith("magnitude loses less"), posMag.numbers);
  assert(posMag.contrast.includes("assumed"), "Lyra's orientation is marked as an assumption");
  const posMag9 = find(rows, "(2)", "lyra-9.2kbps");
  assertEquals(posMag9.verdict, "does not hold");
  assert(posMag9.numbers.endsWith("position loses less"));
  const bitrate = find(rows, "(3)", "lyra (3.2 / 6 / 9.2 kbps)");
  assertEquals(bitrate.verdict, "holds");
  assert(bitrate.method.startsWith("t-interval over 16 q×s values (one seed)"), bitrate.method);
  assert(bitrate.numbers.includes("lyra-6kbps"), bitrate.numbers);
  // The reference of 6 kbps is not above chance: every claim touching it says so.
  assert(
    find(rows, "(1)", "lyra-6kbps").caveats.includes(
      "NOT EVIDENCE: reference F1 not above chance (lyra-6kbps)",
    ),
  );
  assertEquals(trend.caveats, "");
});

Deno.test("claims: with seeds the interval is over seeds; untrained SAE cells are named", () => {
  const rows = paperClaims(planted([0, 1, 2], 0.005, false));
  const trend = find(rows, "(1)", "lyra-3.2kbps");
  assert(trend.method.startsWith("t-interval over 3 seeds"), trend.method);
  assertEquals(trend.verdict, "holds");
  assert(trend.caveats.includes("9 of 36 cells with untrained SAEs"), trend.caveats);
  // Pure noise around a zero contrast is inconclusive, never "holds".
  const noisy = paperClaims(planted([0, 1], 0.2));
  assertEquals(find(noisy, "(1)", "lyra-9.2kbps").verdict === "holds", false);
  const df = claimsTable(planted([0], 0.005));
  assertEquals(df.columns.slice(0, 7), [
    "claim",
    "dataset",
    "protocol",
    "test_set",
    "task",
    "codec",
    "contrast",
  ]);
  assertEquals(df.getColumn("protocol").toArray()[0], "mean, split");
  assertEquals(df.height, 3 + 3 + 1);
});

Deno.test("codec differences and reference validity: overlaps and weak references are flagged", () => {
  const diffs = codecDifferences(planted([0], 0.005)).toRecords();
  const pair = (a: string, b: string) => diffs.find((r) => r.codec_a === a && r.codec_b === b)!;
  assertEquals(pair("lyra-3.2kbps", "lyra-9.2kbps").reading, "lyra-3.2kbps higher");
  const close = codecDifferences(planted([0], 0.05)).toRecords()
    .find((r) => r.codec_a === "lyra-3.2kbps" && r.codec_b === "lyra-6kbps")!;
  assertEquals(close.reading, "within intervals: not distinguishable");
  const validity = referenceValidity(planted([0], 0.005)).toRecords();
  assertEquals(validity.map((r) => r.above_chance), ["yes", "NO", "yes"]);
  assertEquals(validity[0].protocol, "mean, split");
  // Two protocols in one table stay apart: every claim is evaluated per protocol.
  const both = pl.concat([
    planted([0], 0.005),
    planted([0], 0.005).withColumns(
      pl.lit("mean+std").alias("pooling"),
      pl.lit("kfold").alias("probe_protocol"),
      pl.lit(5).alias("probe_folds"),
    ),
  ]);
  const claims = paperClaims(both);
  assertEquals(claims.length, 2 * 7);
  assertEquals([...new Set(claims.map((r) => r.protocol))], ["mean, split", "mean+std, 5-fold"]);
  assertEquals([validity[0].f1_ref_pct, validity[0].low_pct, validity[0].chance_high_pct], [60, 50, 48]);
});

Deno.test("claims with predictions: intervals over test speakers × seeds, the distance to flipping, not-evidence caveats", () => {
  const f = fixtureFrames({ seeds: [0, 1], weakTasks: ["us-vs-uk"], oneClass: ["z_mag"], speakers: 30 });
  const withSpeakers = paperClaims({ results: f.results, predictions: f.predictionRows });
  const seedOnly = paperClaims(f.results);
  assertEquals(withSpeakers.length, seedOnly.length);
  for (const r of withSpeakers) {
    assertEquals(r.method, "bootstrap over 30 test speakers (paired) + Student t over 2 seeds");
    if (r.verdict !== "inconclusive") assert(r.low_pct * r.high_pct > 0, JSON.stringify(r));
    // to_flip_pp: the interval's nearer end to 0.
    assertAlmostEquals(r.to_flip_pp, Math.min(Math.abs(r.low_pct), Math.abs(r.high_pct)), 0.011);
    assert(r.n.includes("probe training 80 (US 50 / "), r.n);
  }
  // The point estimate is the same D either way (means per seed, then over seeds).
  for (const [i, r] of withSpeakers.entries()) assertAlmostEquals(r.d_pct, seedOnly[i].d_pct, 0.011);
  // US vs UK's reference is at chance here: every claim on it is marked, claims elsewhere are not.
  for (const r of withSpeakers) {
    assertEquals(r.caveats.includes("NOT EVIDENCE"), r.task === "US vs UK", `${r.task}: ${r.caveats}`);
  }
  const posMag = withSpeakers.find((r) => r.claim.startsWith("(2)"))!;
  assert(posMag.caveats.includes("8 of 16 probes answer one class"), posMag.caveats);
  const validity = referenceValidity({ results: f.results, predictions: f.predictionRows }).toRecords();
  assertEquals(validity.filter((r) => r.task === "US vs UK").map((r) => r.evidence), [
    "NOT EVIDENCE",
    "NOT EVIDENCE",
    "NOT EVIDENCE",
  ]);
  assert(validity.every((r) => typeof r.majority_pct === "number" && r.test_speakers === 30));
  assert(String(validity[0].interval).startsWith("bootstrap over 30 test speakers"));
  // A single seed still gets a decidable interval (over speakers), and the method says seeds were not varied.
  const one = fixtureFrames({ speakers: 30 });
  const oneRows = paperClaims({ results: one.results, predictions: one.predictionRows });
  assert(oneRows.every((r) => r.method.includes("one seed") && Number.isFinite(r.low_pct)));
});

Deno.test("claims interval comparison: seed-only and speakers × seeds side by side, the same D, moved verdicts named", () => {
  const f = fixtureFrames({ speakers: 30 });
  const df = claimsIntervalComparison({ results: f.results, predictions: f.predictionRows });
  const rows = df.toRecords();
  assertEquals(rows.length, paperClaims(f.results).length);
  for (const r of rows) {
    assertEquals(r.moved === "", r.seed_only_verdict === r.speakers_verdict);
    assert(String(r.seed_only_method).startsWith("t-interval"));
    assert(String(r.speakers_method).startsWith("bootstrap over 30 test speakers"));
  }
  assertThrows(
    () => claimsIntervalComparison({ results: f.results, predictions: null }),
    Error,
    "no predictions",
  );
});
