/**
 * SAE checkpoints: a directory with
 *   model.safetensors      W_enc (d_z × d), W_dec (d × d_z), b_pre (d), float32; `__metadata__` holds
 *                          "format" ("nac-sae/topk-sae/2"), "config" (the SAE config as JSON), "metrics" (last
 *                          epoch's record), "history" (all epoch records), "engine"; JSON keys in snake_case.
 *   optimizer.safetensors  Adam moments "m.W_enc", "m.W_dec", "m.b_pre", "v.…" in the same layouts as the
 *                          parameters; `__metadata__` "step" (Adam steps taken); with AuxK also
 *                          "auxk.samples_since_fired" (F64, d_z). Needed only to resume training.
 * Both open with Python's safetensors/numpy. Resuming from a checkpoint reproduces an unbroken run bit for bit.
 */
import { join } from "node:path";
import { exists } from "../common/fs.ts";
import { snakeKey, toCamelKeys, toSnakeKeys } from "../common/keys.ts";
import { readSafetensors, type SafeTensor, writeSafetensors } from "../formats/safetensors.ts";
import { kFor, type SaeConfig, validateConfig } from "./config.ts";
import type { SaeModel } from "./model.ts";
import { type EpochRecord, newOptimizerState, type OptimizerState, type TrainResult } from "./train.ts";

export const CHECKPOINT_FORMAT = "nac-sae/topk-sae/2";
/** Format 1 wrote the metadata JSON with camelCase keys; it still loads. */
const READABLE_FORMATS = ["nac-sae/topk-sae/1", CHECKPOINT_FORMAT];
export const MODEL_FILE = "model.safetensors";
export const OPTIMIZER_FILE = "optimizer.safetensors";

/** Transposes a rows × cols row-major matrix. */
export function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  const B = 64; // blocked, for cache locality on the 20480 × 1024 decoder
  for (let r0 = 0; r0 < rows; r0 += B) {
    for (let c0 = 0; c0 < cols; c0 += B) {
      const r1 = Math.min(rows, r0 + B), c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * rows + r] = a[r * cols + c];
    }
  }
  return out;
}

function paramTensors(cfg: SaeConfig, t: { wEnc: Float32Array; wDecT: Float32Array; bPre: Float32Array }) {
  return {
    W_enc: { shape: [cfg.dZ, cfg.dIn], data: t.wEnc },
    W_dec: { shape: [cfg.dIn, cfg.dZ], data: transpose(t.wDecT, cfg.dZ, cfg.dIn) },
    b_pre: { shape: [cfg.dIn], data: t.bPre },
  };
}

/** Writes `model.safetensors` only (what `encode` and the SAELens export need; no optimizer state). */
export async function saveModel(
  dir: string,
  result: Pick<TrainResult, "model" | "history" | "engine">,
): Promise<void> {
  const cfg = result.model.config;
  refuseNonFinite(dir, result.model, "");
  await Deno.mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, MODEL_FILE), paramTensors(cfg, result.model), {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(toSnakeKeys(cfg)),
    metrics: JSON.stringify(toSnakeKeys(result.history.at(-1) ?? null)),
    history: JSON.stringify(toSnakeKeys(result.history)),
    engine: result.engine,
  });
}

/** Writes `model.safetensors` and `optimizer.safetensors` (everything needed to resume training). */
export async function saveCheckpoint(dir: string, result: TrainResult): Promise<void> {
  const { m, v, step } = result.optimizer;
  refuseNonFinite(dir, m, "m.");
  refuseNonFinite(dir, v, "v.");
  await saveModel(dir, result);
  const cfg = result.model.config;
  const tensors: Record<string, { shape: number[]; data: Float32Array | Float64Array }> = {};
  for (const [prefix, moments] of [["m", m], ["v", v]] as const) {
    for (const [name, t] of Object.entries(paramTensors(cfg, moments))) tensors[`${prefix}.${name}`] = t;
  }
  if (result.deadStats) tensors["auxk.samples_since_fired"] = { shape: [cfg.dZ], data: result.deadStats };
  await writeSafetensors(join(dir, OPTIMIZER_FILE), tensors, {
    format: CHECKPOINT_FORMAT,
    step: String(step),
    // So a load can tell that the optimizer state belongs to this model (loadCheckpoint).
    config: JSON.stringify(toSnakeKeys(cfg)),
  });
}

