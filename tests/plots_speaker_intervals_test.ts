/**
 * Results rows linked to their predictions (lib/plots/speaker_intervals.ts): each row's probe and its
 * reference, one bootstrap per test set, stale predictions named, rows without predictions left to the fallback.
 */
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { type Row, SpeakerIntervals, where } from "../lib/plots/mod.ts";
import { fixtureFrames } from "../testdata/results_fixture.ts";

Deno.test("speaker intervals: ΔF1 of a row is paired with its reference; F1 equals the results' F1; stale rows named", () => {
  const f = fixtureFrames({ seeds: [0, 1], speakers: 25 });
  const rows = f.results.toRecords() as Row[];
  const iv = new SpeakerIntervals(rows, f.predictionRows, { resamples: 300 });
  assertEquals([iv.mismatched, iv.unmatchedRows], [[], 0]);
  const cell = where(rows, {
    dataset: "synthetic",
    task: "us-vs-uk",
    codec: "lyra-6kbps",
    q: 5,
    s: 0.1,
    feature: "z",
  });
  assertEquals(cell.length, 2);
  const d = iv.contrast(cell)!;
  const mean = (cell[0].delta_f1 as number + (cell[1].delta_f1 as number)) / 2;
  assertAlmostEquals(d.estimate, mean, 1e-12);
  assertEquals([d.speakers, d.seeds], [25, 2]);
  const ref = where(rows, { dataset: "synthetic", task: "us-vs-uk", codec: "lyra-3.2kbps", feature: "u" });
  const f1 = iv.contrast(ref, [], { f1: true })!;
  assertAlmostEquals(f1.estimate, ref[0].f1 as number, 1e-12);
  assert(f1.low < f1.high && f1.low <= f1.estimate && f1.estimate <= f1.high, JSON.stringify(f1));
  // Rows of different test sets are never paired; a row without predictions gets no interval (fallback).
  const other = where(rows, { dataset: "fsdd", codec: "lyra-6kbps", q: 5, s: 0.1, feature: "z" });
  assertEquals(iv.contrast(cell, other), null);
  const partial = new SpeakerIntervals(rows, f.predictionRows.filter((p) => p.cell_key !== cell[0].cell_key));
  assertEquals(partial.contrast(cell), null);
  assertEquals(partial.oneClass(cell[0]), null);
  assertEquals(iv.oneClass(cell[0]), false);
  assertEquals(iv.labelCounts(ref[0])!.reduce((a, b) => a + b), ref[0].n_test);
  // Predictions from another run: their F1 differs from the results row's, and the probe is named.
  const stale = f.predictionRows.map((p) =>
    p.cell_key === cell[0].cell_key && p.feature === "z" ? { ...p, predicted: 1 - p.predicted } : p
  );
  const flagged = new SpeakerIntervals(rows, [...stale, { ...stale[0], cell_key: "gone" }]);
  assertEquals(flagged.mismatched, [`${cell[0].cell_key}|z`]);
  assertEquals(flagged.unmatchedRows, 1);
});
