/**
 * The L1-logistic probe against its definition (testdata/reference/logistic.ts) and against scikit-learn:
 * the standardisation, the objective the fit reports, the optimality (KKT) conditions at the solution, the
 * coefficients of an independent solver (exact cyclic coordinate descent), predictions, and the coefficients scikit-learn found on the
 * committed fixtures (tests/fixtures/probe/<name>/sklearn_coef.json, made by tools/make_parity_fixtures.ts).
 */
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { type Matrix, readMatrix } from "../lib/common/matrix.ts";
import { readLabels } from "../lib/probe/labels.ts";
import { runProbe } from "../lib/probe/mod.ts";
import { Rng } from "../lib/common/random.ts";
import {
  refKktViolation,
  refObjective,
  refSolveL1Logistic,
  refStandardize,
} from "../testdata/reference/logistic.ts";
import { refMacroF1 } from "../testdata/reference/stats.ts";

const FIXTURES = new URL("./fixtures/probe/", import.meta.url).pathname;

function rowsOf(m: Matrix): number[][] {
  return Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
}

async function fixture(name: string) {
  const dir = `${FIXTURES}/${name}`;
  const [Xtr, ytr, Xte, yte] = await Promise.all([
    readMatrix(`${dir}/Xtr.npy`),
    readLabels(`${dir}/ytr.npy`),
    readMatrix(`${dir}/Xte.npy`),
    readLabels(`${dir}/yte.npy`),
  ]);
  return { Xtr, ytr, Xte, yte };
}

/** max |a − b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** A seeded, well-conditioned problem: 5 informative of d Gaussian columns with different offsets and scales. */
function planted(n: number, d: number, seed: number): { X: Matrix; y: Int32Array } {
  const rng = new Rng(seed);
  const data = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let t = 0.4;
    for (let j = 0; j < d; j++) {
      const v = rng.normal();
      data[i * d + j] = 3 * j + (1 + j / 4) * v; // offset and scale per column: standardisation matters
      if (j < 5) t += (j % 2 ? -1 : 1.5) * v;
    }
    y[i] = rng.next() < 1 / (1 + Math.exp(-t)) ? 1 : 0;
  }
  return { X: { rows: n, cols: d, data }, y };
}

Deno.test("reference probe: standardisation, objective, KKT and an independent solver's coefficients agree", () => {
  const { X, y } = planted(200, 12, 8);
  const test = planted(80, 12, 9);
  const r = runProbe(X, y, test.X, test.y, { tol: 1e-10, maxIter: 1000 });
  const std = refStandardize(rowsOf(X));
  const ys = Array.from(y, (v) => (v === r.classes[1] ? 1 : -1));
  for (let j = 0; j < X.cols; j++) {
    assertAlmostEquals(r.scaler.mean[j], std.mean[j], 1e-9 * Math.abs(std.mean[j]) + 1e-12, `mean ${j}`);
    assertAlmostEquals(r.scaler.scale[j], std.scale[j], 1e-9 * std.scale[j], `scale ${j}`);
  }
  assertAlmostEquals(r.objective, refObjective(std.x, ys, r.coef, r.intercept, 1), 1e-9 * r.objective);
  const violation = refKktViolation(std.x, ys, r.coef, r.intercept, 1);
  assert(violation < 1e-6, `KKT violation ${violation} at the returned solution`);
  const ref = refSolveL1Logistic(std.x, ys, 1);
  assert(ref.violation < 1e-8, `the reference solver did not converge (${ref.violation})`);
  assert(
    r.nnz > 2 && r.nnz < X.cols,
    `nnz ${r.nnz}: the L1 penalty should zero some but not all coefficients`,
  );
  const err = relErr(r.coef, ref.coef);
  assert(err < 1e-6, `coefficients differ from the reference solver's by ${err} (relative to the largest)`);
  assertAlmostEquals(r.intercept, ref.intercept, 1e-6 * Math.max(1, Math.abs(ref.intercept)));
  for (let j = 0; j < X.cols; j++) {
    assertEquals(r.coef[j] === 0, Math.abs(ref.coef[j]) < 1e-9, `support at ${j}`);
  }
  // Predictions: sign of the decision function on the test rows standardized with the training statistics.
  const pred = rowsOf(test.X).map((row) => {
    let f = r.intercept;
    row.forEach((v, j) => (f += r.coef[j] * (v - std.mean[j]) / std.scale[j]));
    return f > 0 ? r.classes[1] : r.classes[0];
  });
  assertEquals(Array.from(r.predictions), pred);
  assertAlmostEquals(r.macroF1, refMacroF1(test.y, pred), 1e-15);
});

Deno.test("reference probe: a smaller C zeroes more coefficients (the penalty's scale is C's inverse)", () => {
  const { X, y } = planted(200, 12, 8);
  const std = refStandardize(rowsOf(X));
  const ys = Array.from(y, (v) => (v === 1 ? 1 : -1));
  const strong = runProbe(X, y, X, y, { C: 0.02, tol: 1e-10, maxIter: 1000 });
  const violation = refKktViolation(std.x, ys, strong.coef, strong.intercept, 0.02);
  assert(violation < 1e-7, `KKT violation at C = 0.02: ${violation}`);
  const weak = runProbe(X, y, X, y, { C: 1, tol: 1e-10, maxIter: 1000 });
  assert(strong.nnz < weak.nnz, `nnz at C = 0.02 (${strong.nnz}) not below C = 1 (${weak.nnz})`);
});

interface SklearnCoef {
  coef: number[];
  intercept: number;
  objective: number;
}

for (const name of ["dense", "sparse"]) {
  Deno.test(`reference probe: coefficients equal scikit-learn's on the committed '${name}' fixture`, async () => {
    const { Xtr, ytr, Xte, yte } = await fixture(name);
    const want: SklearnCoef = JSON.parse(await Deno.readTextFile(`${FIXTURES}/${name}/sklearn_coef.json`));
    const r = runProbe(Xtr, ytr, Xte, yte, { tol: 1e-10, maxIter: 2000 });
    const err = relErr(r.coef, want.coef);
    assert(err < 1e-6, `coefficients differ from scikit-learn's by ${err} (relative to the largest)`);
    assertAlmostEquals(r.intercept, want.intercept, 1e-6 * Math.max(1, Math.abs(want.intercept)));
    assertAlmostEquals(r.objective, want.objective, 1e-9 * want.objective);
  });
}
