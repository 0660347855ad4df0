/**
 * The SAE's parameter update, step for step the reference's: remove from each decoder column's gradient its
 * component along the column, Adam with PyTorch's semantics (torch.optim.Adam, amsgrad off, no weight decay:
 * bias-corrected, and a dense update of every element every step — elements whose gradient is zero this step
 * still move while their moments decay, exactly as torch does), then renormalise the decoder columns.
 * All in float32 SIMD kernels over the training memory (kernels.ts).
 */
import type { AdamStepScalars, TrainingMemory } from "./kernels.ts";
import type { SaeModel } from "./model.ts";
import type { Grads } from "./engine.ts";

export interface AdamHyper {
  lr: number;
  eps: number;
  beta1: number;
  beta2: number;
}

export const ADAM_BETAS = { beta1: 0.9, beta2: 0.999 } as const;

/** Adam's moments of the SAE's parameters (same layout as the parameters). */
export interface AdamMoments {
  wEnc: Float32Array;
  wDecT: Float32Array;
  bPre: Float32Array;
}

/** Step t's scalars (t = the 1-based step count). */
export function adamScalars(h: AdamHyper, t: number): AdamStepScalars {
  return {
    beta1: h.beta1,
    beta2: h.beta2,
    eps: h.eps,
    stepSize: h.lr / (1 - h.beta1 ** t),
    bc2Sqrt: Math.sqrt(1 - h.beta2 ** t),
  };
}

/**
 * Adam step t on every parameter of `model`, row by row so each decoder row is projected, updated and
 * renormalised while in cache (rows are independent, so the order changes nothing). Latent rows that are not
 * `touched` have a zero gradient and skip reading it.
 */
export function saeAdamStep(
  mem: TrainingMemory,
  model: SaeModel,
  g: Grads,
  m: AdamMoments,
  v: AdamMoments,
  t: number,
  h: AdamHyper,
): void {
  const { dIn: d, dZ } = model.config;
  const s = adamScalars(h, t);
  const enc = { p: model.wEnc, m: m.wEnc, v: v.wEnc };
  const dec = { p: model.wDecT, m: m.wDecT, v: v.wDecT };
  for (let j = 0, o = 0; j < dZ; j++, o += d) {
    const has = g.touched === null || g.touched[j] === 1;
    mem.adam(enc, has ? g.wEnc : null, o, d, s);
    if (has) mem.axpy(-mem.dot(g.wDecT, o, model.wDecT, o, d), model.wDecT, o, g.wDecT, o, d);
    mem.adam(dec, has ? g.wDecT : null, o, d, s);
    mem.normalize(model.wDecT, o, d);
  }
  mem.adam({ p: model.bPre, m: m.bPre, v: v.bPre }, g.bPre, 0, d, s);
}
