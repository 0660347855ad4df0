/**
 * A plain float64 TopK SAE written from the equations (lib/sae/model.ts's header, openai/sparse_autoencoder's
 * model.py and train.py), independent of the engines: no onnxruntime, no wasm kernels, no shared code but the
 * seeded batch order. W_dec is held as the math has it (d × d_z, column j = atom of latent j), not transposed
 * as the engines store it, so a transposition or axis slip in either shows up as a mismatch.
 *
 *   x = u − b_pre;  pre = W_enc x;  z = ReLU(TopK_k(pre));  û = W_dec z + b_pre
 *   L = Σ_b ‖û_b − u_b‖² / (B·d)   (+ AuxK: coef · mean_b ‖ê_b − e_b‖² / ‖e_b + b_pre‖², e = u − û detached,
 *                                  ê = W_dec ReLU(TopK_kAux(pre over dead latents)))
 *   step: project each decoder column's gradient off the column, Adam (torch semantics), renormalise columns.
 */

export interface RefParams {
  /** d_z × d (row j = encoder direction of latent j). */
  wEnc: Float64Array;
  /** d × d_z (column j = decoder atom of latent j). */
  wDec: Float64Array;
  bPre: Float64Array;
  d: number;
  dZ: number;
}

export interface RefAuxK {
  kAux: number;
  coef: number;
  deadSamples: number;
}

export interface RefStep {
  /** Main loss (mean over batch and features). */
  loss: number;
  /** AuxK term (coefficient included), 0 without AuxK. */
  auxLoss: number;
  /** Per row: the active latents (z_j > 0) and their values, as a dense d_z vector. */
  z: Float64Array[];
  grads: { wEnc: Float64Array; wDec: Float64Array; bPre: Float64Array };
}

/** Parameters from an engine-layout model (W_decᵀ stored d_z × d) into the math layout. */
export function refParams(
  m: { wEnc: ArrayLike<number>; wDecT: ArrayLike<number>; bPre: ArrayLike<number> },
  d: number,
  dZ: number,
): RefParams {
  const wDec = new Float64Array(d * dZ);
  for (let j = 0; j < dZ; j++) for (let i = 0; i < d; i++) wDec[i * dZ + j] = m.wDecT[j * d + i];
  return { wEnc: Float64Array.from(m.wEnc), wDec, bPre: Float64Array.from(m.bPre), d, dZ };
}

/** The indices of the `k` largest entries of `v` among `allowed` (all when absent), largest first. */
function topK(v: Float64Array, k: number, allowed?: (j: number) => boolean): number[] {
  const idx: number[] = [];
  for (let j = 0; j < v.length; j++) if (!allowed || allowed(j)) idx.push(j);
  idx.sort((a, b) => v[b] - v[a] || a - b);
  return idx.slice(0, k);
}

/** Pre-activations W_enc (u − b_pre) of one row. */
function preActivations(
  p: RefParams,
  u: ArrayLike<number>,
  o: number,
): { x: Float64Array; pre: Float64Array } {
  const { d, dZ } = p;
  const x = new Float64Array(d);
  for (let i = 0; i < d; i++) x[i] = u[o + i] - p.bPre[i];
  const pre = new Float64Array(dZ);
  for (let j = 0; j < dZ; j++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += p.wEnc[j * d + i] * x[i];
    pre[j] = s;
  }
  return { x, pre };
}

/** z = ReLU(TopK_k(pre)) as a dense vector. */
function sparseCode(pre: Float64Array, k: number, allowed?: (j: number) => boolean): Float64Array {
  const z = new Float64Array(pre.length);
  for (const j of topK(pre, k, allowed)) z[j] = Math.max(0, pre[j]);
  return z;
}

/** W_dec z (+ b_pre when `bias`). */
function decode(p: RefParams, z: Float64Array, bias: boolean): Float64Array {
  const { d, dZ } = p;
  const out = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = bias ? p.bPre[i] : 0;
    for (let j = 0; j < dZ; j++) if (z[j] !== 0) s += p.wDec[i * dZ + j] * z[j];
    out[i] = s;
  }
  return out;
}

/** Forward only: z of every row of U (rows × d, row-major). */
export function refEncode(p: RefParams, u: ArrayLike<number>, rows: number, k: number): Float64Array[] {
  return Array.from({ length: rows }, (_, r) => sparseCode(preActivations(p, u, r * p.d).pre, k));
}

