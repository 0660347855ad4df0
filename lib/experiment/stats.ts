/**
 * Uncertainty of ΔF1 and F1: across seeds (mean ± std, 95 % t-interval with the exact Student quantile) and a
 * percentile bootstrap over scored utterances (for ΔF1 the feature's and the reference's predictions are
 * resampled together).
 */
import { Rng } from "../common/random.ts";

/** ln Γ(x) for x > 0 (Lanczos, g = 7; |error| < 1e-13 over the range used here). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularized incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1, d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
function incompleteBeta(a: number, b: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x),
  );
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(a, b, x)) / a
    : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** CDF of Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / 2, 0.5, df / (df + t * t));
  return t >= 0 ? 1 - tail : tail;
}

/**
 * The p-quantile of Student's t for any df > 0 (bisection on the CDF to 1e-12), so an interval over 31 or
 * 300 seeds uses its own quantile rather than the normal 1.96.
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`studentTQuantile: p = ${p} must be in (0, 1)`);
  if (!(df > 0)) throw new Error(`studentTQuantile: df = ${df} must be positive`);
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0, hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

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
  const t = studentTQuantile(0.975, n - 1);
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

/** Percentile bootstrap (95 %) of macro-F1 over resampled scored utterances (labels 0/1). */
export function bootstrapF1(
  truth: ArrayLike<number>,
  pred: ArrayLike<number>,
  resamples: number,
  seed: number,
): { low: number; high: number } {
  const n = truth.length;
  if (pred.length !== n) throw new Error(`bootstrapF1: ${pred.length} predictions, truth has ${n}`);
  const cell = Int32Array.from({ length: n }, (_, i) => {
    if ((truth[i] !== 0 && truth[i] !== 1) || (pred[i] !== 0 && pred[i] !== 1)) {
      throw new Error(`bootstrapF1: row ${i} has truth ${truth[i]}, prediction ${pred[i]}; expected 0/1`);
    }
    return truth[i] * 2 + pred[i];
  });
  const rng = new Rng(seed);
  const f1 = new Float64Array(resamples);
  const c = new Int32Array(4);
  for (let b = 0; b < resamples; b++) {
    c.fill(0);
    for (let i = 0; i < n; i++) c[cell[rng.int(n)]]++;
    f1[b] = macroF1FromConfusion(c);
  }
  f1.sort();
  const at = (p: number) => f1[Math.min(resamples - 1, Math.max(0, Math.floor(p * resamples)))];
  return { low: at(0.025), high: at(0.975) };
}

/** Mean and the 2.5 % / 97.5 % percentiles of a sample (e.g. F1 of label-permuted probes). */
export function percentileInterval(values: number[]): { mean: number; low: number; high: number } {
  if (values.length === 0) throw new Error("percentileInterval: no values");
  const v = [...values].sort((a, b) => a - b);
  const at = (p: number) => v[Math.min(v.length - 1, Math.max(0, Math.floor(p * v.length)))];
  return { mean: v.reduce((a, b) => a + b, 0) / v.length, low: at(0.025), high: at(0.975) };
}
