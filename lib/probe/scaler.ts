/**
 * StandardScaler with scikit-learn's semantics: mean and population standard deviation (ddof = 0) per
 * feature, fitted on the training rows only; a (numerically) constant feature gets scale 1, using sklearn's
 * `_is_constant_feature` bound so the same features are treated as constant.
 */
import type { Matrix } from "../common/matrix.ts";

export interface Scaler {
  mean: Float64Array;
  /** Population std, or exactly 1 for constant features. */
  scale: Float64Array;
  /** True where the feature is constant on the training rows. */
  constant: Uint8Array;
}

/** A row-major matrix of any float precision (the float64 features a user passes are standardised as such). */
export type AnyMatrix = Pick<Matrix, "rows" | "cols"> & { data: ArrayLike<number> };

export function fitScaler(X: AnyMatrix): Scaler {
  if (X.rows === 0) throw new Error("fitScaler: no training rows");
  const d = X.cols, n = X.rows;
  const mean = new Float64Array(d), m2 = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const base = i * d;
    for (let j = 0; j < d; j++) mean[j] += X.data[base + j];
  }
  for (let j = 0; j < d; j++) mean[j] /= n;
  // Two-pass variance: exact enough in float64 and free of the cancellation of E[x²] − E[x]².
  for (let i = 0; i < n; i++) {
    const base = i * d;
    for (let j = 0; j < d; j++) {
      const t = X.data[base + j] - mean[j];
      m2[j] += t * t;
    }
  }
  const scale = new Float64Array(d), constant = new Uint8Array(d);
  const eps = Number.EPSILON;
  for (let j = 0; j < d; j++) {
    const variance = m2[j] / n;
    const bound = n * eps * variance + (n * mean[j] * eps) ** 2;
    if (variance <= bound) {
      constant[j] = 1;
      scale[j] = 1;
    } else scale[j] = Math.sqrt(variance);
  }
  return { mean, scale, constant };
}

/** (X − mean) / scale as a new float32 matrix (computed in float64, rounded once). */
export function applyScaler(s: Scaler, X: AnyMatrix): Matrix {
  if (X.cols !== s.mean.length) {
    throw new Error(`applyScaler: scaler fitted on ${s.mean.length} features, got ${X.cols}`);
  }
  const out = new Float32Array(X.data.length);
  for (let i = 0; i < X.rows; i++) {
    const base = i * X.cols;
    for (let j = 0; j < X.cols; j++) out[base + j] = (X.data[base + j] - s.mean[j]) / s.scale[j];
  }
  return { rows: X.rows, cols: X.cols, data: out };
}
