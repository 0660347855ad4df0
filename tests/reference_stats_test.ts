/**
 * Probe metrics and intervals against plain references (testdata/reference/stats.ts): macro-F1 with
 * scikit-learn's label rules, the Student-t quantile by numerical integration and scipy's tabulated values,
 * the seed t-interval, and the paired percentile bootstrap of F1 and ΔF1 (its sign, its unit: utterances).
 */
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { Rng } from "../lib/common/random.ts";
import { seedInterval, studentTQuantile, wilsonInterval } from "../lib/common/stats.ts";
import { accuracy, classificationMetrics, macroF1 } from "../lib/probe/metrics.ts";
import {
  macroF1FromConfusion,
  percentileInterval,
  speakerDeltaF1Interval,
  speakerF1Interval,
} from "../lib/experiment/stats.ts";
import { refBootstrap, refMacroF1, refTInterval, refTQuantile } from "../testdata/reference/stats.ts";

/** Seeded labels with a given accuracy of `pred` against `truth` and a class balance. */
function labels(n: number, seed: number, pOne: number, pCorrect: number, classes = [0, 1]) {
  const rng = new Rng(seed);
  const truth = Array.from({ length: n }, () => (rng.next() < pOne ? classes[1] : classes[0]));
  const pred = truth.map((t) => (rng.next() < pCorrect ? t : t === classes[0] ? classes[1] : classes[0]));
  return { truth, pred };
}

Deno.test("reference stats: macro-F1 and accuracy equal the definition, imbalanced and with absent classes", () => {
  const cases: [number[], number[]][] = [
    [[0, 0, 0, 1], [0, 0, 1, 1]],
    [[1, 1, 1, 1], [1, 1, 0, 1]], // class 0 only predicted: scored as a label with F1 0
    [[2, 2, 5, 5, 5], [2, 2, 2, 2, 2]], // other label values; class 5 never predicted
    [[0, 1, 2, 2], [0, 1, 1, 2]],
  ];
  for (let s = 0; s < 6; s++) {
    const { truth, pred } = labels(157 + s, s, 0.2 + 0.1 * s, 0.6 + 0.05 * s);
    cases.push([truth, pred]);
  }
  for (const [t, p] of cases) {
    const want = refMacroF1(t, p);
    assertAlmostEquals(macroF1(t, p), want, 1e-15, `${t} / ${p}`);
    assertAlmostEquals(classificationMetrics(t, p).macroF1, want, 1e-15);
    assertAlmostEquals(accuracy(t, p), t.filter((v, i) => v === p[i]).length / t.length, 1e-15);
    if (t.every((v) => v === 0 || v === 1) && p.every((v) => v === 0 || v === 1)) {
      const c = [0, 0, 0, 0];
      t.forEach((v, i) => c[v * 2 + p[i]]++);
      assertAlmostEquals(macroF1FromConfusion(c), want, 1e-15, `confusion ${c}`);
    }
  }
  // Hand-computed: truth 0,0,0,1 / pred 0,0,1,1 → F1(0) = 4/5, F1(1) = 2/3.
  assertAlmostEquals(macroF1([0, 0, 0, 1], [0, 0, 1, 1]), (4 / 5 + 2 / 3) / 2, 1e-15);
});

Deno.test("reference stats: the Student-t quantile equals numerical integration and scipy's table", () => {
  // scipy.stats.t.ppf(0.975, df) (scipy 1.10), independent of both implementations.
  const scipy: [number, number][] = [
    [1, 12.706204736174707],
    [2, 4.302652729749464],
    [4, 2.7764451051977934],
    [
      9,
      2.2621571628540993,
    ],
    [30, 2.0422724563012373],
    [300, 1.967903011260101],
  ];
  for (const [df, q] of scipy) {
    assertAlmostEquals(studentTQuantile(0.975, df), q, 1e-9 * q, `df ${df}`);
    assertAlmostEquals(refTQuantile(0.975, df), q, 1e-6 * q, `reference, df ${df}`);
  }
  for (const [p, df] of [[0.9, 3], [0.995, 7], [0.6, 2.5]]) {
    assertAlmostEquals(studentTQuantile(p, df), refTQuantile(p, df), 1e-6, `p ${p}, df ${df}`);
    assertAlmostEquals(studentTQuantile(1 - p, df), -refTQuantile(p, df), 1e-6);
  }
});