/** A checkpoint is never written with NaN or ±Inf weights (they would load and encode to zeros silently). */
function refuseNonFinite(
  dir: string,
  w: { wEnc: Float32Array; wDecT: Float32Array; bPre: Float32Array },
  prefix: string,
): void {
  for (const [name, data] of [["W_enc", w.wEnc], ["W_dec", w.wDecT], ["b_pre", w.bPre]] as const) {
    const i = firstNonFinite(data);
    if (i >= 0) {
      throw new Error(
        `${dir}: refusing to write a checkpoint whose ${prefix}${name} holds ${data[i]}: training diverged ` +
          `(features with very large values, or a learning rate too high); rescale the features or lower --lr`,
      );
    }
  }
}

/** What a checkpoint file holds beyond its tensors: their names, and how they must look. */
const MODEL_TENSORS = ["W_enc", "W_dec", "b_pre"];
const OPTIMIZER_TENSORS = [...MODEL_TENSORS.flatMap((n) => [`m.${n}`, `v.${n}`]), "auxk.samples_since_fired"];

/** Restoring from a damaged checkpoint is never right; the message says what to do instead. */
const DAMAGED = "the checkpoint is damaged or was edited: retrain it, or restore it from a copy";

/** One tensor, checked: present, F32, the expected shape, every value finite (and ≥ 0 for `nonNegative`). */
function tensor(
  file: Record<string, SafeTensor>,
  name: string,
  shape: number[],
  source: string,
  nonNegative = false,
): Float32Array {
  const t = file[name];
  if (!t) throw new Error(`${source}: missing tensor ${name}; ${DAMAGED}`);
  if (t.dtype !== "F32" || t.shape.join(",") !== shape.join(",")) {
    throw new Error(
      `${source}: tensor ${name} is ${t.dtype} [${t.shape}], expected F32 [${shape}]; ${DAMAGED}`,
    );
  }
  const data = t.data as Float32Array;
  const bad = firstNonFinite(data, nonNegative);
  if (bad >= 0) {
    throw new Error(
      `${source}: tensor ${name} holds ${data[bad]} at flat index ${bad}` +
        `${nonNegative ? " (must be finite and ≥ 0)" : " (must be finite)"}; ${DAMAGED}`,
    );
  }
  return data;
}

/** Index of the first value that is not finite (or negative, with `nonNegative`); −1 when all are fine. */
export function firstNonFinite(data: ArrayLike<number>, nonNegative = false): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v) || (nonNegative && v < 0)) return i;
  }
  return -1;
}

function refuseUnknownTensors(file: Record<string, SafeTensor>, known: string[], source: string): void {
  const unknown = Object.keys(file).filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new Error(
      `${source}: unexpected tensor${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} (a TopK SAE ` +
        `checkpoint holds only ${known.join(", ")}); ${DAMAGED}`,
    );
  }
}

function loadParams(
  file: Record<string, SafeTensor>,
  cfg: SaeConfig,
  source: string,
  prefix = "",
  nonNegative = false,
) {
  const { dIn: d, dZ } = cfg;
  return {
    wEnc: tensor(file, `${prefix}W_enc`, [dZ, d], source, nonNegative),
    wDecT: transpose(tensor(file, `${prefix}W_dec`, [d, dZ], source, nonNegative), d, dZ),
    bPre: tensor(file, `${prefix}b_pre`, [d], source, nonNegative),
  };
}

