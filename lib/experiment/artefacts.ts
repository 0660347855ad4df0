/**
 * What a grid cell was computed from, kept beside its cached result so any ΔF1 row can be reloaded and
 * inspected without retraining (results rows name it in `cell_key`):
 *
 *   <outDir>/cells/<key>.json           the cell's metrics (the cache entry)
 *   <outDir>/cells/<key>/model.safetensors   the SAE, exactly as `sae train --out` writes it (no optimizer)
 *   <outDir>/cells/<key>/probes.json    per feature kind: coef, intercept, scaler {mean, scale}, classes, nnz, C
 *                                       (k-fold protocol: one probe per fold, keys `<feature>/fold-<f>`)
 *   <outDir>/cells/<key>/splits.json    utterance ids of train / val1 / val2 / test and their labels
 *   <outDir>/cells/ref-<key>/           the reference probe on u: probes.json (feature "u") and splits.json
 *
 * A folder is written under a temporary name and renamed into place, so it is either complete or absent.
 */
import { join } from "node:path";
import { exists, writeJsonAtomic } from "../common/fs.ts";
import type { ProbeResult } from "../probe/probe.ts";
import { MODEL_FILE, saveModel } from "../sae/checkpoint.ts";
import type { TrainResult } from "../sae/train.ts";

export const PROBES_FILE = "probes.json";
export const SPLITS_FILE = "splits.json";

/** One fitted probe: coefficients on the standardized features (x − mean) / scale, positive class classes[1]. */
export interface ProbeArtefact {
  coef: number[];
  intercept: number;
  scaler: { mean: number[]; scale: number[] };
  classes: [number, number];
  nnz: number;
  C: number;
}

/** The utterances of each split (in feature-row order) and every one's binary label. */
export interface SplitLists {
  train: string[];
  val1: string[];
  val2: string[];
  test: string[];
  labels: Record<string, number>;
  /** k-fold protocol: the fold in which each probe utterance is predicted. */
  folds?: Record<string, number>;
}

/** What a computed cell hands back besides its metrics. */
export interface CellArtefacts {
  sae: Pick<TrainResult, "model" | "history" | "engine">;
  probes: Record<string, ProbeArtefact>;
}

export function probeArtefact(r: ProbeResult, C: number): ProbeArtefact {
  return {
    coef: Array.from(r.coef),
    intercept: r.intercept,
    scaler: { mean: Array.from(r.scaler.mean), scale: Array.from(r.scaler.scale) },
    classes: r.classes,
    nnz: r.nnz,
    C,
  };
}

/** A protocol's fitted probes: `feature` for the paper's split, `feature/fold-f` per fold of k-fold. */
export function protocolArtefacts(
  feature: string,
  fits: ProbeResult[],
  C: number,
): Record<string, ProbeArtefact> {
  if (fits.length === 1) return { [feature]: probeArtefact(fits[0], C) };
  return Object.fromEntries(fits.map((r, f) => [`${feature}/fold-${f}`, probeArtefact(r, C)]));
}

/** The artefact folder of a cell key (`<key>` or `ref-<key>`). */
export function artefactDir(cellsDir: string, cellKey: string): string {
  return join(cellsDir, cellKey);
}

/** True when the folder holds every file a complete write leaves (the model only for SAE cells). */
export async function hasArtefacts(dir: string, opts: { withModel: boolean }): Promise<boolean> {
  const files = [PROBES_FILE, SPLITS_FILE, ...(opts.withModel ? [MODEL_FILE] : [])];
  for (const f of files) if (!(await exists(join(dir, f)))) return false;
  return true;
}

/** Writes a cell's (or, without `sae`, a reference probe's) artefact folder atomically. */
export async function writeArtefacts(
  dir: string,
  a: { sae?: CellArtefacts["sae"]; probes: Record<string, ProbeArtefact>; splits: SplitLists },
): Promise<void> {
  const tmp = `${dir}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.mkdir(tmp, { recursive: true });
    if (a.sae) await saveModel(tmp, a.sae);
    await writeJsonAtomic(join(tmp, PROBES_FILE), a.probes);
    await writeJsonAtomic(join(tmp, SPLITS_FILE), a.splits);
    // A stale or partial folder (e.g. from a killed run) is replaced.
    await Deno.remove(dir, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await Deno.rename(tmp, dir);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
}
