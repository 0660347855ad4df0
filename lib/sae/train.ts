/**
 * TopK SAE training, step for step the reference's (checks/ref/sae_ref.py) loop: per epoch a seeded
 * shuffle, batches of `batchSize` (the last may be smaller); per batch forward, loss = mean over batch and
 * features of (u − û)², backward, remove from each decoder column's gradient its component along the column,
 * Adam step (torch semantics), renormalise decoder columns. Epoch metrics are measured on the training batches
 * before each step, like the reference; the validation loss is measured after the epoch.
 *
 * With `cfg.convergence` the same steps run until the validation loss stops improving (convergence.ts): it is
 * measured every `evalEvery` steps (one history record each), and the best-validation weights are kept.
 */
import type { Matrix } from "../common/matrix.ts";
import { Rng } from "../common/random.ts";
import { formatDuration, log } from "../common/progress.ts";
import { type SaeConfig, validateConfig } from "./config.ts";
import { ADAM_BETAS, type AdamHyper, type AdamMoments, saeAdamStep } from "./adam.ts";
import { type BatchResult, bindModel, createEngine, engineThreads } from "./engine.ts";
import { TrainingMemory } from "./kernels.ts";
import { checkFeatures, checkTrainable, initModel, type SaeModel } from "./model.ts";
import { evaluate } from "./evaluate.ts";
import { ConvergenceMonitor, type StoppingRecord } from "./convergence.ts";
import { MetricsAccumulator, totalSumSquares } from "./metrics.ts";

export interface EpochRecord {
  /** Epochs completed (with the convergent schedule: passes over the data so far, rounded down). */
  epoch: number;
  /** Adam steps taken so far. */
  step: number;
  /** Mean squared error over the record's training batches (measured before each step). */
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
  m: AdamMoments;
  v: AdamMoments;
}

export interface TrainResult {
  model: SaeModel;
  history: EpochRecord[];
  optimizer: OptimizerState;
  /** Which engine ran ("sparse" | "dense"). */
  engine: string;
  /** Convergent schedule only: why it stopped and which step's (best-validation) weights were kept. */
  stopping?: StoppingRecord;
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

/** Zero moments, allocated in `mem` when given (a training run's memory), else as ordinary arrays. */
export function newOptimizerState(cfg: SaeConfig, mem?: TrainingMemory): OptimizerState {
  const n = cfg.dZ * cfg.dIn;
  const alloc = (len: number) => mem ? mem.alloc(len) : new Float32Array(len);
  const zeros = () => ({ wEnc: alloc(n), wDecT: alloc(n), bPre: alloc(cfg.dIn) });
  return { step: 0, m: zeros(), v: zeros() };
}

/** Refuses a config, features or options that cannot train, before any work. */
function checkTrainInputs(X: Matrix, cfg: SaeConfig, opts: TrainOptions): void {
  validateConfig(cfg);
  checkFeatures(X, cfg.dIn, "training features");
  checkTrainable(X, "training features");
  if (opts.val) checkFeatures(opts.val, cfg.dIn, "validation features");
  const rule = cfg.convergence;
  if (rule && !opts.val) throw new Error("the convergent schedule needs validation rows (val1) to monitor");
  if (rule && opts.resume) throw new Error("the convergent schedule cannot resume a run; start it afresh");
}

/**
 * The training history as it grows: batch metrics accumulate until `record` closes one history record (per
 * epoch, or per validation measurement of the convergent schedule) and starts the next.
 */
class HistoryRecorder {
  private acc: MetricsAccumulator;
  private auxSum = 0;
  private batches = 0;
  private samples = 0;
  private t0 = performance.now();

  constructor(
    private readonly cfg: SaeConfig,
    private readonly n: number,
    private readonly sst: number,
    private readonly history: EpochRecord[],
  ) {
    this.acc = new MetricsAccumulator(cfg.dIn, cfg.dZ);
  }

  addBatch(out: BatchResult, rows: number): void {
    this.acc.addError(out.sse, rows);
    this.auxSum += out.auxLoss ?? 0;
    this.batches++;
    this.samples += rows;
    this.acc.addTopK(out.vals, out.idx, rows * this.cfg.k);
  }

  /** Seconds of training steps since the last record (taken before a validation measurement). */
  seconds(): number {
    return (performance.now() - this.t0) / 1000;
  }