Deno.test("reference stats: the seed interval is mean ± t·s/√n with the sample std", () => {
  const rng = new Rng(4);
  for (const n of [2, 3, 5, 12]) {
    const v = Array.from({ length: n }, () => rng.normal() * 0.03 + 0.1);
    const got = seedInterval(v), want = refTInterval(v);
    for (const key of ["mean", "std", "low", "high"] as const) {
      assertAlmostEquals(got[key], want[key], 1e-7 * Math.max(1, Math.abs(want[key])), `n ${n}: ${key}`);
    }
    assertEquals(got.n, n);
  }
  assertEquals(seedInterval([0.3]), { mean: 0.3, std: 0, low: 0.3, high: 0.3, n: 1 });
});

/** Each recording its own speaker (ids in index order): the speaker bootstrap then draws recordings. */
const alone = (truth: ArrayLike<number>, pred: ArrayLike<number>) =>
  Array.from(
    truth,
    (label, i) => ({ speaker_id: `r${String(i).padStart(5, "0")}`, label, predicted: pred[i] }),
  );

Deno.test("reference stats: bootstrap of ΔF1 = F1(feature) − F1(u), one recording per speaker, paired", () => {
  const n = 120, B = 400, seed = 17;
  const { truth, pred: feat } = labels(n, 1, 0.4, 0.85);
  const ref = labels(n, 2, 0.4, 0.65).pred.map((_, i) => (new Rng(i).next() < 0.7 ? truth[i] : 1 - truth[i]));
  const rng = new Rng(seed);
  const want = refBootstrap(
    truth,
    [feat, ref],
    (t, [f, r]) => refMacroF1(t, f) - refMacroF1(t, r),
    B,
    () => rng.int(n),
  );
  const got = speakerDeltaF1Interval(alone(truth, feat), alone(truth, ref), { resamples: B, seed });
  assertAlmostEquals(got.low, want.low, 1e-12);
  assertAlmostEquals(got.high, want.high, 1e-12);
  // The point estimate lies inside and the interval has the sign of F1(feature) − F1(u) (feature better here).
  const delta = refMacroF1(truth, feat) - refMacroF1(truth, ref);
  assert(delta > 0.05, `the planted feature is not better (${delta})`);
  assert(got.low < delta && delta < got.high && got.low > 0, `[${got.low}, ${got.high}] vs ΔF1 ${delta}`);
  // Swapped roles give the opposite sign: an interval below zero.
  const swapped = speakerDeltaF1Interval(alone(truth, ref), alone(truth, feat), { resamples: B, seed });
  assert(swapped.high < 0 && swapped.low < swapped.high, `swapped [${swapped.low}, ${swapped.high}]`);
});

Deno.test("reference stats: bootstrap of F1 and the percentile interval follow the definitions", () => {
  const n = 90, B = 300, seed = 5;
  const { truth, pred } = labels(n, 3, 0.3, 0.75);
  const rng = new Rng(seed);
  const want = refBootstrap(truth, [pred], (t, [p]) => refMacroF1(t, p), B, () => rng.int(n));
  const got = speakerF1Interval(alone(truth, pred), { resamples: B, seed });
  assertAlmostEquals(got.low, want.low, 1e-12);
  assertAlmostEquals(got.high, want.high, 1e-12);
  const v = want.values.slice().reverse(); // any order in, sorted percentiles out
  const pi = percentileInterval(v);
  assertEquals([pi.low, pi.high], [want.low, want.high]);
  assertAlmostEquals(pi.mean, v.reduce((a, b) => a + b, 0) / v.length, 1e-12);
});

Deno.test("reference stats: the Wilson interval equals its closed form", () => {
  for (const [k, n] of [[0, 10], [3, 10], [37, 40], [50, 100]]) {
    const z = 1.959963984540054, p = k / n;
    const centre = (p + z * z / (2 * n)) / (1 + z * z / n);
    const half = (z / (1 + z * z / n)) * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n));
    const got = wilsonInterval(k, n);
    assertAlmostEquals(got.low, Math.max(0, centre - half), 1e-12);
    assertAlmostEquals(got.high, Math.min(1, centre + half), 1e-12);
  }
});
