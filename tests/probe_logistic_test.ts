import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertLessOrEqual,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { type Matrix, matrix } from "../lib/common/matrix.ts";
import { writeNpy } from "../lib/formats/npy.ts";
import { Rng } from "../lib/common/random.ts";
import { commands } from "../lib/probe/cli.ts";
import { buildDesign, fitL1Logistic, fitScaler, runProbe } from "../lib/probe/mod.ts";

/** Planted sparse logistic model; `density` < 1 gives nonnegative SAE-like activations. */
function synthetic(n: number, d: number, density: number, seed: number): { X: Matrix; y: Int32Array } {
  const rng = new Rng(seed);
  const X = matrix(n, d);
  for (let i = 0; i < X.data.length; i++) {
    X.data[i] = density >= 1 ? rng.normal() : rng.next() < density ? Math.abs(rng.normal()) + 0.1 : 0;
  }
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let t = -0.3;
    for (let j = 0; j < 5; j++) t += (j % 2 ? -1.5 : 2) * X.data[i * d + j];
    y[i] = rng.next() < 1 / (1 + Math.exp(-t)) ? 1 : 0;
  }
  return { X, y };
}

/** Standardized matrix in float64, computed independently of the solver's storage. */
function standardize(X: Matrix): Float64Array[] {
  const s = fitScaler(X);
  return Array.from(
    { length: X.rows },
    (_, i) =>
      Float64Array.from(
        X.data.subarray(i * X.cols, (i + 1) * X.cols),
        (v, j) => (v - s.mean[j]) / s.scale[j],
      ),
  );
}

function fit(X: Matrix, y: Int32Array, sparseMaxDensity?: number, tol = 1e-4) {
  const design = buildDesign(X, fitScaler(X), sparseMaxDensity);
  return fitL1Logistic(design, Float64Array.from(y, (v) => (v ? 1 : -1)), { tol });
}

/** [label, density, offset added to every value: centering is folded into the solver, never materialised]. */
const KKT_CASES: [string, number, number][] = [
  ["dense Gaussian", 1, 0],
  ["dense, mean 50", 1, 50],
  ["sparse nonnegative", 0.1, 0],
];
for (const [label, density, offset] of KKT_CASES) {
  Deno.test(`probe logistic (${label}): KKT conditions hold at the solution and the objective matches`, () => {
    const { X, y } = synthetic(300, 40, density, 7);
    for (let i = 0; i < X.data.length; i++) X.data[i] += offset;
    const r = fit(X, y, undefined, 1e-6);
    assert(r.converged);
    const Z = standardize(X);
    const grad = new Float64Array(X.cols);
    let gradB = 0, loss = 0;
    for (let i = 0; i < X.rows; i++) {
      let f = r.intercept;
      for (let j = 0; j < X.cols; j++) f += r.coef[j] * Z[i][j];
      const yi = y[i] ? 1 : -1;
      loss += Math.log1p(Math.exp(-yi * f));
      const g = -yi / (1 + Math.exp(yi * f));
      gradB += g;
      for (let j = 0; j < X.cols; j++) grad[j] += g * Z[i][j];
    }
    let l1 = 0;
    for (const w of r.coef) l1 += Math.abs(w);
    assertAlmostEquals(r.objective, l1 + loss, 1e-8 * (l1 + loss));
    assertLessOrEqual(Math.abs(gradB), 1e-3);
    let nnz = 0;
    for (let j = 0; j < X.cols; j++) {
      // Optimality of ‖w‖₁ + loss: ∂loss/∂w_j = −sign(w_j) where w_j ≠ 0, |∂loss/∂w_j| ≤ 1 where w_j = 0.
      if (r.coef[j] === 0) assertLessOrEqual(Math.abs(grad[j]), 1 + 1e-3);
      else {
        nnz++;
        assertAlmostEquals(grad[j], -Math.sign(r.coef[j]), 1e-3);
      }
    }
    assert(nnz >= 3 && nnz < X.cols, `expected a sparse solution, got ${nnz} nonzeros`);
  });
}

Deno.test("probe logistic: objective never increases across Newton steps; fits are deterministic", () => {
  const { X, y } = synthetic(400, 60, 0.2, 3);
  const a = fit(X, y), b = fit(X, y);
  assert(a.history.length >= 2);
  for (let t = 1; t < a.history.length; t++) assertLessOrEqual(a.history[t], a.history[t - 1]);
  assertEquals(Array.from(a.coef), Array.from(b.coef));
  assertEquals(a.intercept, b.intercept);
  assertEquals(a.objective, b.objective);
  assertAlmostEquals(a.objective, a.history[a.history.length - 1], 1e-9 * a.objective);
});

