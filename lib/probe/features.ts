/**
 * Probe features derived from SAE activations z (N × d_z), paper Section 2.3:
 * - z itself;
 * - z_pos ∈ {0,1}^{d_z}: 1 where a latent is active (z > 0), the positions only;
 * - z_mag ∈ ℝ^k: the activation magnitudes of the active latents sorted descending, positions discarded.
 *   A TopK SAE has at most k positive latents per row; when fewer than k survive the ReLU the tail of
 *   z_mag is filled with zeros (an inactive latent has magnitude 0). If a row had more than k positive
 *   values, only the k largest are kept.
 */
import type { Matrix } from "../common/matrix.ts";

export function positionFeatures(z: Matrix): Matrix {
  const out = new Float32Array(z.data.length);
  for (let i = 0; i < z.data.length; i++) out[i] = z.data[i] > 0 ? 1 : 0;
  return { rows: z.rows, cols: z.cols, data: out };
}

export function magnitudeFeatures(z: Matrix, k: number): Matrix {
  if (!Number.isInteger(k) || k < 1) {
    throw new Error(`magnitudeFeatures: k must be a positive integer, got ${k}`);
  }
  if (k > z.cols) throw new Error(`magnitudeFeatures: k = ${k} exceeds the ${z.cols} latents of z`);
  const out = new Float32Array(z.rows * k);
  const buf = new Float32Array(z.cols);
  for (let r = 0; r < z.rows; r++) {
    const base = r * z.cols;
    let m = 0;
    for (let c = 0; c < z.cols; c++) {
      const v = z.data[base + c];
      if (v > 0) buf[m++] = v;
    }
    const active = buf.subarray(0, m).sort(); // ascending; read from the end for descending order
    const take = Math.min(m, k);
    for (let t = 0; t < take; t++) out[r * k + t] = active[m - 1 - t];
  }
  return { rows: z.rows, cols: k, data: out };
}
