/**
 * TopK SAE training, step for step the reference's (checks/ref/sae_ref.py) loop: per epoch a seeded
 * shuffle, batches of `batchSize` (the last may be smaller); per batch forward, loss = mean over batch and
 * features of (u − û)², backward, remove from each decoder column's gradient its component along the column,
 * Adam step (torch semantics), renormalise decoder columns. Epoch metrics are measured on the training batches
 * before each step, like the reference; the validation loss is measured after the epoch.
 */
import type { Matrix } from "../common/matrix.ts";
import { Rng } from "../common/random.ts";
import { formatDuration, log } from "../common/progress.ts";
import { type SaeConfig, validateConfig } from "./config.ts";
import { ADAM_BETAS, type AdamHyper, adamRange, adamRangeZeroGrad } from "./adam.ts";
import { createEngine, engineThreads } from "./engine.ts";
import { checkFeatures, checkTrainable, initModel, normalizeRow, type SaeModel } from "./model.ts";
import { evaluate } from "./evaluate.ts";
import { MetricsAccumulator, totalSumSquares } from "./metrics.ts";

export interface EpochRecord {
  epoch: number;
  /** Mean squared error over the epoch's training batches (measured before each step). */
  trainLoss: number;
  /** Mean squared error on the validation set after the epoch; null without one. */
  valLoss: number | null;
  nmse: number;
  l0: number;
  /** Latents never active during the epoch. */
  dead: number;
  samplesPerS: number;
  seconds: number;
  /** AuxK only: mean over the epoch's batches of the AuxK loss term (coefficient included). */
  auxLoss?: number;
}

/** Adam moments (same layout as the parameters) and the number of steps taken. */
export interface OptimizerState {
  step: number;
  m: { wEnc: Float32Array; wDecT: Float32Array; bPre: Float32Array };
  v: { wEnc: Float32Array; wDecT: Float32Array; bPre: Float32Array };
}

export interface TrainResult {
  model: SaeModel;
  history: EpochRecord[];
  optimizer: OptimizerState;
  /** Which engine ran ("sparse" | "dense"). */
  engine: string;
  /** AuxK only: per latent, training samples since it last fired (resumes the dead-latent window). */
  deadStats?: Float64Array;
}

export interface TrainOptions {
  val?: Matrix;
  quiet?: boolean;
  /** Called after every step with its 1-based Adam step count and the batch loss (before the update). */
  onStep?: (step: number, loss: number) => void;
  /** Called after every epoch (e.g. to checkpoint). */
  onEpoch?: (record: EpochRecord, state: TrainResult) => void | Promise<void>;
  /** Continue a previous run (its model and optimizer state are updated in place) up to cfg.epochs. */
  resume?: TrainResult;
  threads?: number;
}

/** The seed of epoch `epoch`'s shuffle: independent streams so a resumed run shuffles like an unbroken one. */
export function epochPermutation(n: number, seed: number, epoch: number): Int32Array {
  const mixed = (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca77) ^ 0x5ae) >>> 0;
  return new Rng(mixed).permutation(n);
}

export function newOptimizerState(cfg: SaeConfig): OptimizerState {
  const n = cfg.dZ * cfg.dIn;
  const zeros = () => ({
    wEnc: new Float32Array(n),
    wDecT: new Float32Array(n),
    bPre: new Float32Array(cfg.dIn),
  });
  return { step: 0, m: zeros(), v: zeros() };
}

