/**
 * Probe protocols: the paper's split is exactly one probe trained on val2 and scored on test; speaker-level
 * k-fold keeps every speaker in one fold, stratifies classes, pools predictions; label-permuted probes give
 * the chance level.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { refMacroF1 } from "../testdata/reference/stats.ts";
import { type Matrix, matrix, takeRows } from "../lib/common/matrix.ts";
import { Rng } from "../lib/common/random.ts";
import { speakerFolds, type TaskRow } from "../lib/data/mod.ts";
import { permutedLabelF1, runProbe, runProtocol } from "../lib/probe/mod.ts";

/** n rows of d features, one signal dimension of strength `signal`. */
function data(n: number, d: number, signal: number, seed: number): { X: Matrix; y: Int32Array } {
  const rng = new Rng(seed);
  const X = matrix(n, d), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3 === 0 ? 1 : 0;
    for (let j = 0; j < d; j++) X.data[i * d + j] = rng.normal() + (j === 0 ? signal * y[i] : 0);
  }
  return { X, y };
}

Deno.test("probe protocol split: one probe trained on the −1 rows, scored on fold 0 = runProbe(val2, test)", () => {
  const { X, y } = data(90, 6, 1.5, 1);
  const testFold = Int32Array.from({ length: 90 }, (_, i) => (i < 40 ? -1 : 0));
  const r = runProtocol(X, { y, testFold, folds: 1 });
  const tr = Array.from({ length: 40 }, (_, i) => i), te = Array.from({ length: 50 }, (_, i) => 40 + i);
  const direct = runProbe(takeRows(X, tr), y.slice(0, 40), takeRows(X, te), y.slice(40));
  assertEquals(r.macroF1, direct.macroF1);
  assertEquals(Array.from(r.predictions), Array.from(direct.predictions));
  assertEquals(Array.from(r.scored), te);
  assertEquals(r.minTrainRows, 40);
  assertEquals(r.fits.length, 1);
});

Deno.test("probe protocol kfold: every row scored once by a probe that never saw it; pooled macro-F1", () => {
  const { X, y } = data(120, 6, 2, 2);
  const testFold = Int32Array.from({ length: 120 }, (_, i) => Math.floor(i / 4) % 5);
  const r = runProtocol(X, { y, testFold, folds: 5 });
  assertEquals(r.scored.length, 120);
  assertEquals(r.fits.length, 5);
  assertEquals(r.macroF1, refMacroF1(Array.from(r.truth), Array.from(r.predictions)));
  // The results' nnz of a k-fold probe: the mean over folds of each probe's nonzero coefficients.
  const nnz = r.fits.map((f) => f.coef.filter((c) => c !== 0).length);
  assertEquals(r.nnz, Math.round(nnz.reduce((a, b) => a + b, 0) / nnz.length));
  assert(r.macroF1 > 0.75, `a strong signal is found (F1 ${r.macroF1})`);
  // Fold 2's predictions come from a probe trained without fold 2.
  const tr: number[] = [], te: number[] = [];
  testFold.forEach((f, i) => (f === 2 ? te : tr).push(i));
  const fold2 = runProbe(
    takeRows(X, tr),
    Int32Array.from(tr, (i) => y[i]),
    takeRows(X, te),
    Int32Array.from(te, (i) => y[i]),
  );
  assertEquals(te.map((i) => r.predictions[i]), Array.from(fold2.predictions));
  assertThrows(() => runProtocol(X, { y, testFold, folds: 6 }), Error, "fold 5 has no rows to predict");
});

Deno.test("probe protocol: label-permuted probes sit at chance, well below the real probe", () => {
  const { X, y } = data(150, 6, 2.5, 3);
  const testFold = Int32Array.from({ length: 150 }, (_, i) => i % 5);
  const real = runProtocol(X, { y, testFold, folds: 5 });
  const chance = permutedLabelF1(X, { y, testFold, folds: 5 }, 10, 7);
  assertEquals(chance.length, 10);
  const mean = chance.reduce((a, b) => a + b, 0) / chance.length;
  assert(mean < 0.6, `chance F1 ${mean}`);
  assert(real.macroF1 > mean + 0.25, `real ${real.macroF1} vs chance ${mean}`);
  assertEquals(permutedLabelF1(X, { y, testFold, folds: 5 }, 10, 7), chance, "seeded");
});

Deno.test("speakerFolds: a speaker's rows share one fold, classes spread over folds, order-independent", () => {
  const rows: TaskRow[] = [];
  for (let s = 0; s < 23; s++) {
    for (let u = 0; u < 3; u++) {
      rows.push({ utterance_id: `s${s}-${u}`, path: "", speaker_id: `spk${s}`, label: s < 8 ? 1 : 0 });
    }
  }
  const folds = speakerFolds(rows, 5);
  const bySpeaker = new Map<string, Set<number>>();
  rows.forEach((r, i) =>
    bySpeaker.set(r.speaker_id, (bySpeaker.get(r.speaker_id) ?? new Set()).add(folds[i]))
  );
  for (const f of bySpeaker.values()) assertEquals(f.size, 1);
  for (const label of [0, 1]) {
    const perFold = [0, 1, 2, 3, 4].map((f) =>
      new Set(rows.filter((r, i) => r.label === label && folds[i] === f).map((r) => r.speaker_id)).size
    );
    assert(Math.max(...perFold) - Math.min(...perFold) <= 1, `class ${label} per fold: ${perFold}`);
  }
  const reversed = speakerFolds([...rows].reverse(), 5).reverse();
  assertEquals(Array.from(reversed), Array.from(folds));
  const oneUkSpeaker = rows.filter((r) => r.label === 0 || r.speaker_id === "spk1");
  assertThrows(() => speakerFolds(oneUkSpeaker, 5), Error, "class 1 has 1 speaker(s)");
  assertThrows(() => speakerFolds(rows, 1), Error, "folds must be an integer ≥ 2");
});
