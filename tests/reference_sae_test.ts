/**
 * The SAE against its plain-TypeScript reference (testdata/reference/sae.ts: float64, from the equations, no
 * onnxruntime, no wasm): one step's loss, top-k and gradients of both engines (and AuxK), the Adam update in the
 * wasm kernels, N training steps' weights, encoding and metrics. Small seeded data, no Python, no ../shared.
 */
import { assert, assertEquals } from "@std/assert";
import { type SaeConfig, saeConfig } from "../lib/sae/config.ts";
import { initModel } from "../lib/sae/model.ts";
import { createEngine } from "../lib/sae/engine.ts";
import { adamScalars, saeAdamStep } from "../lib/sae/adam.ts";
import { TrainingMemory } from "../lib/sae/kernels.ts";
import { epochPermutation, newOptimizerState, trainSae } from "../lib/sae/train.ts";
import { encodeSae, evaluate } from "../lib/sae/evaluate.ts";
import { Rng } from "../lib/common/random.ts";
import { plantedData } from "../testdata/sae_data.ts";
import {
  refAdamState,
  refEncode,
  refForwardBackward,
  refMetrics,
  refParams,
  refTrain,
  refUpdate,
} from "../testdata/reference/sae.ts";

/** max |a − b| / max |b| (b the reference), with the worst index for the message. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertEquals(a.length, b.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  assert(scale > 0, "reference is all zeros: nothing is compared");
  return diff / scale;
}

/** W_decᵀ rows (d_z × d) to the math layout (d × d_z). */
function decFromT(t: ArrayLike<number>, d: number, dZ: number): Float64Array {
  const out = new Float64Array(d * dZ);
  for (let j = 0; j < dZ; j++) for (let i = 0; i < d; i++) out[i * dZ + j] = t[j * d + i];
  return out;
}

const D = 32;
const X = plantedData(200, D, 4);
// d_z = 128, k = 8: k/d_z = 0.0625; both engines are forced in turn.
const CFG = saeConfig(4, 0.25, D, { epochs: 1, batchSize: 64, seed: 5, lr: 1e-3 });

for (const engine of ["sparse", "dense"] as const) {
  Deno.test(`reference sae: one ${engine}-engine step's loss, active set and gradients equal the reference`, async () => {
    const cfg: SaeConfig = { ...CFG, engine };
    const model = initModel(X, cfg);
    const ref = refParams(model, D, cfg.dZ);
    const rows = 50; // not the batch size: the loss is a mean over the rows given
    const u = X.data.slice(0, rows * D);
    const eng = await createEngine(model, 1);
    try {
      const out = await eng.step(u, rows);
      const want = refForwardBackward(ref, u, rows, cfg.k);
      const loss = out.sse / (rows * D);
      assert(Math.abs(loss - want.loss) <= 1e-6 * want.loss, `loss ${loss} vs reference ${want.loss}`);
      // The active set and values: z_j of every row.
      for (let r = 0; r < rows; r++) {
        const z = new Float64Array(cfg.dZ);
        for (let a = 0; a < cfg.k; a++) {
          const v = out.vals[r * cfg.k + a];
          if (v > 0) z[out.idx[r * cfg.k + a]] = v;
        }
        assert(relErr(z, want.z[r]) < 1e-5, `row ${r}: z differs from the reference`);
      }
      const g = eng.grads;
      const gEnc = relErr(g.wEnc, want.grads.wEnc);
      const gDec = relErr(decFromT(g.wDecT, D, cfg.dZ), want.grads.wDec);
      const gB = relErr(g.bPre, want.grads.bPre);
      assert(gEnc < 1e-5 && gDec < 1e-5 && gB < 1e-5, `gradients W_enc ${gEnc}, W_dec ${gDec}, b_pre ${gB}`);
    } finally {
      await eng.release();
    }
  });
}

