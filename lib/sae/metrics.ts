/**
 * SAE quality metrics. Formulas (float64 accumulation):
 *   MSE  = Σ‖u − û‖² / (N·d)                       (mean over samples and features, the training loss)
 *   NMSE = Σ‖u − û‖² / Σ‖u − ū‖²                   (ū = per-feature mean over the N samples: mean-centred)
 *   explained variance = 1 − NMSE
 *   L0   = mean over samples of #{j : z_j > 0}
 *   density_j = fraction of samples with z_j > 0;  dead latents = #{j : density_j = 0}
 */
import type { Matrix } from "../common/matrix.ts";

export interface SaeMetrics {
  mse: number;
  nmse: number;
  explainedVariance: number;
  l0: number;
  deadLatents: number;
  /** Per-latent activation frequency (d_z). */
  density: Float32Array;
}

/** Σ‖u − ū‖² over rows, with ū the column means (float64). */
export function totalSumSquares(X: Matrix): number {
  const { rows, cols, data } = X;
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let i = 0; i < cols; i++) mean[i] += data[r * cols + i];
  for (let i = 0; i < cols; i++) mean[i] /= rows;
  let sst = 0;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < cols; i++) {
      const t = data[r * cols + i] - mean[i];
      sst += t * t;
    }
  }
  return sst;
}

/** Streams reconstruction error and activation counts batch by batch. */
export class MetricsAccumulator {
  sse = 0;
  rows = 0;
  activeTotal = 0;
  readonly counts: Float64Array;
  constructor(readonly dIn: number, readonly dZ: number) {
    this.counts = new Float64Array(dZ);
  }
  /** Adds squared error of one batch (already summed). */
  addError(sse: number, rows: number): void {
    this.sse += sse;
    this.rows += rows;
  }
  /** Adds the activations of one batch in top-k form (rows × k values and latent indices). */
  addTopK(vals: Float32Array, idx: Int32Array, n: number): void {
    for (let i = 0; i < n; i++) {
      if (vals[i] > 0) {
        this.counts[idx[i]]++;
        this.activeTotal++;
      }
    }
  }
  /** Adds one dense activation row z (d_z). */
  addDenseRow(z: ArrayLike<number>): void {
    for (let j = 0; j < z.length; j++) {
      if (z[j] > 0) {
        this.counts[j]++;
        this.activeTotal++;
      }
    }
  }
  deadLatents(): number {
    let dead = 0;
    for (let j = 0; j < this.dZ; j++) if (this.counts[j] === 0) dead++;
    return dead;
  }
  /** Final metrics given Σ‖u − ū‖² of the same samples. */
  finish(sst: number): SaeMetrics {
    const nmse = this.sse / sst;
    const density = new Float32Array(this.dZ);
    for (let j = 0; j < this.dZ; j++) density[j] = this.counts[j] / this.rows;
    return {
      mse: this.sse / (this.rows * this.dIn),
      nmse,
      explainedVariance: 1 - nmse,
      l0: this.activeTotal / this.rows,
      deadLatents: this.deadLatents(),
      density,
    };
  }
}

/** Metrics from dense inputs U, reconstructions Û and activations Z (all N rows). */
export function computeMetrics(U: Matrix, Uhat: Matrix, Z: Matrix): SaeMetrics {
  if (U.rows !== Uhat.rows || U.cols !== Uhat.cols || Z.rows !== U.rows) {
    throw new Error(
      `metrics: shapes disagree: U ${U.rows}×${U.cols}, Û ${Uhat.rows}×${Uhat.cols}, Z ${Z.rows}×${Z.cols}`,
    );
  }
  if (U.rows === 0) throw new Error("metrics: no samples");
  const acc = new MetricsAccumulator(U.cols, Z.cols);
  let sse = 0;
  for (let i = 0; i < U.data.length; i++) sse += (U.data[i] - Uhat.data[i]) ** 2;
  acc.addError(sse, U.rows);
  for (let r = 0; r < Z.rows; r++) acc.addDenseRow(Z.data.subarray(r * Z.cols, (r + 1) * Z.cols));
  return acc.finish(totalSumSquares(U));
}
