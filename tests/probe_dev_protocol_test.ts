/**
 * The "dev" probe protocol: C chosen by speaker-level inner cross-validation over the training rows only, the
 * probe refit on all of them at that C; the scored rows never take part in choosing C.
 */
import { assert, assertEquals } from "@std/assert";
import { C_GRID, chooseC, runProtocol } from "../lib/probe/protocol.ts";
import { runProbe } from "../lib/probe/probe.ts";
import { takeRows } from "../lib/common/matrix.ts";
import { Rng } from "../lib/common/random.ts";

/** Two Gaussian classes in 20 dimensions, one informative column; rows 0..n−1 train, n.. are scored. */
function data(nTrain: number, nTest: number, seed: number) {
  const rng = new Rng(seed), d = 20, n = nTrain + nTest;
  const x = new Float32Array(n * d), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let j = 0; j < d; j++) x[i * d + j] = rng.normal() + (j === 0 ? 1.5 * y[i] : 0);
  }
  const testFold = Int32Array.from({ length: n }, (_, i) => (i < nTrain ? -1 : 0));
  // Inner folds by "speaker": pairs of consecutive rows share a speaker, five folds.
  const innerFold = Int32Array.from({ length: n }, (_, i) => (i < nTrain ? Math.floor(i / 2) % 5 : -1));
  return { x: { rows: n, cols: d, data: x }, y, testFold, innerFold };
}

Deno.test("dev protocol: C comes from the grid by inner CV on the training rows, then one refit on all of them", () => {
  const { x, y, testFold, innerFold } = data(120, 60, 1);
  const r = runProtocol(x, { y, testFold, folds: 1, innerFold }, {});
  assertEquals(r.chosenC.length, 1);
  assert(C_GRID.includes(r.chosenC[0]));
  // The same C from chooseC on the training rows alone: the scored rows play no part.
  const train = Array.from({ length: 120 }, (_, i) => i);
  assertEquals(chooseC(takeRows(x, train), y.slice(0, 120), innerFold.slice(0, 120), {}), r.chosenC[0]);
  // The refit is the plain probe on every training row at that C.
  const test = Array.from({ length: 60 }, (_, i) => 120 + i);
  const ref = runProbe(takeRows(x, train), y.slice(0, 120), takeRows(x, test), y.slice(120), {
    C: r.chosenC[0],
  });
  assertEquals(Array.from(r.predictions), Array.from(ref.predictions));
  assertEquals(Array.from(r.scores), Array.from(ref.scores));
  assertEquals(r.minTrainRows, 120);
  // Changing the scored rows' features changes no choice of C.
  const x2 = { ...x, data: Float32Array.from(x.data, (v, i) => (i >= 120 * 20 ? -v : v)) };
  assertEquals(runProtocol(x2, { y, testFold, folds: 1, innerFold }, {}).chosenC, r.chosenC);
});

Deno.test("dev protocol: chooseC picks the C with the best pooled inner-fold macro-F1 (ties: the smaller C)", () => {
  const { x, y, innerFold } = data(100, 0, 2);
  const c = chooseC(x, y, innerFold.slice(0, 100), {});
  // Recompute the pooled inner-fold F1 of every C by hand and check the choice.
  const f1 = (C: number) => {
    const pred = new Int32Array(100);
    for (let g = 0; g < 5; g++) {
      const tr: number[] = [], te: number[] = [];
      for (let i = 0; i < 100; i++) (innerFold[i] === g ? te : tr).push(i);
      const r = runProbe(
        takeRows(x, tr),
        Int32Array.from(tr, (i) => y[i]),
        takeRows(x, te),
        Int32Array.from(te, (i) => y[i]),
        { C },
      );
      r.predictions.forEach((p, j) => (pred[te[j]] = p));
    }
    let tp1 = 0, fp1 = 0, fn1 = 0, tp0 = 0, fp0 = 0, fn0 = 0;
    for (let i = 0; i < 100; i++) {
      if (y[i] === 1 && pred[i] === 1) tp1++;
      if (y[i] === 0 && pred[i] === 1) (fp1++, fn0++);
      if (y[i] === 1 && pred[i] === 0) (fn1++, fp0++);
      if (y[i] === 0 && pred[i] === 0) tp0++;
    }
    return ((2 * tp1) / (2 * tp1 + fp1 + fn1) + (2 * tp0) / (2 * tp0 + fp0 + fn0)) / 2;
  };
  const scores = C_GRID.map(f1);
  const best = Math.max(...scores);
  assertEquals(c, C_GRID[scores.indexOf(best)]);
});