Deno.test("reference sae: an AuxK step (half the latents dead) equals the reference's loss and gradients", async () => {
  const auxK = { kAux: 16, coef: 0.5, deadSamples: 100 };
  const cfg: SaeConfig = { ...CFG, engine: "sparse", auxK };
  const model = initModel(X, cfg);
  const ref = refParams(model, D, cfg.dZ);
  const stats = new Float64Array(cfg.dZ);
  for (let j = 0; j < cfg.dZ; j++) stats[j] = j % 2 === 0 ? 150 : 20; // even latents dead
  const rows = 40;
  const u = X.data.slice(0, rows * D);
  const eng = await createEngine(model, 1, stats);
  try {
    const out = await eng.step(u, rows);
    const want = refForwardBackward(ref, u, rows, cfg.k, { cfg: auxK, dead: (j) => j % 2 === 0 });
    assert(want.auxLoss > 0, "no AuxK term in the reference: the case tests nothing");
    assert(
      Math.abs(out.auxLoss! - want.auxLoss) <= 1e-5 * want.auxLoss,
      `aux ${out.auxLoss} vs ${want.auxLoss}`,
    );
    const g = eng.grads;
    const errs = [
      relErr(g.wEnc, want.grads.wEnc),
      relErr(decFromT(g.wDecT, D, cfg.dZ), want.grads.wDec),
      relErr(g.bPre, want.grads.bPre),
    ];
    assert(errs.every((e) => e < 1e-5), `AuxK gradients (W_enc, W_dec, b_pre): ${errs}`);
    // The dead-latent counter: +rows for every latent, reset for those that fired.
    const fired = new Set<number>();
    for (const z of want.z) z.forEach((v, j) => v > 0 && fired.add(j));
    for (let j = 0; j < cfg.dZ; j++) {
      assertEquals(eng.deadStats![j], fired.has(j) ? 0 : (j % 2 === 0 ? 150 : 20) + rows, `latent ${j}`);
    }
  } finally {
    await eng.release();
  }
});

Deno.test("reference sae: the wasm Adam step (projection, torch Adam, renormalisation) equals the reference", () => {
  const cfg: SaeConfig = { ...CFG, lr: 3e-3 };
  const model = initModel(X, cfg);
  const { dIn: d, dZ } = cfg;
  const mem = TrainingMemory.forTraining(cfg);
  model.wEnc = mem.adopt(model.wEnc);
  model.wDecT = mem.adopt(model.wDecT);
  model.bPre = mem.adopt(model.bPre);
  const opt = newOptimizerState(cfg, mem);
  const ref = refParams(model, d, dZ);
  const st = refAdamState(ref);
  const rng = new Rng(9);
  const hyper = { lr: cfg.lr, eps: cfg.adamEps, beta1: 0.9, beta2: 0.999 };
  const grads = {
    wEnc: mem.alloc(dZ * d),
    wDecT: mem.alloc(dZ * d),
    bPre: mem.alloc(d),
    touched: new Uint8Array(dZ),
  };
  for (let t = 1; t <= 4; t++) {
    // Random gradients; a third of the latent rows untouched (zero gradient, moments still decay).
    grads.wEnc.fill(0);
    grads.wDecT.fill(0);
    for (let j = 0; j < dZ; j++) {
      grads.touched[j] = rng.next() < 2 / 3 ? 1 : 0;
      if (!grads.touched[j]) continue;
      for (let i = 0; i < d; i++) {
        grads.wEnc[j * d + i] = rng.normal() * 1e-2;
        grads.wDecT[j * d + i] = rng.normal() * 1e-2;
      }
    }
    for (let i = 0; i < d; i++) grads.bPre[i] = rng.normal() * 1e-2;
    const refGrads = {
      wEnc: Float64Array.from(grads.wEnc),
      wDec: decFromT(grads.wDecT, d, dZ),
      bPre: Float64Array.from(grads.bPre),
    };
    saeAdamStep(mem, model, grads, opt.m, opt.v, t, hyper);
    refUpdate(ref, refGrads, st, hyper.lr, hyper.eps);
    const errs = [
      relErr(model.wEnc, ref.wEnc),
      relErr(decFromT(model.wDecT, d, dZ), ref.wDec),
      relErr(model.bPre, ref.bPre),
      relErr(opt.m.wEnc, st.m.wEnc),
      relErr(decFromT(opt.v.wDecT, d, dZ), st.v.wDec),
    ];
    assert(errs.every((e) => e < 1e-6), `step ${t}: W_enc, W_dec, b_pre, m(W_enc), v(W_dec) errors ${errs}`);
  }
  // The scalars the kernel takes are Adam's bias corrections.
  const s = adamScalars(hyper, 3);
  assert(
    Math.abs(s.stepSize - hyper.lr / (1 - 0.9 ** 3)) < 1e-15 &&
      Math.abs(s.bc2Sqrt ** 2 - (1 - 0.999 ** 3)) < 1e-15,
  );
});