/** A metadata entry parsed as JSON; a missing or unparsable entry is an error naming the file and key. */
function metadataJson(metadata: Record<string, string>, key: string, source: string): unknown {
  const text = metadata[key];
  if (text === undefined) throw new Error(`${source}: __metadata__ has no "${key}"; ${DAMAGED}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${source}: __metadata__.${key} is not valid JSON; ${DAMAGED}`);
  }
}

const CONFIG_NUMBERS = ["q", "s", "dIn", "dZ", "k", "epochs", "batchSize", "lr", "adamEps", "seed"] as const;

/**
 * The SAE config stored in a checkpoint, checked as a whole: a JSON object with every field a number, valid,
 * and d_z, k agreeing with q, s and d (a k edited apart from its s would silently change the encoding).
 */
export function checkpointConfig(raw: unknown, source: string): SaeConfig {
  const fail = (what: string): never => {
    throw new Error(`${source}: __metadata__.config ${what}; ${DAMAGED}`);
  };
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    fail(
      `must be a JSON object, got ${raw === null ? "null" : Array.isArray(raw) ? "an array" : typeof raw}`,
    );
  }
  const config = toCamelKeys<SaeConfig>(raw);
  for (const key of CONFIG_NUMBERS) {
    const v = (config as unknown as Record<string, unknown>)[key];
    if (typeof v !== "number") fail(`field ${snakeKey(key)} must be a number, got ${JSON.stringify(v)}`);
  }
  try {
    validateConfig(config);
  } catch (e) {
    fail(`is invalid (${(e as Error).message})`);
  }
  if (config.dZ !== Math.round(config.q * config.dIn)) {
    fail(
      `has d_z = ${config.dZ}, but q = ${config.q} and d = ${config.dIn} give ${
        Math.round(config.q * config.dIn)
      }`,
    );
  }
  if (config.k !== kFor(config.s, config.dIn)) {
    fail(
      `has k = ${config.k}, but s = ${config.s} and d = ${config.dIn} give k = ⌈s·d⌉ = ${
        kFor(config.s, config.dIn)
      }`,
    );
  }
  return config;
}

/** The training history: an array of records whose epochs and steps count up. */
function checkpointHistory(raw: unknown, source: string): EpochRecord[] {
  const fail = (what: string): never => {
    throw new Error(`${source}: __metadata__.history ${what}; ${DAMAGED}`);
  };
  if (!Array.isArray(raw)) fail(`must be a JSON array of epoch records`);
  const history = toCamelKeys<EpochRecord[]>(raw);
  let prevStep = 0;
  history.forEach((r, i) => {
    if (!r || typeof r !== "object" || !Number.isInteger(r.epoch) || !Number.isInteger(r.step)) {
      fail(`record ${i} must have integer "epoch" and "step"`);
    }
    if (r.step < prevStep) fail(`record ${i} has step ${r.step} after step ${prevStep}`);
    prevStep = r.step;
  });
  return history;
}

export interface LoadCheckpointOptions {
  /**
   * Resuming needs the optimizer state: without optimizer.safetensors the load fails (Adam restarted from zero
   * moments would not continue the run). Off: the optimizer state is read when present, else zero.
   */
  forResume?: boolean;
}

/**
 * Loads a checkpoint directory, validated as a whole: format, config (present, valid, k and d_z consistent
 * with q, s and d), the three F32 tensors of the right shapes with finite values and nothing else, the
 * history; and optimizer.safetensors (when present, or required by `forResume`): its step, its moments
 * (finite, second moments ≥ 0), and that it belongs to the model (same config, same step as the last
 * history record), so a model and optimizer from different moments (a full disk, a copy) are never combined.
 */