  /** Closes the current record into the history. */
  record(epoch: number, step: number, seconds: number, val: number | null): EpochRecord {
    const { acc, n, sst } = this;
    const d = this.cfg.dIn;
    const rec: EpochRecord = {
      epoch,
      step,
      trainLoss: acc.sse / (acc.rows * d),
      valLoss: val,
      nmse: (acc.sse / sst) * (n / acc.rows),
      l0: acc.activeTotal / acc.rows,
      dead: acc.deadLatents(),
      samplesPerS: this.samples / seconds,
      seconds,
    };
    if (this.cfg.auxK) rec.auxLoss = this.auxSum / this.batches;
    this.history.push(rec);
    return rec;
  }

  /** Starts the next record's metrics and clock (after the caller's per-record work, which is not timed). */
  startNext(): void {
    this.acc = new MetricsAccumulator(this.cfg.dIn, this.cfg.dZ);
    this.auxSum = this.batches = this.samples = 0;
    this.t0 = performance.now();
  }
}

export async function trainSae(X: Matrix, cfg: SaeConfig, opts: TrainOptions = {}): Promise<TrainResult> {
  checkTrainInputs(X, cfg, opts);
  const rule = cfg.convergence;
  const quiet = opts.quiet ?? false;
  const model = opts.resume?.model ?? initModel(X, cfg);
  model.config = cfg;
  const history = opts.resume ? [...opts.resume.history] : [];
  // Everything a step streams through lives in one wasm memory while training, and is copied out after.
  const mem = TrainingMemory.forTraining(cfg);
  const optimizer = opts.resume?.optimizer ?? newOptimizerState(cfg, mem);
  bindModel(model, mem);
  bindMoments(optimizer.m, mem);
  bindMoments(optimizer.v, mem);
  const engine = await createEngine(model, opts.threads ?? engineThreads(), opts.resume?.deadStats, mem);
  const result: TrainResult = { model, history, optimizer, engine: engine.kind };
  if (engine.deadStats) result.deadStats = engine.deadStats;
  try {
    const { dIn: d, dZ, batchSize } = cfg;
    const n = X.rows;
    const sst = totalSumSquares(X);
    const hyper: AdamHyper = { lr: cfg.lr, eps: cfg.adamEps, ...ADAM_BETAS };
    const valLoss = async () => opts.val ? (await evaluate(model, opts.val, { engine })).mse : null;
    const monitor = rule ? new ConvergenceMonitor(rule) : null;
    const best = monitor ? snapshot(model) : null;
    if (monitor) monitor.observe(0, (await valLoss())!);
    const batch = new Float32Array(Math.min(batchSize, n) * d);
    const trainStart = performance.now();
    const startEpoch = history.length;
    log(
      `sae: N=${n} d=${d} d_z=${dZ} k=${cfg.k} engine=${engine.kind} ` +
        (rule
          ? `until val loss converges (ε ${rule.minImprovement} over ${rule.window} steps, ≤ ${rule.maxSteps})`
          : `epochs ${startEpoch + 1}..${cfg.epochs}`),
      quiet,
    );
    const recorder = new HistoryRecorder(cfg, n, sst, history);
    const record = async (epoch: number, seconds: number, val: number | null): Promise<EpochRecord> => {
      const rec = recorder.record(epoch, optimizer.step, seconds, val);
      await opts.onEpoch?.(rec, result);
      recorder.startNext();
      return rec;
    };
    for (let epoch = startEpoch; monitor ? !result.stopping : epoch < cfg.epochs; epoch++) {
      const perm = epochPermutation(n, cfg.seed, epoch);
      for (let start = 0; start < n; start += batchSize) {
        const rows = Math.min(batchSize, n - start);
        for (let r = 0; r < rows; r++) {
          const src = perm[start + r] * d;
          batch.set(X.data.subarray(src, src + d), r * d);
        }
        const out = await engine.step(batch.subarray(0, rows * d), rows);
        if (!Number.isFinite(out.sse)) throw divergence(X, cfg, optimizer.step + 1, epoch, out.sse);
        recorder.addBatch(out, rows);
        const t = ++optimizer.step;
        saeAdamStep(mem, model, engine.grads, optimizer.m, optimizer.v, t, hyper);
        opts.onStep?.(t, out.sse / (rows * d));
        if (monitor && t % rule!.evalEvery === 0) {
          const seconds = recorder.seconds();
          const val = (await valLoss())!;
          if (monitor.observe(t, val)) copyModel(model, best!);
          const rec = await record(epoch + (start + rows >= n ? 1 : 0), seconds, val);
          const reason = monitor.stopAfter(t);
          if (!quiet && (reason || t % (rule!.evalEvery * 50) === 0)) {
            logRecord(rec, `step ${t}/≤${rule!.maxSteps}`);
          }
          if (reason) {
            result.stopping = {
              reason,
              steps: t,
              bestStep: monitor.bestStep,
              bestValLoss: monitor.bestValLoss,
            };
            break;
          }
        }
      }
      if (!monitor) {
        const seconds = recorder.seconds();
        const rec = await record(epoch + 1, seconds, await valLoss());
        if (!quiet) {
          const elapsed = (performance.now() - trainStart) / 1000;
          const eta = (elapsed / (epoch + 1 - startEpoch)) * (cfg.epochs - epoch - 1);
          logRecord(rec, `epoch ${epoch + 1}/${cfg.epochs}`, eta);
        }
      }
    }
    if (monitor) {
      copyModel(best!, model);
      log(
        `sae: ${result.stopping!.reason} after ${result.stopping!.steps} steps; kept step ` +
          `${result.stopping!.bestStep} (val ${result.stopping!.bestValLoss.toPrecision(5)})`,
        quiet,
      );
    }
  } finally {
    await engine.release();
    // Out of the wasm memory, so the result does not pin it (the same objects, as `resume` promises).
    for (const w of [model, optimizer.m, optimizer.v]) copyOut(w);
  }
  return result;
}

/**
 * A diverging run stops at the first step whose loss is not finite, naming the step and the likely cause, so
 * no NaN weights are trained on or written (saveModel refuses them too).
 */
function divergence(X: Matrix, cfg: SaeConfig, step: number, epoch: number, sse: number): Error {
  let maxAbs = 0;
  for (let i = 0; i < X.data.length; i++) maxAbs = Math.max(maxAbs, Math.abs(X.data[i]));
  const cause = maxAbs > 1e15
    ? `the features reach |x| = ${maxAbs.toExponential(2)}, whose squares overflow float32; standardise ` +
      `or rescale them`
    : `the learning rate ${cfg.lr} is probably too high for these features (max |x| = ` +
      `${maxAbs.toPrecision(3)}); lower --lr or standardise the features`;
  return new Error(
    `SAE training diverged at step ${step} (epoch ${epoch + 1}): the batch loss is ${sse}; ${cause}. ` +
      `No checkpoint is written for the diverged weights`,
  );
}

function logRecord(rec: EpochRecord, where: string, eta?: number): void {
  log(
    `${where} loss ${rec.trainLoss.toPrecision(5)}` +
      (rec.valLoss !== null ? ` val ${rec.valLoss.toPrecision(5)}` : "") +
      ` nmse ${rec.nmse.toFixed(4)} L0 ${rec.l0.toFixed(1)} dead ${rec.dead}` +
      (rec.auxLoss !== undefined ? ` auxk ${rec.auxLoss.toPrecision(4)}` : "") +
      ` | ${rec.samplesPerS.toFixed(0)} samples/s` +
      (eta !== undefined ? `, ETA ${formatDuration(eta)}` : ""),
  );
}

type Weights = Pick<SaeModel, "wEnc" | "wDecT" | "bPre">;

function snapshot(m: Weights): Weights {
  return { wEnc: m.wEnc.slice(), wDecT: m.wDecT.slice(), bPre: m.bPre.slice() };
}

/** Copies parameter values (the arrays stay in place: engines read them by reference). */
function copyModel(from: Weights, to: Weights): void {
  to.wEnc.set(from.wEnc);
  to.wDecT.set(from.wDecT);
  to.bPre.set(from.bPre);
}

function bindMoments(a: AdamMoments, mem: TrainingMemory): void {
  a.wEnc = mem.adopt(a.wEnc);
  a.wDecT = mem.adopt(a.wDecT);
  a.bPre = mem.adopt(a.bPre);
}

/** Points the arrays at ordinary copies of their values. */
function copyOut(w: Weights): void {
  w.wEnc = w.wEnc.slice();
  w.wDecT = w.wDecT.slice();
  w.bPre = w.bPre.slice();
}