/** Reconstruction error, NMSE, L0 and dead latents of `p` on U, by the formulas in lib/sae/metrics.ts. */
export function refMetrics(p: RefParams, u: ArrayLike<number>, rows: number, k: number) {
  const { d, dZ } = p;
  const mean = new Float64Array(d);
  for (let r = 0; r < rows; r++) for (let i = 0; i < d; i++) mean[i] += u[r * d + i] / rows;
  let sse = 0, sst = 0, active = 0;
  const fired = new Uint8Array(dZ);
  for (let r = 0; r < rows; r++) {
    const z = sparseCode(preActivations(p, u, r * d).pre, k);
    const uHat = decode(p, z, true);
    for (let i = 0; i < d; i++) {
      sse += (u[r * d + i] - uHat[i]) ** 2;
      sst += (u[r * d + i] - mean[i]) ** 2;
    }
    for (let j = 0; j < dZ; j++) if (z[j] > 0) (active++, fired[j] = 1);
  }
  return {
    mse: sse / (rows * d),
    nmse: sse / sst,
    l0: active / rows,
    dead: dZ - fired.reduce((a, b) => a + b, 0),
  };
}

/**
 * Loss and gradients of one batch (rows × d of `u`), by hand-derived backprop of the equations above.
 * `dead(j)` says which latents AuxK may use (only with `aux`).
 */
export function refForwardBackward(
  p: RefParams,
  u: ArrayLike<number>,
  rows: number,
  k: number,
  aux?: { cfg: RefAuxK; dead: (j: number) => boolean },
): RefStep {
  const { d, dZ } = p;
  const gEnc = new Float64Array(dZ * d), gDec = new Float64Array(d * dZ), gB = new Float64Array(d);
  const zs: Float64Array[] = [];
  let sse = 0, auxLoss = 0;
  const c = 2 / (rows * d);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    const { x, pre } = preActivations(p, u, o);
    const z = sparseCode(pre, k);
    zs.push(z);
    const uHat = decode(p, z, true);
    // dL/dû = c (û − u); û = W_dec z + b_pre; z_j = pre_j on the active set; pre = W_enc (u − b_pre).
    const gu = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      const e = uHat[i] - u[o + i];
      sse += e * e;
      gu[i] = c * e;
    }
    const gPre = new Float64Array(dZ);
    const backDecoder = (g: Float64Array, code: Float64Array) => {
      for (let j = 0; j < dZ; j++) {
        if (!(code[j] > 0)) continue;
        let gz = 0;
        for (let i = 0; i < d; i++) {
          gz += g[i] * p.wDec[i * dZ + j];
          gDec[i * dZ + j] += g[i] * code[j];
        }
        gPre[j] += gz;
      }
    };
    backDecoder(gu, z);
    for (let i = 0; i < d; i++) gB[i] += gu[i];
    if (aux) {
      const { kAux, coef } = aux.cfg;
      const zAux = sparseCode(pre, kAux, aux.dead);
      const eHat = decode(p, zAux, false);
      let num = 0, den = 0;
      for (let i = 0; i < d; i++) {
        const e = u[o + i] - uHat[i];
        num += (eHat[i] - e) ** 2;
        den += (e + p.bPre[i]) ** 2;
      }
      if (den > 0) {
        auxLoss += (coef * num) / den / rows;
        const ga = new Float64Array(d);
        for (let i = 0; i < d; i++) ga[i] = ((2 * coef) / (rows * den)) * (eHat[i] - (u[o + i] - uHat[i]));
        backDecoder(ga, zAux);
      }
    }
    for (let j = 0; j < dZ; j++) {
      if (gPre[j] === 0) continue;
      for (let i = 0; i < d; i++) {
        gEnc[j * d + i] += gPre[j] * x[i];
        gB[i] -= gPre[j] * p.wEnc[j * d + i]; // x = u − b_pre
      }
    }
  }
  return { loss: sse / (rows * d), auxLoss, z: zs, grads: { wEnc: gEnc, wDec: gDec, bPre: gB } };
}

export interface RefAdam {
  t: number;
  m: { wEnc: Float64Array; wDec: Float64Array; bPre: Float64Array };
  v: { wEnc: Float64Array; wDec: Float64Array; bPre: Float64Array };
}