export async function loadCheckpoint(dir: string, opts: LoadCheckpointOptions = {}): Promise<TrainResult> {
  const modelPath = join(dir, MODEL_FILE);
  const stat = await Deno.stat(dir).catch(() => undefined);
  if (!stat) throw new Error(`${dir}: no such checkpoint folder`);
  if (!stat.isDirectory) {
    throw new Error(`${dir}: is a file; give the checkpoint folder (the one holding ${MODEL_FILE})`);
  }
  if (!(await exists(modelPath))) throw new Error(`${dir}: not an SAE checkpoint (no ${MODEL_FILE})`);
  const { tensors, metadata } = await readSafetensors(modelPath);
  if (!READABLE_FORMATS.includes(metadata.format)) {
    throw new Error(
      `${modelPath}: unknown checkpoint format ${JSON.stringify(metadata.format)} (expected ` +
        `${CHECKPOINT_FORMAT}); ${DAMAGED}`,
    );
  }
  const config = checkpointConfig(metadataJson(metadata, "config", modelPath), modelPath);
  refuseUnknownTensors(tensors, MODEL_TENSORS, modelPath);
  const model: SaeModel = { config, ...loadParams(tensors, config, modelPath) };
  const history = metadata.history === undefined
    ? []
    : checkpointHistory(metadataJson(metadata, "history", modelPath), modelPath);
  const optPath = join(dir, OPTIMIZER_FILE);
  if (!(await exists(optPath))) {
    if (opts.forResume) {
      throw new Error(
        `${dir}: no ${OPTIMIZER_FILE}, so training cannot resume where it stopped (Adam's moments and step ` +
          `are lost; restarting them would not continue the run); train afresh without --resume`,
      );
    }
    return { model, history, optimizer: newOptimizerState(config), engine: metadata.engine ?? "" };
  }
  const opt = await readSafetensors(optPath);
  const step = Number(opt.metadata.step);
  if (opt.metadata.step === undefined || !/^\d+$/.test(opt.metadata.step) || !Number.isSafeInteger(step)) {
    throw new Error(
      `${optPath}: the optimizer state's __metadata__.step must be a non-negative integer, got ` +
        `${JSON.stringify(opt.metadata.step ?? null)}; ${DAMAGED}`,
    );
  }
  if (opt.metadata.config !== undefined) {
    const optConfig = checkpointConfig(metadataJson(opt.metadata, "config", optPath), optPath);
    if (JSON.stringify(optConfig) !== JSON.stringify(config)) {
      throw new Error(
        `${optPath}: the optimizer state belongs to another SAE config than ${modelPath}; ${DAMAGED}`,
      );
    }
  }
  const lastStep = history.at(-1)?.step ?? 0;
  if (step !== lastStep) {
    throw new Error(
      `${dir}: the optimizer state is at step ${step} but the model at step ${lastStep} (the two files were ` +
        `written at different times, e.g. a disk filled up between them); ${DAMAGED}`,
    );
  }
  refuseUnknownTensors(opt.tensors, OPTIMIZER_TENSORS, optPath);
  const optimizer: OptimizerState = {
    step,
    m: loadParams(opt.tensors, config, optPath, "m."),
    v: loadParams(opt.tensors, config, optPath, "v.", true),
  };
  let deadStats: Float64Array | undefined;
  const since = opt.tensors["auxk.samples_since_fired"];
  if (since) {
    if (since.dtype !== "F64" || since.shape.join(",") !== String(config.dZ)) {
      throw new Error(
        `${optPath}: tensor auxk.samples_since_fired is ${since.dtype} [${since.shape}], expected F64 ` +
          `[${config.dZ}]; ${DAMAGED}`,
      );
    }
    if (firstNonFinite(since.data as Float64Array, true) >= 0) {
      throw new Error(
        `${optPath}: tensor auxk.samples_since_fired holds a negative or non-finite count; ${DAMAGED}`,
      );
    }
    deadStats = since.data as Float64Array;
  }
  return { model, history, optimizer, engine: metadata.engine ?? "", ...(deadStats ? { deadStats } : {}) };
}
