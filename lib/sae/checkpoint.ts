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
import { toCamelKeys, toSnakeKeys } from "../common/keys.ts";
import { readSafetensors, type SafeTensor, writeSafetensors } from "../formats/safetensors.ts";
import { type SaeConfig, validateConfig } from "./config.ts";
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
  await Deno.mkdir(dir, { recursive: true });
  const cfg = result.model.config;
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
  await saveModel(dir, result);
  const cfg = result.model.config;
  const { m, v, step } = result.optimizer;
  const tensors: Record<string, { shape: number[]; data: Float32Array | Float64Array }> = {};
  for (const [prefix, moments] of [["m", m], ["v", v]] as const) {
    for (const [name, t] of Object.entries(paramTensors(cfg, moments))) tensors[`${prefix}.${name}`] = t;
  }
  if (result.deadStats) tensors["auxk.samples_since_fired"] = { shape: [cfg.dZ], data: result.deadStats };
  await writeSafetensors(join(dir, OPTIMIZER_FILE), tensors, {
    format: CHECKPOINT_FORMAT,
    step: String(step),
  });
}

function tensor(
  file: Record<string, SafeTensor>,
  name: string,
  shape: number[],
  source: string,
): Float32Array {
  const t = file[name];
  if (!t) throw new Error(`${source}: missing tensor ${name}`);
  if (t.dtype !== "F32" || t.shape.join(",") !== shape.join(",")) {
    throw new Error(`${source}: tensor ${name} is ${t.dtype} (${t.shape}), expected F32 (${shape})`);
  }
  return t.data as Float32Array;
}

function loadParams(file: Record<string, SafeTensor>, cfg: SaeConfig, source: string, prefix = "") {
  const { dIn: d, dZ } = cfg;
  return {
    wEnc: tensor(file, `${prefix}W_enc`, [dZ, d], source),
    wDecT: transpose(tensor(file, `${prefix}W_dec`, [d, dZ], source), d, dZ),
    bPre: tensor(file, `${prefix}b_pre`, [d], source),
  };
}

/** Loads a checkpoint directory; the optimizer state is zero (step 0) when optimizer.safetensors is absent. */
export async function loadCheckpoint(dir: string): Promise<TrainResult> {
  const modelPath = join(dir, MODEL_FILE);
  if (!(await exists(modelPath))) throw new Error(`${dir}: not an SAE checkpoint (no ${MODEL_FILE})`);
  const { tensors, metadata } = await readSafetensors(modelPath);
  if (!READABLE_FORMATS.includes(metadata.format)) {
    throw new Error(`${modelPath}: unknown checkpoint format ${JSON.stringify(metadata.format)}`);
  }
  const config = toCamelKeys<SaeConfig>(JSON.parse(metadata.config));
  validateConfig(config);
  const model: SaeModel = { config, ...loadParams(tensors, config, modelPath) };
  const history = toCamelKeys<EpochRecord[]>(JSON.parse(metadata.history ?? "[]"));
  const optPath = join(dir, OPTIMIZER_FILE);
  let optimizer: OptimizerState;
  let deadStats: Float64Array | undefined;
  if (await exists(optPath)) {
    const opt = await readSafetensors(optPath);
    optimizer = {
      step: Number(opt.metadata.step),
      m: loadParams(opt.tensors, config, optPath, "m."),
      v: loadParams(opt.tensors, config, optPath, "v."),
    };
    const since = opt.tensors["auxk.samples_since_fired"];
    if (since) deadStats = since.data as Float64Array;
  } else optimizer = newOptimizerState(config);
  return { model, history, optimizer, engine: metadata.engine ?? "", ...(deadStats ? { deadStats } : {}) };
}
