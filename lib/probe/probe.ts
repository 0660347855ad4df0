/**
 * The L1 logistic-regression probe (paper 2.3, 2.4, 3.3): standardizes on the training rows, fits
 * scikit-learn's L1 objective (C = 1, unpenalised intercept) and scores the test rows with macro-F1.
 */
import { assertFinite, type Matrix } from "../common/matrix.ts";
import { buildDesign } from "./design.ts";
import { fitL1Logistic } from "./logistic.ts";
import { classificationMetrics } from "./metrics.ts";
import { fitScaler, type Scaler } from "./scaler.ts";

export interface ProbeOptions {
  /** Inverse regularisation strength (default 1, the paper's scikit-learn default). */
  C?: number;
  /** Relative KKT-violation tolerance (default 1e-4). */
  tol?: number;
  /** Maximum Newton iterations (default 3000). */
  maxIter?: number;
  /** Seed of the solver's coordinate order (default 0). */
  seed?: number;
  /** Names of the inputs for error messages (e.g. file paths). */
  names?: { train?: string; trainLabels?: string; test?: string; testLabels?: string };
}

export interface ProbeResult {
  /** Macro-F1 on the test rows, in [0, 1] (labels: union of true and predicted, as scikit-learn). */
  macroF1: number;
  accuracy: number;
  f1PerClass: number[];
  /** The labels `f1PerClass` refers to, ascending. */
  labels: number[];
  /** Nonzero coefficients. */
  nnz: number;
  /** Newton iterations. */
  nIter: number;
  converged: boolean;
  /** ‖w‖₁ + C·Σᵢ logloss_i on the standardized training rows (scikit-learn's form). */
  objective: number;
  /** Wall time of standardization, fit and prediction. */
  seconds: number;
  /** The two training classes; the positive class of the decision function is classes[1]. */
  classes: [number, number];
  /** Coefficients on the standardized features, and the intercept. */
  coef: Float64Array;
  intercept: number;
  /** The scaler fitted on the training rows. */
  scaler: Scaler;
  /** Predicted class of each test row. */
  predictions: Int32Array;
  /** Decision value of each test row (> 0: classes[1]). */
  scores: Float64Array;
}

/** The two sorted classes of binary training labels, or a clear error. */
export function binaryClasses(y: Int32Array, name = "training labels"): [number, number] {
  const set = [...new Set(y)].sort((a, b) => a - b);
  if (set.length < 2) {
    throw new Error(
      `${name}: only one class (${set.length ? set[0] : "none"}) present; the probe needs two classes`,
    );
  }
  if (set.length > 2) {
    throw new Error(`${name}: ${set.length} classes (${set.join(", ")}); the probe is binary`);
  }
  return [set[0], set[1]];
}

/**
 * Checks that test labels use the training classes: a test label never seen in training (e.g. train {1, 2},
 * test {0, 1}) would be scored as a third class, so it is an error naming both files and the values found.
 */
export function checkLabelSets(
  classes: [number, number],
  yte: Int32Array,
  names: { trainLabels: string; testLabels: string },
): void {
  const counts = new Map<number, number>();
  for (const v of yte) counts.set(v, (counts.get(v) ?? 0) + 1);
  const unseen = [...counts].filter(([v]) => v !== classes[0] && v !== classes[1]).sort((a, b) =>
    a[0] - b[0]
  );
  if (unseen.length > 0) {
    const found = [...counts.keys()].sort((a, b) => a - b);
    throw new Error(
      `${names.testLabels}: labels {${found.join(", ")}} do not match the training classes ` +
        `{${classes.join(", ")}} of ${names.trainLabels}; never seen in training: ` +
        unseen.map(([v, n]) => `${v} (${n} row${n === 1 ? "" : "s"})`).join(", "),
    );
  }
}

/** Decision values b + Σ_j w_j (x_ij − μ_j)/σ_j, over the nonzero coefficients only. */
export function decisionFunction(
  X: Matrix,
  scaler: Scaler,
  coef: Float64Array,
  intercept: number,
): Float64Array {
  if (X.cols !== coef.length) {
    throw new Error(`decisionFunction: model has ${coef.length} features, X has ${X.cols}`);
  }
  const nz: number[] = [];
  for (let j = 0; j < coef.length; j++) if (coef[j] !== 0) nz.push(j);
  const out = new Float64Array(X.rows);
  for (let i = 0; i < X.rows; i++) {
    const base = i * X.cols;
    let s = intercept;
    for (const j of nz) s += coef[j] * ((X.data[base + j] - scaler.mean[j]) / scaler.scale[j]);
    out[i] = s;
  }
  return out;
}

export function runProbe(
  Xtr: Matrix,
  ytr: Int32Array,
  Xte: Matrix,
  yte: Int32Array,
  opts: ProbeOptions = {},
): ProbeResult {
  const names = {
    train: "training features",
    trainLabels: "training labels",
    test: "test features",
    testLabels: "test labels",
    ...opts.names,
  };
  if (Xtr.rows !== ytr.length) {
    throw new Error(`${names.trainLabels}: ${ytr.length} labels but ${names.train} has ${Xtr.rows} rows`);
  }
  if (Xte.rows !== yte.length) {
    throw new Error(`${names.testLabels}: ${yte.length} labels but ${names.test} has ${Xte.rows} rows`);
  }
  if (Xtr.cols !== Xte.cols) {
    throw new Error(`${names.test}: ${Xte.cols} features but ${names.train} has ${Xtr.cols}`);
  }
  if (Xtr.cols === 0) {
    throw new Error(
      `${names.train}: 0 feature columns; a probe on no features scores only the majority class — check ` +
        `how the features were built (an empty selection of latents or columns)`,
    );
  }
  if (Xtr.rows === 0) throw new Error(`${names.train}: no rows (the training set is empty)`);
  if (Xte.rows === 0) throw new Error(`${names.test}: no rows`);
  assertFinite(Xtr, names.train);
  assertFinite(Xte, names.test);
  const classes = binaryClasses(ytr, names.trainLabels);
  checkLabelSets(classes, yte, names);
  const t0 = performance.now();
  const scaler = fitScaler(Xtr);
  const design = buildDesign(Xtr, scaler);
  const y = Float64Array.from(ytr, (v) => (v === classes[1] ? 1 : -1));
  const fit = fitL1Logistic(design, y, { C: opts.C, tol: opts.tol, maxIter: opts.maxIter, seed: opts.seed });
  const decision = decisionFunction(Xte, scaler, fit.coef, fit.intercept);
  const pred = Int32Array.from(decision, (v) => (v > 0 ? classes[1] : classes[0]));
  const m = classificationMetrics(yte, pred);
  let nnz = 0;
  for (const v of fit.coef) if (v !== 0) nnz++;
  return {
    macroF1: m.macroF1,
    accuracy: m.accuracy,
    f1PerClass: m.f1PerClass,
    labels: m.labels,
    nnz,
    nIter: fit.nIter,
    converged: fit.converged,
    objective: fit.objective,
    seconds: (performance.now() - t0) / 1000,
    classes,
    coef: fit.coef,
    intercept: fit.intercept,
    scaler,
    predictions: pred,
    scores: decision,
  };
}
