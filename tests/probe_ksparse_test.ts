/**
 * k-sparse probing: the class-mean-difference ranking on the probe-training rows recovers planted latents, never
 * looks at scored rows, matches a plain computation, and the probe on the top k behaves like the full probe.
 */
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { type Matrix, matrix } from "../lib/common/matrix.ts";
import { Rng } from "../lib/common/random.ts";
import {
  kSparseProbes,
  kSparseSizes,
  meanDifferences,
  type ProbeRows,
  rankByScore,
  runProtocol,
} from "../lib/probe/mod.ts";
import { C_GRID } from "../lib/probe/protocol.ts";

const PLANTED = [4, 11, 23];

/** n rows of d noise columns; the PLANTED columns are shifted by `signal` (different strengths) for class 1. */
function planted(n: number, d: number, signal: number, seed: number): { x: Matrix; y: Int32Array } {
  const rng = new Rng(seed);
  const x = matrix(n, d), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = (i * 7) % 5 < 2 ? 1 : 0;
    for (let j = 0; j < d; j++) {
      const p = PLANTED.indexOf(j);
      x.data[i * d + j] = rng.normal() + (p >= 0 ? signal * (1 + 0.25 * p) * y[i] : 0);
    }
  }
  return { x, y };
}

/** The paper's split: the first `train` rows train, the rest are scored. */
function split(y: Int32Array, train: number): ProbeRows {
  return { y, testFold: Int32Array.from(y, (_, i) => (i < train ? -1 : 0)), folds: 1 };
}

function kfold(y: Int32Array, folds: number): ProbeRows {
  return { y, testFold: Int32Array.from(y, (_, i) => Math.floor(i / 3) % folds), folds };
}

const sorted = (a: number[]) => [...a].sort((p, q) => p - q);

Deno.test("k-sparse: top-m ranking recovers the m planted latents; F1 at k = m is near the all-latents F1", () => {
  const { x, y } = planted(300, 40, 1.6, 1);
  const r = kSparseProbes(x, split(y, 150));
  assertEquals(r.probes.map((p) => [p.k, p.allLatents]), [
    [1, false],
    [2, false],
    [5, false],
    [10, false],
    [20, false],
    [40, true],
  ]);
  const k5 = r.probes.find((p) => p.k === 5)!;
  // The strongest planted latents first (signal grows with the planted position), then noise.
  assertEquals(k5.latents.slice(0, 3), [23, 11, 4]);
  const all = r.probes.at(-1)!;
  assert(all.f1 > 0.8, `all-latents F1 ${all.f1}`);
  // k = 3 is not a default size: ask for it.
  const k3 = kSparseProbes(x, split(y, 150), {}, { ks: [3] }).probes[0];
  assertEquals(sorted(k3.latents), PLANTED);
  assert(Math.abs(k3.f1 - all.f1) <= 0.05, `F1 at k = 3: ${k3.f1}, all: ${all.f1}`);
  assert(r.probes[0].f1 < k3.f1, "one latent carries less than the three planted ones");
  assertEquals(r.scored.length, 150);
  for (const p of r.probes) assertEquals([p.predictions.length, p.scores.length], [150, 150]);
});

Deno.test("k-sparse k-fold: each fold ranks on its own training rows and recovers the planted latents", () => {
  const { x, y } = planted(300, 30, 1.6, 2);
  const r = kSparseProbes(x, kfold(y, 5), {}, { ks: [3] });
  const k3 = r.probes[0];
  assertEquals(k3.foldLatents.length, 5);
  for (const l of k3.foldLatents) assertEquals(sorted(l), PLANTED);
  assertEquals(k3.latents, k3.foldLatents[0]);
  assertEquals(r.scored.length, 300);
  assert(Math.abs(k3.f1 - r.probes[1].f1) <= 0.05, `F1 at k = 3: ${k3.f1}, all: ${r.probes[1].f1}`);
});

