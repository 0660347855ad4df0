/**
 * k-sparse probing (SAEBench's "how many latents carry the attribute"): the same probe as the full one, fit on
 * only the k latents whose class means differ most on the probe-training rows.
 *
 * For a feature matrix x (rows × latents), labels y ∈ {0, 1} and probe fold f, the fold's training rows are
 * T_f = { i : testFold[i] ≠ f } (lib/probe/protocol.ts) and each latent j scores
 *
 *   d_j(f) = | mean_{i ∈ T_f, y_i = 1} x_ij − mean_{i ∈ T_f, y_i = 0} x_ij |
 *
 * Latents are ranked by d_j(f) descending, ties broken by the lower index; a column constant on T_f has
 * d_j = 0 exactly and ranks last. Fold f's probe is fit on the top k columns of its own ranking, with
 * everything else as in `runProtocol` (standardization, L1 logistic, C chosen on the inner folds when the plan
 * has them), so the scored rows of a fold never influence which latents it uses. Predictions and decision
 * values are pooled over folds into one macro-F1, as for the full probe. Sizes are k ∈ {1, 2, 5, 10, 20},
 * capped at the column count (duplicates dropped), and all columns — that last probe is the full probe itself.
 * Under the "dev" protocol C is chosen by inner folds over T_f, whose ranking used all of T_f (as SAEBench
 * selects on its whole training set): the scored rows stay unseen.
 */
import { type Matrix, takeColumns } from "../common/matrix.ts";
import { type KSparseRow, type KSparseSetting, latentsText } from "../formats/ksparse.ts";
import { classificationMetrics } from "./metrics.ts";
import type { ProbeOptions } from "./probe.ts";
import { checkProbeRows, type ProbeRows, type ProtocolResult, runProtocol } from "./protocol.ts";

/** The probe sizes SAEBench reports (before capping at the column count). */
export const KSPARSE_K: readonly number[] = [1, 2, 5, 10, 20];

export interface KSparseProbe {
  /** Latents the probe was fit on (the column count for the all-latents probe). */
  k: number;
  /** The probe on every column (the full probe), not a top-k one. */
  allLatents: boolean;
  /** Macro-F1 and accuracy of the pooled predictions on the scored rows. */
  f1: number;
  accuracy: number;
  /** Fold 0's chosen latent indices in rank order (empty for the all-latents probe: every column). */
  latents: number[];
  /** Each fold's chosen latent indices in rank order (empty for the all-latents probe). */
  foldLatents: number[][];
  /** Pooled predictions and decision values (> 0: class 1) of the scored rows, in `scored` order. */
  predictions: Int32Array;
  scores: Float64Array;
  /** Nonzero coefficients (mean over folds, rounded), every fold converged, each fold's C. */
  nnz: number;
  converged: boolean;
  chosenC: number[];
}

export interface KSparseResult {
  /** Indices of the scored rows (testFold ≥ 0), ascending, and their labels. */
  scored: Int32Array;
  truth: Int32Array;
  /** One probe per size, ascending k, the all-latents probe last. */
  probes: KSparseProbe[];
}

/**
 * d_j = |mean of class 1 − mean of class 0| of every column over the given training rows (float64). Values are
 * taken relative to the first training row's, so a column constant on those rows gives exactly 0.
 */
export function meanDifferences(
  x: Matrix,
  y: Int32Array,
  trainRows: ArrayLike<number>,
  what = "k-sparse",
): Float64Array {
  if (y.length !== x.rows) throw new Error(`${what}: ${x.rows} rows but ${y.length} labels`);
  const sum = [new Float64Array(x.cols), new Float64Array(x.cols)];
  const count = [0, 0];
  const origin = trainRows.length > 0 ? trainRows[0] * x.cols : 0;
  for (let t = 0; t < trainRows.length; t++) {
    const i = trainRows[t], c = y[i];
    if (c !== 0 && c !== 1) {
      throw new Error(`${what}: row ${i} has label ${c}; k-sparse probing needs labels 0/1`);
    }
    count[c]++;
    const s = sum[c], base = i * x.cols;
    for (let j = 0; j < x.cols; j++) s[j] += x.data[base + j] - x.data[origin + j];
  }
  const missing = count.findIndex((n) => n === 0);
  if (missing >= 0) {
    throw new Error(
      `${what}: the training rows hold no row of class ${missing}; the ranking needs both classes`,
    );
  }
  const d = new Float64Array(x.cols);
  for (let j = 0; j < x.cols; j++) d[j] = Math.abs(sum[1][j] / count[1] - sum[0][j] / count[0]);
  return d;
}

/** Column indices by score descending, ties by the lower index. */
export function rankByScore(scores: Float64Array): number[] {
  return Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
}

/** The k-sparse sizes for a matrix of `cols` columns: each of `ks` capped at cols, below cols, deduplicated. */
export function kSparseSizes(cols: number, ks: readonly number[] = KSPARSE_K): number[] {
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 1) throw new Error(`k-sparse: sizes must be positive integers, got ${k}`);
  }
  return [...new Set(ks.map((k) => Math.min(k, cols)))].filter((k) => k < cols).sort((a, b) => a - b);
}

