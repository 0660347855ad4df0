/**
 * A frame-level SAE shared by the cells of every task: the SAE never sees labels, so one SAE per codec ×
 * config × seed, fit on the dataset's training frames, serves accent and sex alike. The first cell of the group
 * trains it; the executor stores it as
 *
 *   cells/sae-<key>/model.safetensors   the SAE (lib/sae/checkpoint.ts)
 *   cells/sae-<key>/fit.json            how it was fit: in-sample and held-out fit against PCA-k, steps, curves
 *
 * and every other cell of the group loads it (results column sae_key names the group).
 */
import { join } from "node:path";
import { exists, readJson, writeJsonAtomic } from "../common/fs.ts";
import type { SaeConfig } from "../sae/config.ts";
import type { StopReason } from "../sae/convergence.ts";
import { loadCheckpoint, MODEL_FILE, saveModel } from "../sae/checkpoint.ts";
import type { EpochRecord, TrainResult } from "../sae/train.ts";

export const SAE_FIT_FILE = "fit.json";

/** How an SAE was fit: what every cell using it reports about it. */
export interface SaeFit {
  /** In-sample (training rows): NMSE and explained variance of the kept weights. */
  nmse: number;
  explainedVariance: number;
  /** Explained variance of PCA-k fitted on the training rows, on the training rows (the yardstick). */
  evPcaK: number;
  /** Held-out rows (utterance level: test; frame level: val1 frames the stopping rule did not see). */
  evHeldout: number;
  evPcaKHeldout: number;
  /** In-sample explained variance ≥ evPcaK − 0.02: the optimiser reached the PCA-k yardstick. */
  saeTrained: boolean;
  /** Held-out explained variance < evPcaKHeldout − 0.02: the SAE generalises worse than PCA-k. */
  heldoutBelowPcaK: boolean;
  /** Adam steps taken, the step whose weights were kept, and why training ended. */
  steps: number;
  bestStep: number;
  stop: StopReason | "epochs";
  l0: number;
  deadLatents: number;
  saeSeconds: number;
  /** Rows the SAE was fit on: recordings (utterance level) or sampled frames (frame level). */
  saeTrainRows: number;
  curves: Pick<EpochRecord, "epoch" | "step" | "trainLoss" | "valLoss" | "nmse" | "l0" | "dead">[];
}

const FIT_FIELDS = [
  "nmse",
  "explainedVariance",
  "evPcaK",
  "evHeldout",
  "evPcaKHeldout",
  "saeTrained",
  "heldoutBelowPcaK",
  "steps",
  "bestStep",
  "stop",
  "l0",
  "deadLatents",
  "saeSeconds",
  "saeTrainRows",
  "curves",
] as const satisfies readonly (keyof SaeFit)[];

/** The SaeFit fields of a larger record (a cell's outcome). */
export function saeFitOf(o: SaeFit): SaeFit {
  return Object.fromEntries(FIT_FIELDS.map((k) => [k, o[k]])) as unknown as SaeFit;
}

/** An SAE with how it was fit. */
export interface SharedSae {
  sae: Pick<TrainResult, "model" | "history" | "engine">;
  fit: SaeFit;
}

/** The folder of a shared SAE. */
export function sharedSaeDir(cellsDir: string, key: string): string {
  return join(cellsDir, `sae-${key}`);
}

/** The stored SAE of `dir`, or null when none is stored yet; one of another configuration is an error. */
export async function readSharedSae(dir: string, cfg: SaeConfig): Promise<SharedSae | null> {
  if (!(await exists(join(dir, MODEL_FILE))) || !(await exists(join(dir, SAE_FIT_FILE)))) return null;
  const loaded = await loadCheckpoint(dir);
  const c = loaded.model.config;
  if (c.dIn !== cfg.dIn || c.dZ !== cfg.dZ || c.k !== cfg.k || c.seed !== cfg.seed) {
    throw new Error(
      `${dir}: the stored SAE has d=${c.dIn}, d_z=${c.dZ}, k=${c.k}, seed=${c.seed}, the cell wants d=${cfg.dIn}, ` +
        `d_z=${cfg.dZ}, k=${cfg.k}, seed=${cfg.seed}; delete the folder to train it again`,
    );
  }
  const fit = await readJson<SaeFit>(join(dir, SAE_FIT_FILE));
  return { sae: { model: loaded.model, history: loaded.history, engine: loaded.engine }, fit };
}

/** Stores a shared SAE (the model first, then fit.json, whose presence marks it complete). */
export async function writeSharedSae(dir: string, shared: SharedSae): Promise<void> {
  await saveModel(dir, shared.sae);
  await writeJsonAtomic(join(dir, SAE_FIT_FILE), shared.fit);
}
