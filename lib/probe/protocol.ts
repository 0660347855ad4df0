/**
 * The probe protocol: which rows train a probe and which are scored. One shape covers both protocols the
 * toolkit runs: `testFold[i]` is the fold in which row i is predicted (−1: a training row in every fold).
 * Fold f trains on every row whose testFold ≠ f and predicts the rows whose testFold = f; the scored rows'
 * predictions are pooled (row order) into one macro-F1.
 *   split (the paper): rows = val2 (testFold −1) + test (testFold 0), one fold.
 *   kfold: rows = every non-SAE row, testFold = its speaker's fold (lib/data speakerFolds), k folds.
 *   dev: rows = every development row the probe may use (testFold −1) + test (testFold 0), one fold, with C
 *        chosen by speaker-level inner cross-validation over the training rows (`innerFold`, C_GRID) and the
 *        probe refit on all of them at the chosen C.
 */
import { type Matrix, takeRows } from "../common/matrix.ts";
import { Rng } from "../common/random.ts";
import { classificationMetrics } from "./metrics.ts";
import { type ProbeOptions, type ProbeResult, runProbe } from "./probe.ts";

export interface ProbeRows {
  /** Labels (0/1) of every row. */
  y: Int32Array;
  /** The fold in which each row is predicted; −1 = always a training row. */
  testFold: Int32Array;
  folds: number;
  /**
   * With it, C is chosen per fold by inner cross-validation: the inner fold of each training row (speaker
   * level; −1 for scored rows), over C_GRID; the probe is then refit on every training row at the chosen C.
   */
  innerFold?: Int32Array;
}

/** The C values inner cross-validation chooses from (inverse L1 strength, log-spaced around the paper's 1). */
export const C_GRID: readonly number[] = [0.01, 0.03, 0.1, 0.3, 1, 3, 10];

export interface ProtocolResult {
  /** Indices of the scored rows (testFold ≥ 0), ascending. */
  scored: Int32Array;
  /** True labels and pooled predictions of the scored rows. */
  truth: Int32Array;
  predictions: Int32Array;
  macroF1: number;
  accuracy: number;
  /** Nonzero coefficients, averaged over folds (rounded). */
  nnz: number;
  /** Newton iterations, the most any fold needed. */
  nIter: number;
  /** Every fold converged. */
  converged: boolean;
  /** Training rows of the smallest fold. */
  minTrainRows: number;
  seconds: number;
  /** The fitted probe of each fold. */
  fits: ProbeResult[];
  /** Pooled decision values of the scored rows (> 0: class 1). */
  scores: Float64Array;
  /** The C each fold's probe was fit with (chosen by inner cross-validation, or the given one). */
  chosenC: number[];
}

/**
 * The C of C_GRID whose inner-fold probes, trained on the other inner folds and pooled, give the highest
 * macro-F1 on the training rows (ties: the smaller C, the sparser probe).
 */
export function chooseC(x: Matrix, y: Int32Array, innerFold: Int32Array, opts: ProbeOptions): number {
  const folds = Math.max(...innerFold) + 1;
  let best = C_GRID[0], bestF1 = -Infinity;
  for (const C of C_GRID) {
    const pred = new Int32Array(y.length);
    for (let g = 0; g < folds; g++) {
      const train: number[] = [], test: number[] = [];
      for (let i = 0; i < y.length; i++) (innerFold[i] === g ? test : train).push(i);
      if (test.length === 0) continue;
      const r = runProbe(
        takeRows(x, train),
        Int32Array.from(train, (i) => y[i]),
        takeRows(x, test),
        Int32Array.from(test, (i) => y[i]),
        { ...opts, C, names: { trainLabels: `training labels of inner fold ${g}` } },
      );
      r.predictions.forEach((p, j) => (pred[test[j]] = p));
    }
    const f1 = classificationMetrics(y, pred).macroF1;
    if (f1 > bestF1) [best, bestF1] = [C, f1];
  }
  return best;
}