Deno.test("k-sparse: the ranking never looks at scored rows (their values change no chosen latent)", () => {
  const { x, y } = planted(200, 30, 1.2, 3);
  const plan = split(y, 100);
  const before = kSparseProbes(x, plan).probes;
  // Scored rows rewritten: a label-revealing column 0 and noise everywhere else.
  const leaked = matrix(x.rows, x.cols, Float32Array.from(x.data));
  const rng = new Rng(9);
  for (let i = 100; i < 200; i++) {
    for (let j = 0; j < x.cols; j++) leaked.data[i * x.cols + j] = j === 0 ? 50 * y[i] : 10 * rng.normal();
  }
  const after = kSparseProbes(leaked, plan).probes;
  assertEquals(after.map((p) => p.foldLatents), before.map((p) => p.foldLatents));
  assert(!after[0].latents.includes(0));

  // k-fold: changing the rows fold 2 scores changes nothing fold 2 chooses.
  const folds = kfold(y, 4);
  const kBefore = kSparseProbes(x, folds, {}, { ks: [1, 5] }).probes;
  const kLeaked = matrix(x.rows, x.cols, Float32Array.from(x.data));
  folds.testFold.forEach((f, i) => (f === 2 ? (kLeaked.data[i * x.cols] = 50 * y[i]) : 0));
  const kAfter = kSparseProbes(kLeaked, folds, {}, { ks: [1, 5] }).probes;
  for (let p = 0; p < 2; p++) assertEquals(kAfter[p].foldLatents[2], kBefore[p].foldLatents[2]);
  // …while the other folds, which train on fold 2's rows, see the new column 0.
  assertEquals(kAfter[0].foldLatents[0], [0]);
});

/** The plain definition: per column, the mean of each class over the training rows, then |difference|. */
function plainMeanDifferences(x: Matrix, y: Int32Array, train: number[]): number[] {
  const out: number[] = [];
  for (let j = 0; j < x.cols; j++) {
    const ones = train.filter((i) => y[i] === 1).map((i) => x.data[i * x.cols + j]);
    const zeros = train.filter((i) => y[i] === 0).map((i) => x.data[i * x.cols + j]);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    out.push(Math.abs(mean(ones) - mean(zeros)));
  }
  return out;
}

/** Ranking by repeated selection of the largest remaining difference (first index on ties). */
function plainRanking(d: number[]): number[] {
  const left = d.map((_, j) => j), out: number[] = [];
  while (left.length > 0) {
    let best = 0;
    for (let t = 1; t < left.length; t++) if (d[left[t]] > d[left[best]]) best = t;
    out.push(left.splice(best, 1)[0]);
  }
  return out;
}

Deno.test("k-sparse: mean differences and ranking match a plain independent computation", () => {
  const { x, y } = planted(120, 25, 0.8, 4);
  const train = Array.from({ length: 70 }, (_, i) => 7 * i % 120).sort((a, b) => a - b);
  const d = meanDifferences(x, y, train);
  const plain = plainMeanDifferences(x, y, train);
  for (let j = 0; j < x.cols; j++) assertAlmostEquals(d[j], plain[j], 1e-9);
  assertEquals(rankByScore(d), plainRanking(plain));
  // The probe's fold-0 ranking is this one, on the split's training rows.
  const plan: ProbeRows = {
    y,
    testFold: Int32Array.from(y, (_, i) => (train.includes(i) ? -1 : 0)),
    folds: 1,
  };
  assertEquals(kSparseProbes(x, plan, {}, { ks: [10] }).probes[0].latents, plainRanking(plain).slice(0, 10));
});

Deno.test("k-sparse: constant training columns rank last with difference exactly 0; ties by lower index", () => {
  const n = 40, y = Int32Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 1 : 0));
  const x = matrix(n, 5);
  for (let i = 0; i < n; i++) {
    x.data[i * 5 + 0] = 0.1; // constant (0.1 is not exact in binary: naive class means differ by rounding)
    x.data[i * 5 + 1] = y[i] ? 1e-4 : 0; // a tiny but real difference
    x.data[i * 5 + 2] = 0.1; // constant too: tied with column 0
    x.data[i * 5 + 3] = i % 8 < 4 ? 1 : 0; // same mean in both classes: difference 0 (not constant)
    x.data[i * 5 + 4] = y[i] ? 2 : 1;
  }
  const train = Array.from({ length: n }, (_, i) => i);
  const d = meanDifferences(x, y, train);
  assertEquals([d[0], d[2], d[3]], [0, 0, 0]);
  assertEquals(rankByScore(d), [4, 1, 0, 2, 3]);
});