const TRAIN_CASES: { name: string; cfg: SaeConfig }[] = [
  { name: "sparse", cfg: { ...CFG, engine: "sparse", epochs: 4 } },
  { name: "dense", cfg: { ...CFG, engine: "dense", epochs: 4 } },
  {
    name: "sparse + AuxK",
    cfg: { ...CFG, engine: "sparse", epochs: 4, auxK: { kAux: 16, coef: 0.5, deadSamples: 64 } },
  },
];
for (const { name, cfg } of TRAIN_CASES) {
  Deno.test(`reference sae: ${name}, 16 training steps give the reference's weights and losses`, async () => {
    // 200 rows in batches of 64: 4 steps per epoch (the last of 8 rows), 4 epochs.
    const init = initModel(X, cfg);
    const ref = refParams(init, D, cfg.dZ);
    const losses: number[] = [];
    const ours = await trainSae(X, cfg, { quiet: true, threads: 1, onStep: (_t, l) => losses.push(l) });
    const want = refTrain(ref, X.data, X.rows, {
      k: cfg.k,
      batchSize: cfg.batchSize,
      lr: cfg.lr,
      eps: cfg.adamEps,
      steps: 16,
      order: (e) => epochPermutation(X.rows, cfg.seed, e),
      auxK: cfg.auxK,
    });
    assertEquals(losses.length, 16);
    for (let t = 0; t < 16; t++) {
      assert(
        Math.abs(losses[t] - want.losses[t]) <= 1e-5 * want.losses[t],
        `step ${t + 1}: ${losses[t]} vs ${want.losses[t]}`,
      );
    }
    assert(
      want.losses[15] < 0.9 * want.losses[0],
      "the reference loss did not fall: the weights barely moved",
    );
    const errs = [
      relErr(ours.model.wEnc, ref.wEnc),
      relErr(decFromT(ours.model.wDecT, D, cfg.dZ), ref.wDec),
      relErr(ours.model.bPre, ref.bPre),
    ];
    assert(errs.every((e) => e < 2e-5), `weights after 16 steps (W_enc, W_dec, b_pre): ${errs}`);
    // …and the weights moved far more than that tolerance.
    assert(relErr(ours.model.wEnc, refParams(init, D, cfg.dZ).wEnc) > 1e-2);
    // The training curve (curves table): per epoch, the mean loss over its rows, NMSE against the data's total
    // sum of squares, L0 and the latents that never fired in that epoch — all measured before each step.
    const mean = Array.from({ length: D }, (_, i) => {
      let m = 0;
      for (let r = 0; r < X.rows; r++) m += X.data[r * D + i] / X.rows;
      return m;
    });
    let sst = 0;
    for (let r = 0; r < X.rows; r++) for (let i = 0; i < D; i++) sst += (X.data[r * D + i] - mean[i]) ** 2;
    assertEquals(ours.history.length, 4);
    for (const rec of ours.history) {
      const e = rec.epoch - 1;
      const steps = want.steps.filter((s) => s.epoch === e);
      const rows = steps.reduce((a, s) => a + s.rows, 0);
      const sse = steps.reduce((a, s) => a + s.loss * s.rows * D, 0);
      const fired = new Set(want.firedBy.filter((_, t) => want.steps[t].epoch === e).flatMap((f) => [...f]));
      assertEquals(rows, X.rows);
      assert(Math.abs(rec.trainLoss - sse / (rows * D)) <= 1e-5 * rec.trainLoss, `epoch ${rec.epoch} loss`);
      assert(Math.abs(rec.nmse - sse / sst) <= 1e-5 * rec.nmse, `epoch ${rec.epoch} NMSE`);
      assertEquals(
        rec.l0,
        steps.flatMap((s) => s.active).reduce((a, b) => a + b, 0) / rows,
        `epoch ${rec.epoch} L0`,
      );
      assertEquals(rec.dead, cfg.dZ - fired.size, `epoch ${rec.epoch} dead latents`);
      assertEquals(rec.step, 4 * rec.epoch);
    }
  });
}