/** Checks a probe-row plan against its matrix: lengths, fold range, every fold has rows to predict. */
export function checkProbeRows(x: Matrix, rows: ProbeRows, what = "probe rows"): void {
  if (rows.y.length !== x.rows || rows.testFold.length !== x.rows) {
    throw new Error(
      `${what}: ${x.rows} rows but ${rows.y.length} labels and ${rows.testFold.length} fold entries`,
    );
  }
  const counts = new Int32Array(rows.folds);
  for (const f of rows.testFold) {
    if (!Number.isInteger(f) || f < -1 || f >= rows.folds) throw new Error(`${what}: fold ${f} out of range`);
    if (f >= 0) counts[f]++;
  }
  const empty = counts.findIndex((c) => c === 0);
  if (empty >= 0) throw new Error(`${what}: fold ${empty} has no rows to predict`);
  if (rows.innerFold && rows.innerFold.length !== x.rows) {
    throw new Error(`${what}: ${x.rows} rows but ${rows.innerFold.length} inner-fold entries`);
  }
}

/** Runs the protocol's probes on `x` and pools their predictions on the scored rows. */
export function runProtocol(x: Matrix, rows: ProbeRows, opts: ProbeOptions = {}): ProtocolResult {
  checkProbeRows(x, rows);
  const t0 = performance.now();
  const scored: number[] = [];
  for (let i = 0; i < x.rows; i++) if (rows.testFold[i] >= 0) scored.push(i);
  const slot = new Map(scored.map((i, s) => [i, s]));
  const predictions = new Int32Array(scored.length);
  const scores = new Float64Array(scored.length);
  let nnz = 0, nIter = 0, converged = true, minTrainRows = Infinity;
  const fits: ProbeResult[] = [];
  const chosenC: number[] = [];
  for (let f = 0; f < rows.folds; f++) {
    const train: number[] = [], test: number[] = [];
    for (let i = 0; i < x.rows; i++) (rows.testFold[i] === f ? test : train).push(i);
    const yTrain = Int32Array.from(train, (i) => rows.y[i]);
    const yTest = Int32Array.from(test, (i) => rows.y[i]);
    const xTrain = takeRows(x, train);
    const C = rows.innerFold
      ? chooseC(xTrain, yTrain, Int32Array.from(train, (i) => rows.innerFold![i]), opts)
      : opts.C ?? 1;
    chosenC.push(C);
    const r = runProbe(xTrain, yTrain, takeRows(x, test), yTest, {
      ...opts,
      C,
      names: { trainLabels: `training labels of fold ${f}` },
    });
    r.predictions.forEach((p, j) => (predictions[slot.get(test[j])!] = p));
    r.scores.forEach((v, j) => (scores[slot.get(test[j])!] = v));
    nnz += r.nnz / rows.folds;
    nIter = Math.max(nIter, r.nIter);
    converged &&= r.converged;
    minTrainRows = Math.min(minTrainRows, train.length);
    fits.push(r);
  }
  const truth = Int32Array.from(scored, (i) => rows.y[i]);
  const m = classificationMetrics(truth, predictions);
  return {
    scored: Int32Array.from(scored),
    truth,
    predictions,
    macroF1: m.macroF1,
    accuracy: m.accuracy,
    nnz: Math.round(nnz),
    nIter,
    converged,
    minTrainRows,
    seconds: (performance.now() - t0) / 1000,
    fits,
    scores,
    chosenC,
  };
}

/**
 * The chance level of the protocol: the macro-F1 of the same probes trained on permuted labels (permuted
 * within the always-training rows and within the scored rows separately, so every fold keeps its class counts
 * in expectation and the split keeps val2's), scored against the true labels. One F1 per permutation.
 */
export function permutedLabelF1(
  x: Matrix,
  rows: ProbeRows,
  permutations: number,
  seed: number,
  opts: ProbeOptions = {},
): number[] {
  const rng = new Rng(seed);
  const groups = [-1, 0].map((g) => {
    const idx: number[] = [];
    rows.testFold.forEach((f, i) => ((g < 0 ? f < 0 : f >= 0) ? idx.push(i) : 0));
    return idx;
  });
  const out: number[] = [];
  for (let p = 0; p < permutations; p++) {
    const yPerm = Int32Array.from(rows.y);
    for (const idx of groups) {
      const perm = rng.permutation(idx.length);
      idx.forEach((i, j) => (yPerm[i] = rows.y[idx[perm[j]]]));
    }
    const r = runProtocol(x, { ...rows, y: yPerm }, opts);
    out.push(classificationMetrics(r.truth.map((_, s) => rows.y[r.scored[s]]), r.predictions).macroF1);
  }
  return out;
}
