/**
 * Uncertainty of ΔF1: across seeds (mean ± std, 95 % t-interval) and, for single-seed runs, a percentile
 * bootstrap over test utterances (the feature's and the reference's predictions resampled together).
 */
import { Rng } from "../common/random.ts";

/** Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom (beyond: normal 1.96). */
const T975 = [
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.16,
  2.145,
  2.131,
  2.12,
  2.11,
  2.101,
  2.093,
  2.086,
  2.08,
  2.074,
  2.069,
  2.064,
  2.06,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
];

export interface Interval {
  mean: number;
  std: number;
  low: number;
  high: number;
  n: number;
}

/** Mean, sample std and the 95 % t-interval of the mean; a single value gives a zero-width interval. */
export function seedInterval(values: number[]): Interval {
  const n = values.length;
  if (n === 0) throw new Error("seedInterval: no values");
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, std: 0, low: mean, high: mean, n };
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  const t = n - 1 <= T975.length ? T975[n - 2] : 1.96;
  const half = (t * std) / Math.sqrt(n);
  return { mean, std, low: mean - half, high: mean + half, n };
}

/**
 * Macro-F1 from a binary confusion matrix c = [t0p0, t0p1, t1p0, t1p1], with scikit-learn's conventions
 * (a class absent from both truth and predictions is left out; zero division gives 0).
 */
export function macroF1FromConfusion(c: ArrayLike<number>): number {
  let sum = 0, classes = 0;
  for (const k of [0, 1]) {
    const tp = c[k * 3], fp = c[(1 - k) * 2 + k], fn = c[k * 2 + (1 - k)];
    if (tp + fp + fn === 0) continue;
    classes++;
    sum += (2 * tp) / (2 * tp + fp + fn);
  }
  return classes === 0 ? 0 : sum / classes;
}

/**
 * Percentile bootstrap (95 %) of ΔF1 = F1(feature) − F1(reference) over resampled test utterances (labels 0/1).
 * Each resample only counts confusion matrices, so a thousand resamples of a thousand utterances take
 * milliseconds.
 */
export function bootstrapDeltaF1(
  truth: ArrayLike<number>,
  predFeature: ArrayLike<number>,
  predRef: ArrayLike<number>,
  resamples: number,
  seed: number,
): { low: number; high: number } {
  const n = truth.length;
  for (
    const [name, a] of [["truth", truth], ["feature predictions", predFeature], [
      "reference predictions",
      predRef,
    ]] as const
  ) {
    if (a.length !== n) throw new Error(`bootstrapDeltaF1: ${name} has ${a.length} values, truth has ${n}`);
    for (let i = 0; i < n; i++) {
      if (a[i] !== 0 && a[i] !== 1) {
        throw new Error(`bootstrapDeltaF1: ${name}[${i}] = ${a[i]} is not a 0/1 label`);
      }
    }
  }
  // Cell index t·2 + p per utterance, for the feature and the reference.
  const cf = Int32Array.from({ length: n }, (_, i) => truth[i] * 2 + predFeature[i]);
  const cr = Int32Array.from({ length: n }, (_, i) => truth[i] * 2 + predRef[i]);
  const rng = new Rng(seed);
  const deltas = new Float64Array(resamples);
  const f = new Int32Array(4), r = new Int32Array(4);
  for (let b = 0; b < resamples; b++) {
    f.fill(0);
    r.fill(0);
    for (let i = 0; i < n; i++) {
      const j = rng.int(n);
      f[cf[j]]++;
      r[cr[j]]++;
    }
    deltas[b] = macroF1FromConfusion(f) - macroF1FromConfusion(r);
  }
  deltas.sort();
  const at = (p: number) => deltas[Math.min(resamples - 1, Math.max(0, Math.floor(p * resamples)))];
  return { low: at(0.025), high: at(0.975) };
}