Deno.test("probe logistic: sparse and dense column storage reach the same optimum", () => {
  const { X, y } = synthetic(300, 50, 0.15, 11);
  const sparse = fit(X, y, 1, 1e-7), dense = fit(X, y, 0, 1e-7);
  assertAlmostEquals(sparse.objective, dense.objective, 1e-7 * dense.objective);
  for (let j = 0; j < X.cols; j++) assertAlmostEquals(sparse.coef[j], dense.coef[j], 1e-3);
  assertAlmostEquals(sparse.intercept, dense.intercept, 1e-3);
});

Deno.test("probe runProbe: predicts well on a planted model; a constant feature gets no weight", () => {
  const { X, y } = synthetic(600, 20, 1, 5);
  for (let i = 0; i < X.rows; i++) X.data[i * X.cols + 19] = 4; // constant column
  const tr = matrix(400, 20, X.data.slice(0, 400 * 20)), te = matrix(200, 20, X.data.slice(400 * 20));
  const r = runProbe(tr, y.slice(0, 400), te, y.slice(400));
  assert(r.converged);
  assert(r.macroF1 > 0.7, `macro-F1 ${r.macroF1}`);
  assertEquals(r.coef[19], 0);
  assertEquals(r.labels, [0, 1]);
  assertEquals(r.f1PerClass.length, 2);
});

Deno.test("probe runProbe: bad inputs give clear errors", () => {
  const X = matrix(4, 2, Float32Array.from([0, 1, 1, 0, 2, 2, 3, 1]));
  const y = Int32Array.from([0, 1, 0, 1]);
  assertThrows(() => runProbe(X, Int32Array.from([1, 1, 1, 1]), X, y), Error, "only one class (1)");
  assertThrows(() => runProbe(X, Int32Array.from([0, 1, 2, 1]), X, y), Error, "3 classes");
  assertThrows(() => runProbe(X, y.slice(0, 3), X, y), Error, "3 labels but training features has 4 rows");
  const nan = matrix(4, 2, X.data.slice());
  nan.data[5] = NaN;
  assertThrows(
    () => runProbe(nan, y, X, y),
    Error,
    "training features: non-finite value NaN at row 2, column 1",
  );
  assertThrows(() => runProbe(X, y, matrix(4, 3), y), Error, "3 features but training features has 2");
});

Deno.test("probe CLI: errors name the offending file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "probe_cli_" });
  try {
    const { X, y } = synthetic(60, 4, 1, 1);
    const p = (name: string) => `${dir}/${name}`;
    await writeNpy(p("X.npy"), X.data, [60, 4]);
    await writeNpy(p("y.npy"), y, [60]);
    await writeNpy(p("y_short.npy"), y.slice(0, 50), [50]);
    await writeNpy(p("y_one.npy"), new Int32Array(60), [60]);
    await writeNpy(p("y_float.npy"), new Float32Array(60), [60]);
    const bad = X.data.slice();
    bad[7] = NaN;
    await writeNpy(p("X_nan.npy"), bad, [60, 4]);
    const probe = commands.find((c) => c.name === "probe")!;
    const run = (train: string, labels: string) =>
      probe.run(
        { train: p(train), "train-labels": p(labels), test: p("X.npy"), "test-labels": p("y.npy") },
        [],
        { cacheDir: dir, debug: false },
      );
    await assertRejects(() => run("X.npy", "y_short.npy"), Error, `${p("y_short.npy")}: 50 labels but`);
    await assertRejects(() => run("X.npy", "y_one.npy"), Error, `${p("y_one.npy")}: only one class (0)`);
    await assertRejects(
      () => run("X.npy", "y_float.npy"),
      Error,
      `${p("y_float.npy")}: labels must be an integer`,
    );
    await assertRejects(
      () => run("X_nan.npy", "y.npy"),
      Error,
      `${p("X_nan.npy")}: non-finite value NaN at row 1`,
    );
    const summary = await run("X.npy", "y.npy");
    for (
      const key of [
        "macro_f1",
        "accuracy",
        "nnz",
        "n_iter",
        "converged",
        "objective",
        "seconds",
        "f1_per_class",
      ]
    ) {
      assert(key in summary, `summary lacks ${key}`);
    }
    assertEquals([summary.n_train, summary.n_test, summary.d], [60, 60, 4]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
