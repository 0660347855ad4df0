/**
 * Plain references for the numbers a user reads off a probe: macro-F1 (scikit-learn's definition), Student's t
 * quantile (by numerical integration of the density, not the incomplete-beta continued fraction the library
 * uses), the 95 % t-interval of a seed mean, and the paired percentile bootstrap of F1 and ΔF1 over test
 * utterances, written from their definitions and independent of lib/.
 */

/**
 * scikit-learn's f1_score(average="macro"): labels = sorted union of truth and predictions; per label
 * F1 = 2TP / (2TP + FP + FN) (0 when that is 0/0); the unweighted mean over labels.
 */
export function refMacroF1(truth: ArrayLike<number>, pred: ArrayLike<number>): number {
  const labels = [...new Set([...Array.from(truth), ...Array.from(pred)])];
  let sum = 0;
  for (const c of labels) {
    let tp = 0, fp = 0, fn = 0;
    for (let i = 0; i < truth.length; i++) {
      if (pred[i] === c && truth[i] === c) tp++;
      else if (pred[i] === c) fp++;
      else if (truth[i] === c) fn++;
    }
    sum += 2 * tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  }
  return sum / labels.length;
}

/** ln Γ by Stirling's series after shifting the argument above 10 (independent of the Lanczos form). */
function lnGamma(x: number): number {
  let shift = 0;
  while (x < 10) {
    shift += Math.log(x);
    x += 1;
  }
  const x2 = x * x;
  const series = 1 / (12 * x) - 1 / (360 * x * x2) + 1 / (1260 * x2 * x2 * x) - 1 / (1680 * x2 * x2 * x2 * x);
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + series - shift;
}

/** P(0 ≤ T ≤ t) for Student's t with `df` degrees of freedom: composite Simpson on the density. */
function tMass(t: number, df: number): number {
  const c = Math.exp(lnGamma((df + 1) / 2) - lnGamma(df / 2)) / Math.sqrt(df * Math.PI);
  const f = (x: number) => c * Math.pow(1 + (x * x) / df, -(df + 1) / 2);
  const n = 20000;
  const h = t / n;
  let s = f(0) + f(t);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(i * h);
  return (s * h) / 3;
}

const quantiles = new Map<string, number>();

/** The p-quantile (p > 0.5) of Student's t: bisection on the integrated density (memoised). */
export function refTQuantile(p: number, df: number): number {
  const key = `${p}|${df}`;
  if (!quantiles.has(key)) quantiles.set(key, tQuantile(p, df));
  return quantiles.get(key)!;
}

function tQuantile(p: number, df: number): number {
  let lo = 0, hi = 1;
  while (0.5 + tMass(hi, df) < p) hi *= 2;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (0.5 + tMass(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Mean ± t_{0.975, n−1} · s/√n, s the sample standard deviation (n − 1 in the denominator). */
export function refTInterval(values: number[]): { mean: number; std: number; low: number; high: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  const half = (refTQuantile(0.975, n - 1) * std) / Math.sqrt(n);
  return { mean, std, low: mean - half, high: mean + half };
}

/**
 * The 95 % percentile bootstrap over utterances: `draw(n)` gives each resample's n utterance indices (with
 * replacement); the statistic is computed on the resampled labels of every prediction set at once (paired),
 * the resample values sorted, and the interval read at positions ⌊0.025·B⌋ and ⌊0.975·B⌋.
 */
export function refBootstrap(
  truth: ArrayLike<number>,
  preds: ArrayLike<number>[],
  statistic: (truth: number[], preds: number[][]) => number,
  resamples: number,
  draw: () => number,
): { low: number; high: number; values: number[] } {
  const n = truth.length;
  const values: number[] = [];
  for (let b = 0; b < resamples; b++) {
    const idx = Array.from({ length: n }, draw);
    values.push(statistic(idx.map((i) => truth[i]), preds.map((p) => idx.map((i) => p[i]))));
  }
  values.sort((a, b) => a - b);
  return { low: values[Math.floor(0.025 * resamples)], high: values[Math.floor(0.975 * resamples)], values };
}