export function refAdamState(p: RefParams): RefAdam {
  const z = () => ({
    wEnc: new Float64Array(p.wEnc.length),
    wDec: new Float64Array(p.wDec.length),
    bPre: new Float64Array(p.bPre.length),
  });
  return { t: 0, m: z(), v: z() };
}

/**
 * One parameter update: remove from each decoder column's gradient its component along the column, torch's
 * Adam (bias-corrected, every element every step), then rescale each decoder column to unit norm.
 */
export function refUpdate(
  p: RefParams,
  g: RefStep["grads"],
  st: RefAdam,
  lr: number,
  eps: number,
  beta1 = 0.9,
  beta2 = 0.999,
): void {
  const { d, dZ } = p;
  const gDec = Float64Array.from(g.wDec);
  for (let j = 0; j < dZ; j++) {
    let dot = 0;
    for (let i = 0; i < d; i++) dot += gDec[i * dZ + j] * p.wDec[i * dZ + j];
    for (let i = 0; i < d; i++) gDec[i * dZ + j] -= dot * p.wDec[i * dZ + j];
  }
  st.t++;
  const bc1 = 1 - beta1 ** st.t, bc2 = 1 - beta2 ** st.t;
  const adam = (w: Float64Array, grad: Float64Array, m: Float64Array, v: Float64Array) => {
    for (let i = 0; i < w.length; i++) {
      m[i] = beta1 * m[i] + (1 - beta1) * grad[i];
      v[i] = beta2 * v[i] + (1 - beta2) * grad[i] * grad[i];
      w[i] -= (lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + eps);
    }
  };
  adam(p.wEnc, g.wEnc, st.m.wEnc, st.v.wEnc);
  adam(p.wDec, gDec, st.m.wDec, st.v.wDec);
  adam(p.bPre, g.bPre, st.m.bPre, st.v.bPre);
  for (let j = 0; j < dZ; j++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += p.wDec[i * dZ + j] ** 2;
    const norm = Math.sqrt(ss);
    for (let i = 0; i < d; i++) p.wDec[i * dZ + j] /= norm;
  }
}

/**
 * `steps` training steps over X (n × d) in the given per-epoch orders (batches of `batchSize`, the last of an
 * epoch smaller), AuxK's dead-latent counter included; returns the per-step main losses.
 */
export function refTrain(
  p: RefParams,
  X: ArrayLike<number>,
  n: number,
  opts: {
    k: number;
    batchSize: number;
    lr: number;
    eps: number;
    steps: number;
    order: (epoch: number) => ArrayLike<number>;
    auxK?: RefAuxK;
  },
): {
  losses: number[];
  adam: RefAdam;
  /** Per step: its epoch, rows, main loss and the number of active latents of each row. */
  steps: { epoch: number; rows: number; loss: number; active: number[] }[];
  /** Per step: the latents that fired in its batch. */
  firedBy: Set<number>[];
} {
  const { d, dZ } = p;
  const st = refAdamState(p);
  const since = new Float64Array(dZ);
  const losses: number[] = [];
  const steps: { epoch: number; rows: number; loss: number; active: number[] }[] = [];
  const firedBy: Set<number>[] = [];
  for (let epoch = 0; losses.length < opts.steps; epoch++) {
    const perm = opts.order(epoch);
    for (let s = 0; s < n && losses.length < opts.steps; s += opts.batchSize) {
      const rows = Math.min(opts.batchSize, n - s);
      const u = new Float64Array(rows * d);
      for (let r = 0; r < rows; r++) for (let i = 0; i < d; i++) u[r * d + i] = X[perm[s + r] * d + i];
      const aux = opts.auxK
        ? { cfg: opts.auxK, dead: (j: number) => since[j] >= opts.auxK!.deadSamples }
        : undefined;
      const out = refForwardBackward(p, u, rows, opts.k, aux);
      losses.push(out.loss);
      steps.push({ epoch, rows, loss: out.loss, active: out.z.map((z) => z.filter((v) => v > 0).length) });
      refUpdate(p, out.grads, st, opts.lr, opts.eps);
      for (let j = 0; j < dZ; j++) since[j] += rows;
      for (const z of out.z) for (let j = 0; j < dZ; j++) if (z[j] > 0) since[j] = 0;
      firedBy.push(new Set(out.z.flatMap((z) => [...z.keys()].filter((j) => z[j] > 0))));
    }
  }
  return { losses, adam: st, steps, firedBy };
}