export async function trainSae(X: Matrix, cfg: SaeConfig, opts: TrainOptions = {}): Promise<TrainResult> {
  validateConfig(cfg);
  checkFeatures(X, cfg.dIn, "training features");
  checkTrainable(X, "training features");
  if (opts.val) checkFeatures(opts.val, cfg.dIn, "validation features");
  const quiet = opts.quiet ?? false;
  const model = opts.resume?.model ?? initModel(X, cfg);
  model.config = cfg;
  const optimizer = opts.resume?.optimizer ?? newOptimizerState(cfg);
  const history = opts.resume ? [...opts.resume.history] : [];
  const engine = await createEngine(model, opts.threads ?? engineThreads(), opts.resume?.deadStats);
  const result: TrainResult = { model, history, optimizer, engine: engine.kind };
  if (engine.deadStats) result.deadStats = engine.deadStats;
  try {
    const { dIn: d, dZ, batchSize } = cfg;
    const n = X.rows;
    const sst = totalSumSquares(X);
    const hyper: AdamHyper = { lr: cfg.lr, eps: cfg.adamEps, ...ADAM_BETAS };
    const g = engine.grads;
    const params = [
      { p: model.wEnc, g: g.wEnc, m: optimizer.m.wEnc, v: optimizer.v.wEnc, rows: true },
      { p: model.wDecT, g: g.wDecT, m: optimizer.m.wDecT, v: optimizer.v.wDecT, rows: true },
      { p: model.bPre, g: g.bPre, m: optimizer.m.bPre, v: optimizer.v.bPre, rows: false },
    ];
    const batch = new Float32Array(Math.min(batchSize, n) * d);
    const trainStart = performance.now();
    const startEpoch = history.length;
    log(
      `sae: N=${n} d=${d} d_z=${dZ} k=${cfg.k} epochs ${startEpoch + 1}..${cfg.epochs} engine=${engine.kind}`,
      quiet,
    );
    for (let epoch = startEpoch; epoch < cfg.epochs; epoch++) {
      const t0 = performance.now();
      const perm = epochPermutation(n, cfg.seed, epoch);
      const acc = new MetricsAccumulator(d, dZ);
      let auxSum = 0, batches = 0;
      for (let start = 0; start < n; start += batchSize) {
        const rows = Math.min(batchSize, n - start);
        for (let r = 0; r < rows; r++) {
          const src = perm[start + r] * d;
          batch.set(X.data.subarray(src, src + d), r * d);
        }
        const out = await engine.step(batch.subarray(0, rows * d), rows);
        acc.addError(out.sse, rows);
        auxSum += out.auxLoss ?? 0;
        batches++;
        acc.addTopK(out.vals, out.idx, rows * cfg.k);
        projectDecoderGrad(g.wDecT, model.wDecT, dZ, d, g.touched);
        const t = ++optimizer.step;
        // Adam on every element (torch semantics), then unit-norm decoder columns; row by row so each
        // decoder row is renormalised while still in cache (rows are independent, so the result is the same).
        adamByRows(params[0], t, hyper, g.touched, d, false);
        adamByRows(params[1], t, hyper, g.touched, d, true);
        adamRange(params[2], t, hyper);
        opts.onStep?.(t, out.sse / (rows * d));
      }
      const seconds = (performance.now() - t0) / 1000;
      const valLoss = opts.val ? (await evaluate(model, opts.val, { engine })).mse : null;
      const record: EpochRecord = {
        epoch: epoch + 1,
        trainLoss: acc.sse / (n * d),
        valLoss,
        nmse: acc.sse / sst,
        l0: acc.activeTotal / n,
        dead: acc.deadLatents(),
        samplesPerS: n / seconds,
        seconds,
      };
      if (cfg.auxK) record.auxLoss = auxSum / batches;
      history.push(record);
      if (!quiet) {
        const elapsed = (performance.now() - trainStart) / 1000;
        const eta = (elapsed / (epoch + 1 - startEpoch)) * (cfg.epochs - epoch - 1);
        log(
          `epoch ${epoch + 1}/${cfg.epochs} loss ${record.trainLoss.toPrecision(5)}` +
            (valLoss !== null ? ` val ${valLoss.toPrecision(5)}` : "") +
            ` nmse ${record.nmse.toFixed(4)} L0 ${record.l0.toFixed(1)} dead ${record.dead}` +
            (record.auxLoss !== undefined ? ` auxk ${record.auxLoss.toPrecision(4)}` : "") +
            ` | ${record.samplesPerS.toFixed(0)} samples/s, ETA ${formatDuration(eta)}`,
        );
      }
      await opts.onEpoch?.(record, result);
    }
  } finally {
    await engine.release();
  }
  return result;
}

/** g_j ← g_j − (g_j · w_j) w_j for each decoder column j (rows of W_decᵀ); untouched rows have g_j = 0. */
function projectDecoderGrad(
  g: Float32Array,
  w: Float32Array,
  rows: number,
  d: number,
  touched: Uint8Array | null,
): void {
  for (let j = 0; j < rows; j++) {
    if (touched !== null && touched[j] === 0) continue;
    const o = j * d;
    let dot = 0;
    for (let i = 0; i < d; i++) dot += g[o + i] * w[o + i];
    for (let i = 0; i < d; i++) g[o + i] -= dot * w[o + i];
  }
}

/**
 * Adam over a d_z × d parameter, skipping gradient reads for latent rows with no gradient this step
 * (`touched` null: every row has one); with `normalize`, each row is then rescaled to unit norm.
 */
function adamByRows(
  a: { p: Float32Array; g: Float32Array; m: Float32Array; v: Float32Array },
  t: number,
  h: AdamHyper,
  touched: Uint8Array | null,
  d: number,
  normalize: boolean,
): void {
  const rows = a.p.length / d;
  for (let j = 0; j < rows; j++) {
    if (touched === null || touched[j]) adamRange(a, t, h, j * d, (j + 1) * d);
    else adamRangeZeroGrad(a, t, h, j * d, (j + 1) * d);
    if (normalize) normalizeRow(a.p, j * d, d);
  }
}
