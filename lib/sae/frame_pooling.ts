/**
 * Frame-level SAE features: the codes of every frame of a recording pooled into one vector per feature kind
 * (as SAEBench's get_sae_meaned_activations pools, and AudioSAE and Paek et al. encode every frame):
 *
 *   z_t        = ReLU(TopK_k(W_enc (ê_t − b_pre)))        the SAE code of frame t (model.ts), t = 1..T
 *   z          = 1/T · Σ_t z_t                             mean code over the recording's frames
 *   z_pos[j]   = 1/T · Σ_t 1[z_t[j] > 0]                   firing rate of latent j (share of frames it fires on)
 *   z_mag[j]   = Σ_t z_t[j] / Σ_t 1[z_t[j] > 0]            mean magnitude of latent j when it fires; 0 if never
 *
 * All three are d_z wide (unlike the utterance-level z_mag, the k sorted active values of one code). Sums are
 * taken in float64 in frame order, so a recording's features do not depend on how its frames were batched.
 */
import type { Matrix } from "../common/matrix.ts";

/** One recording's pooled codes, each d_z wide. */
export interface PooledCodes {
  z: Float32Array;
  zPos: Float32Array;
  zMag: Float32Array;
}

/** Pools the codes of one recording's frames (T × d_z, T ≥ 1) by the definitions above. */
export function poolFrameCodes(codes: Matrix): PooledCodes {
  const { rows: t, cols: dZ, data } = codes;
  if (t < 1) throw new Error("a recording has no frames to pool");
  const sum = new Float64Array(dZ), fired = new Float64Array(dZ);
  for (let r = 0; r < t; r++) {
    const o = r * dZ;
    for (let j = 0; j < dZ; j++) {
      const v = data[o + j];
      if (v > 0) {
        sum[j] += v;
        fired[j]++;
      }
    }
  }
  const z = new Float32Array(dZ), zPos = new Float32Array(dZ), zMag = new Float32Array(dZ);
  for (let j = 0; j < dZ; j++) {
    z[j] = sum[j] / t;
    zPos[j] = fired[j] / t;
    zMag[j] = fired[j] > 0 ? sum[j] / fired[j] : 0;
  }
  return { z, zPos, zMag };
}
