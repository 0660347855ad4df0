/**
 * The TopK sparse autoencoder (paper Sec. 2.2; OpenAI's TopK SAE, Gao et al. 2024), stated once here; the
 * engines (engine.ts), training (train.ts) and evaluation (evaluate.ts) implement these equations.
 *
 *   input        u ∈ ℝ^d  (a pooled codec embedding; X is N × d)
 *   encoder      z = ReLU(TopK_k(W_enc (u − b_pre)))              z ∈ ℝ^{d_z}, at most k non-zero
 *                TopK_k keeps the k largest pre-activations of the row and zeroes the rest
 *   decoder      û = W_dec z + b_pre                               W_dec ∈ ℝ^{d × d_z}, W_enc ∈ ℝ^{d_z × d}
 *   loss         L = 1/(B·d) Σ_b ‖u_b − û_b‖²                      (mean over the batch and the features)
 *                + with AuxK (off in the paper): coef · mean_b ‖ê_b − e_b‖² / ‖e_b + b_pre‖², where
 *                  e = u − û (detached) and ê = W_dec · ReLU(TopK_kAux(pre-activations of dead latents))
 *   sizes        d_z = q · d,  k = ⌈s · d⌉  (config.ts)
 *   init         W_dec columns ~ N(0, 1), each scaled to unit norm; W_enc = W_decᵀ;
 *                b_pre = geometric median of a seeded sample of ≤ 16384 training rows (Weiszfeld, float64)
 *   constraint   ‖W_dec[:, j]‖₂ = 1 for every latent j: before each Adam step the gradient's component along
 *                the column is removed, after it the column is renormalised (train.ts)
 *   features     the probe stage builds z_pos = 1[z > 0] (which latents fire) and z_mag (the k active
 *                magnitudes, sorted, positions discarded) from z (paper Sec. 2.3)
 *   metrics      NMSE = Σ‖u − û‖² / Σ‖u − ū‖², L0 = mean non-zeros of z, dead latents (metrics.ts)
 *
 * Storage: W_dec is kept transposed (W_decᵀ, d_z × d) so each active atom is read contiguously.
 */
import { assertFinite, type Matrix } from "../common/matrix.ts";
import { Rng } from "../common/random.ts";
import type { SaeConfig } from "./config.ts";

export interface SaeModel {
  config: SaeConfig;
  /** W_enc, d_z × d row-major (row j = encoder direction of latent j). */
  wEnc: Float32Array;
  /**
   * W_decᵀ, d_z × d row-major: row j is decoder column j (the atom of latent j). Kept transposed so the
   * sparse decoder reads each active atom contiguously; checkpoints store W_dec as d × d_z.
   */
  wDecT: Float32Array;
  /** b_pre, d. */
  bPre: Float32Array;
}

/**
 * Weiszfeld iterations for the geometric median of the given rows, started from their mean, in float64
 * (200 iterations at most, stopping when the step is ≤ tol·max(1, ‖median‖)), as the reference does.
 */
export function geometricMedian(X: Matrix, rows: ArrayLike<number>, iters = 200, tol = 1e-7): Float64Array {
  const d = X.cols, n = rows.length, x = X.data;
  if (n === 0) throw new Error("geometric median of zero rows");
  let med = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    const o = rows[r] * d;
    for (let i = 0; i < d; i++) med[i] += x[o + i];
  }
  for (let i = 0; i < d; i++) med[i] /= n;
  const next = new Float64Array(d);
  for (let it = 0; it < iters; it++) {
    next.fill(0);
    let wSum = 0;
    for (let r = 0; r < n; r++) {
      const o = rows[r] * d;
      let dist = 0;
      for (let i = 0; i < d; i++) {
        const t = x[o + i] - med[i];
        dist += t * t;
      }
      const w = 1 / Math.max(Math.sqrt(dist), 1e-12);
      wSum += w;
      for (let i = 0; i < d; i++) next[i] += w * x[o + i];
    }
    let step = 0, norm = 0;
    for (let i = 0; i < d; i++) {
      next[i] /= wSum;
      step += (next[i] - med[i]) ** 2;
      norm += med[i] * med[i];
    }
    const done = Math.sqrt(step) <= tol * Math.max(1, Math.sqrt(norm));
    med = Float64Array.from(next);
    if (done) break;
  }
  return med;
}

/** The rows used for b_pre: the first `sample` entries of a seeded permutation (seed + 1, as the reference). */
export function medianRows(n: number, cfg: SaeConfig): Int32Array {
  return new Rng(cfg.seed + 1).permutation(n).slice(0, Math.min(n, cfg.medianSample ?? 16384));
}

/** Fresh parameters for `cfg`, with b_pre from the training data X. */
export function initModel(X: Matrix, cfg: SaeConfig): SaeModel {
  const { dIn: d, dZ } = cfg;
  const rng = new Rng(cfg.seed);
  const wDecT = new Float32Array(dZ * d);
  for (let i = 0; i < wDecT.length; i++) wDecT[i] = rng.normal();
  normalizeRows(wDecT, dZ, d);
  const med = geometricMedian(X, medianRows(X.rows, cfg));
  return { config: cfg, wEnc: wDecT.slice(), wDecT, bPre: Float32Array.from(med) };
}

/** Renormalises each d-long row to unit Euclidean norm (decoder columns; computed in float64). */
export function normalizeRows(w: Float32Array, rows: number, d: number): void {
  for (let j = 0; j < rows; j++) normalizeRow(w, j * d, d);
}

/**
 * Rescales w[o, o + d) to unit norm: divides by the float32-rounded norm, as torch's `w /= w.norm()`. Used at
 * initialisation only (its float64 sum is part of the parity fixture's init hash); training renormalises with
 * the SIMD kernel (TrainingMemory.normalize).
 */
function normalizeRow(w: Float32Array, o: number, d: number): void {
  let ss = 0;
  for (let i = 0; i < d; i++) ss += w[o + i] * w[o + i];
  const norm = Math.fround(Math.sqrt(ss));
  for (let i = 0; i < d; i++) w[o + i] /= norm;
}

/** Validates SAE input rows against the model's width: non-empty, right width, finite. */
export function checkFeatures(X: Matrix, dIn: number, source: string): void {
  if (X.rows === 0) throw new Error(`${source}: no samples (0 rows)`);
  if (X.cols !== dIn) {
    throw new Error(`${source}: feature dimension ${X.cols} does not match the SAE input dimension ${dIn}`);
  }
  assertFinite(X, source);
}

/**
 * Training features must vary: with one row, or every row identical, the variance NMSE divides by is 0 (NMSE
 * NaN) and every latent ends dead. Refused before training, naming the file.
 */
export function checkTrainable(X: Matrix, source: string): void {
  if (X.rows < 2) {
    throw new Error(
      `${source}: ${X.rows} row; training an SAE needs at least 2 rows (NMSE is relative to their variance)`,
    );
  }
  for (let j = 0; j < X.cols; j++) {
    const first = X.data[j];
    for (let i = 1; i < X.rows; i++) if (X.data[i * X.cols + j] !== first) return;
  }
  throw new Error(
    `${source}: all ${X.rows} rows are identical (every feature is constant); an SAE cannot learn from them ` +
      `(NMSE would be NaN)`,
  );
}