Deno.test("k-sparse sizes: capped at the column count, duplicates and the full width dropped (the all probe)", () => {
  assertEquals(kSparseSizes(1280), [1, 2, 5, 10, 20]);
  assertEquals(kSparseSizes(20), [1, 2, 5, 10]);
  assertEquals(kSparseSizes(4), [1, 2]);
  assertEquals(kSparseSizes(1), []);
  assertEquals(kSparseSizes(7, [5, 7, 9, 1, 5]), [1, 5]);
  assertThrows(() => kSparseSizes(10, [0]), Error, "positive integers");
  const { x, y } = planted(80, 4, 1.5, 5);
  const r = kSparseProbes(x, split(y, 40));
  assertEquals(r.probes.map((p) => p.k), [1, 2, 4]);
  assertEquals(r.probes.at(-1)!.allLatents, true);
  assertEquals(r.probes.at(-1)!.latents, []);
});

Deno.test("k-sparse: the all-latents probe is the full probe (and a given full probe is reused); deterministic", () => {
  const { x, y } = planted(160, 30, 1.0, 6);
  const plan = kfold(y, 4);
  const full = runProtocol(x, plan);
  const a = kSparseProbes(x, plan);
  const all = a.probes.at(-1)!;
  assertEquals([all.f1, all.k], [full.macroF1, 30]);
  assertEquals(Array.from(all.predictions), Array.from(full.predictions));
  assertEquals(Array.from(a.truth), Array.from(full.truth));
  const b = kSparseProbes(x, plan, {}, { full });
  assertEquals(
    b.probes.map((p) => [p.f1, Array.from(p.scores)]),
    a.probes.map((p) => [p.f1, Array.from(p.scores)]),
  );
});

Deno.test("k-sparse with inner-fold C selection (the dev protocol): one chosen C per fold, from the grid", () => {
  const { x, y } = planted(160, 30, 1.2, 7);
  const plan: ProbeRows = {
    ...split(y, 100),
    innerFold: Int32Array.from(y, (_, i) => (i < 100 ? Math.floor(i / 4) % 3 : -1)),
  };
  const r = kSparseProbes(x, plan, {}, { ks: [3] });
  assertEquals(r.probes[0].chosenC.length, 1);
  assert(C_GRID.includes(r.probes[0].chosenC[0]));
  assertEquals(sorted(r.probes[0].latents), PLANTED);
  // Equal to fitting the full protocol on the same columns (one fold: the same training rows).
  const cols = r.probes[0].latents;
  const sub = matrix(
    x.rows,
    3,
    Float32Array.from({ length: x.rows * 3 }, (_, t) => x.data[Math.floor(t / 3) * x.cols + cols[t % 3]]),
  );
  const direct = runProtocol(sub, plan);
  assertEquals([r.probes[0].f1, r.probes[0].chosenC], [direct.macroF1, direct.chosenC]);
});

Deno.test("k-sparse: clear errors for labels other than 0/1, a fold lacking a class, a full probe of another plan", () => {
  const { x, y } = planted(40, 6, 1, 8);
  const bad = Int32Array.from(y, (v) => (v ? 2 : 0));
  assertThrows(() => kSparseProbes(x, split(bad, 20)), Error, "labels 0/1");
  const oneClass = Int32Array.from(y, (_, i) => (i < 20 ? 0 : i % 2));
  assertThrows(() => kSparseProbes(x, split(oneClass, 20)), Error, "no row of class 1");
  const other = runProtocol(x, split(y, 30));
  assertThrows(() => kSparseProbes(x, split(y, 20), {}, { full: other }), Error, "full probe scored 10 rows");
});
