/**
 * Adam with PyTorch's semantics (torch.optim.Adam, amsgrad off, no weight decay): bias-corrected, and a dense
 * update of every element every step — elements whose gradient is zero this step still move while their
 * moments decay, exactly as torch does, so trajectories match the reference.
 */

export interface AdamParam {
  p: Float32Array;
  g: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

export interface AdamHyper {
  lr: number;
  eps: number;
  beta1: number;
  beta2: number;
}

export const ADAM_BETAS = { beta1: 0.9, beta2: 0.999 } as const;

/**
 * One Adam step (`t` = this step's 1-based count) on elements [from, to) of one parameter. Splitting by
 * range lets callers skip work or share it; the arithmetic per element is the same.
 */
export function adamRange(a: AdamParam, t: number, h: AdamHyper, from = 0, to = a.p.length): void {
  const { p, g, m, v } = a;
  const b1 = h.beta1, b2 = h.beta2, c1 = 1 - b1, c2 = 1 - b2, eps = h.eps;
  const stepSize = h.lr / (1 - b1 ** t);
  const invBc2Sqrt = 1 / Math.sqrt(1 - b2 ** t);
  for (let i = from; i < to; i++) {
    const gi = g[i];
    const mi = (m[i] = b1 * m[i] + c1 * gi);
    const vi = (v[i] = b2 * v[i] + c2 * gi * gi);
    p[i] -= (stepSize * mi) / (Math.sqrt(vi) * invBc2Sqrt + eps);
  }
}

/** The same step for elements known to have a zero gradient (skips reading g). */
export function adamRangeZeroGrad(a: AdamParam, t: number, h: AdamHyper, from: number, to: number): void {
  const { p, m, v } = a;
  const b1 = h.beta1, b2 = h.beta2, eps = h.eps;
  const stepSize = h.lr / (1 - b1 ** t);
  const invBc2Sqrt = 1 / Math.sqrt(1 - b2 ** t);
  for (let i = from; i < to; i++) {
    const mi = (m[i] = b1 * m[i]);
    const vi = (v[i] = b2 * v[i]);
    if (mi === 0) continue; // the update is exactly zero (torch adds -0)
    p[i] -= (stepSize * mi) / (Math.sqrt(vi) * invBc2Sqrt + eps);
  }
}