/** The rows fold f trains on (testFold ≠ f), ascending. */
function trainingRows(rows: ProbeRows, f: number): number[] {
  const out: number[] = [];
  rows.testFold.forEach((g, i) => (g !== f ? out.push(i) : 0));
  return out;
}

/** The plan of fold f alone: its scored rows are fold 0, every other row trains (innerFold kept). */
function foldPlan(rows: ProbeRows, f: number): ProbeRows {
  return { ...rows, testFold: Int32Array.from(rows.testFold, (g) => (g === f ? 0 : -1)), folds: 1 };
}

function fromProtocol(r: ProtocolResult, k: number, allLatents: boolean): KSparseProbe {
  return {
    k,
    allLatents,
    f1: r.macroF1,
    accuracy: r.accuracy,
    latents: [],
    foldLatents: [],
    predictions: r.predictions,
    scores: r.scores,
    nnz: r.nnz,
    converged: r.converged,
    chosenC: r.chosenC,
  };
}

/**
 * The k-sparse probes of one feature matrix under a probe-row plan (see the module's definition). `full`: the
 * full probe already run on the same x, rows and options (a grid cell has it), reused as the all-latents
 * probe instead of being refit.
 */
export function kSparseProbes(
  x: Matrix,
  rows: ProbeRows,
  probe: ProbeOptions = {},
  opts: { ks?: readonly number[]; full?: ProtocolResult } = {},
): KSparseResult {
  checkProbeRows(x, rows, "k-sparse probe rows");
  const rankings = Array.from(
    { length: rows.folds },
    (_, f) => rankByScore(meanDifferences(x, rows.y, trainingRows(rows, f), `k-sparse fold ${f}`)),
  );
  const full = opts.full ?? runProtocol(x, rows, probe);
  const { scored, truth } = full;
  const nScored = rows.testFold.filter((f) => f >= 0).length;
  if (scored.length !== nScored) {
    throw new Error(
      `k-sparse: the given full probe scored ${scored.length} rows, the plan scores ${nScored}`,
    );
  }
  const slot = new Map(Array.from(scored, (i, s) => [i, s]));
  const probes = kSparseSizes(x.cols, opts.ks).map((k): KSparseProbe => {
    const predictions = new Int32Array(scored.length), scores = new Float64Array(scored.length);
    const foldLatents: number[][] = [], chosenC: number[] = [];
    let nnz = 0, converged = true;
    for (let f = 0; f < rows.folds; f++) {
      const latents = rankings[f].slice(0, k);
      const r = runProtocol(takeColumns(x, latents), foldPlan(rows, f), probe);
      r.scored.forEach((i, s) => {
        predictions[slot.get(i)!] = r.predictions[s];
        scores[slot.get(i)!] = r.scores[s];
      });
      foldLatents.push(latents);
      chosenC.push(...r.chosenC);
      nnz += r.nnz / rows.folds;
      converged &&= r.converged;
    }
    const m = classificationMetrics(truth, predictions);
    return {
      k,
      allLatents: false,
      f1: m.macroF1,
      accuracy: m.accuracy,
      latents: foldLatents[0],
      foldLatents,
      predictions,
      scores,
      nnz: Math.round(nnz),
      converged,
      chosenC,
    };
  });
  probes.push(fromProtocol(full, x.cols, true));
  return { scored, truth, probes };
}

/** What the results keep of a k-sparse probe: plain JSON (a cached cell stores it), pooled in `scored` order. */
export interface KSparseOutcome {
  k: number;
  allLatents: boolean;
  f1: number;
  accuracy: number;
  /** Fold 0's chosen latents (empty for the all-latents probe). */
  latents: number[];
  predictions: number[];
  scores: number[];
}

/** The k-sparse probes as the results keep them. */
export function kSparseOutcomes(r: KSparseResult): KSparseOutcome[] {
  return r.probes.map((p) => ({
    k: p.k,
    allLatents: p.allLatents,
    f1: p.f1,
    accuracy: p.accuracy,
    latents: [...p.latents],
    predictions: Array.from(p.predictions),
    scores: Array.from(p.scores),
  }));
}

/**
 * The k-sparse table rows (lib/formats/ksparse.ts) of one feature's probes; `setting` from the feature's
 * results row (`ksparseSettingOf`). `interval`: F1's interval over test
 * speakers from a probe's pooled predictions (in the scored rows' order); without it the interval is null.
 */
export function kSparseTableRows(
  outcomes: readonly KSparseOutcome[],
  setting: KSparseSetting,
  interval?: (probe: KSparseOutcome) => { low: number; high: number } | null,
): KSparseRow[] {
  return outcomes.map((p) => {
    const iv = interval?.(p) ?? null;
    return {
      ...setting,
      k: p.k,
      all_latents: p.allLatents,
      f1: p.f1,
      f1_low: iv?.low ?? null,
      f1_high: iv?.high ?? null,
      latents: latentsText(p.latents),
    };
  });
}