Deno.test("reference sae: encoding and metrics (NMSE, L0, dead latents) equal the reference", async () => {
  const cfg: SaeConfig = { ...CFG, batchSize: 48 }; // batches of 48 over 200 rows: a short last batch
  const { model } = await trainSae(X, { ...cfg, epochs: 3 }, { quiet: true, threads: 1 });
  const ref = refParams(model, D, cfg.dZ);
  const z = await encodeSae(model, X);
  const want = refEncode(ref, X.data, X.rows, cfg.k);
  for (let r = 0; r < X.rows; r++) {
    assert(relErr(z.data.subarray(r * cfg.dZ, (r + 1) * cfg.dZ), want[r]) < 1e-5, `row ${r}`);
  }
  const m = await evaluate(model, X);
  const wm = refMetrics(ref, X.data, X.rows, cfg.k);
  assert(Math.abs(m.nmse - wm.nmse) <= 1e-5 * wm.nmse, `NMSE ${m.nmse} vs ${wm.nmse}`);
  assert(Math.abs(m.mse - wm.mse) <= 1e-5 * wm.mse, `MSE ${m.mse} vs ${wm.mse}`);
  assert(Math.abs(m.explainedVariance - (1 - wm.nmse)) <= 1e-5);
  assertEquals(m.l0, wm.l0);
  assertEquals(m.deadLatents, wm.dead);
});

Deno.test("reference sae: initialisation is unit-norm atoms, W_enc = W_decᵀ, b_pre the geometric median", () => {
  const cfg = { ...CFG, medianSample: 200 };
  const model = initModel(X, cfg);
  const { dIn: d, dZ } = cfg;
  for (let j = 0; j < dZ; j++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += model.wDecT[j * d + i] ** 2;
    assert(Math.abs(ss - 1) < 1e-5, `atom ${j} has squared norm ${ss}`);
  }
  assertEquals(Array.from(model.wEnc), Array.from(model.wDecT));
  // The geometric median m minimises Σ_r ‖x_r − m‖: its gradient Σ_r (m − x_r)/‖m − x_r‖ vanishes (vs n).
  const grad = new Float64Array(d);
  for (let r = 0; r < X.rows; r++) {
    let dist = 0;
    for (let i = 0; i < d; i++) dist += (model.bPre[i] - X.data[r * d + i]) ** 2;
    dist = Math.sqrt(dist);
    for (let i = 0; i < d; i++) grad[i] += (model.bPre[i] - X.data[r * d + i]) / dist;
  }
  const norm = Math.sqrt(grad.reduce((a, g) => a + g * g, 0));
  assert(norm < 1e-3 * X.rows, `‖∇ Σ‖x − b_pre‖‖ = ${norm}: b_pre is not the geometric median`);
  // …which differs from the mean here (the data are skewed), so the check discriminates.
  let gap = 0;
  for (let i = 0; i < d; i++) {
    let mean = 0;
    for (let r = 0; r < X.rows; r++) mean += X.data[r * d + i] / X.rows;
    gap = Math.max(gap, Math.abs(mean - model.bPre[i]));
  }
  assert(gap > 1e-2, "b_pre equals the mean: the median check cannot tell them apart");
});
