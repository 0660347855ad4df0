/**
 * Execution on this machine: the planned cells not cached yet, `workers` at a time (each on its own worker
 * thread), each stored as it finishes; and the reference probes on u, cached like cells.
 */
import { join } from "node:path";
import { exists, writeJsonAtomic } from "../common/fs.ts";
import { Progress } from "../common/progress.ts";
import { artefactDir, hasArtefacts, writeArtefacts } from "./artefacts.ts";
import { cachedJson, isCached, REF_FIELDS } from "./cache.ts";
import { cellId } from "./plan.ts";
import { CellPool } from "./pool.ts";
import { computeReference, type RefOutcome } from "./reference.ts";
import type { KeyedCell, KeyedTask } from "./grid_plan.ts";
import { SAE_FIT_FILE, saeFitOf, sharedSaeDir, writeSharedSae } from "./shared_sae.ts";

export interface ComputeOptions {
  workers: number;
  quiet?: boolean;
  /** What the progress line calls the cells (e.g. "demo-powered cells", "task 3 cells"). */
  label?: string;
  /** Keep each cell's SAE, probes and split lists (default true). */
  checkpoints?: boolean;
  /** Compute threads per cell's SAE; default cores ÷ workers. Changes speed only, never a result. */
  threadsPerCell?: number;
}

/**
 * Computes the given cells (those not stored yet) and stores each under `<cellsDir>/<key>.json` (and its
 * folder) as it finishes. Returns how many it computed.
 */
export async function computeCells(
  cellsDir: string,
  cells: KeyedCell[],
  opts: ComputeOptions,
): Promise<number> {
  const keep = opts.checkpoints ?? true;
  const todo: KeyedCell[] = [];
  for (const c of cells) if (!(await isCached(cellsDir, c.key, { checkpoints: keep }))) todo.push(c);
  const progress = new Progress({
    label: opts.label ?? "grid cells",
    total: cells.length,
    unit: "cells",
    quiet: opts.quiet,
    intervalMs: 3000,
  });
  const nCached = cells.length - todo.length;
  progress.skip(nCached, `${nCached} cached`);
  if (todo.length === 0) return 0;
  const pool = new CellPool(
    Math.min(opts.workers, todo.length),
    opts.threadsPerCell ?? Math.max(1, Math.floor(navigator.hardwareConcurrency / opts.workers)),
  );
  let computed = 0;
  const run = async (c: KeyedCell) => {
    const data = c.saeKey
      ? { ...c.task.data.data, frames: { ...c.task.data.data.frames!, sae: sharedSaeOf(cellsDir, c.saeKey) } }
      : c.task.data.data;
    const { artefacts, ...outcome } = await pool.run(c.cell, data).catch((e) => {
      throw new Error(`cell ${cellId(c.cell)}: ${e.message}`);
    });
    // A frame-level SAE is stored once, for the other tasks' cells of its codec × config × seed.
    if (c.saeKey && artefacts && !(await exists(join(data.frames!.sae!.dir, SAE_FIT_FILE)))) {
      await writeSharedSae(data.frames!.sae!.dir, { sae: artefacts.sae, fit: saeFitOf(outcome) });
    }
    // The folder first, then the JSON that marks the cell as done.
    if (keep && artefacts) {
      await writeArtefacts(artefactDir(cellsDir, c.key), { ...artefacts, splits: c.task.data.splits });
    }
    await writeJsonAtomic(join(cellsDir, `${c.key}.json`), outcome);
    computed++;
    progress.tick(1, `${c.cell.dataset}/${c.cell.codec}/${c.cell.task} q=${c.cell.q} s=${c.cell.s}`);
  };
  try {
    // Two waves: one cell per shared frame-level SAE not stored yet trains it, then the rest load it (so two
    // workers never train the same SAE).
    const waves = await sharedSaeWaves(cellsDir, todo);
    for (const wave of waves) await Promise.all(wave.map(run));
  } finally {
    pool.close();
  }
  return computed;
}

/** Where the shared SAE of a key lives. */
function sharedSaeOf(cellsDir: string, key: string): { key: string; dir: string } {
  return { key, dir: sharedSaeDir(cellsDir, key) };
}

/** [the first cell of each shared SAE not stored yet, every other cell]. */
async function sharedSaeWaves(cellsDir: string, todo: KeyedCell[]): Promise<KeyedCell[][]> {
  const first: KeyedCell[] = [], rest: KeyedCell[] = [];
  const seen = new Set<string>();
  for (const c of todo) {
    const stored = c.saeKey ? await exists(join(sharedSaeDir(cellsDir, c.saeKey), SAE_FIT_FILE)) : true;
    if (c.saeKey && !stored && !seen.has(c.saeKey)) {
      seen.add(c.saeKey);
      first.push(c);
    } else rest.push(c);
  }
  return [first, rest];
}

/** The reference probe on u of every task, computed where not cached (a few seconds each). */
export async function computeReferences(
  cellsDir: string,
  tasks: KeyedTask[],
  opts: { checkpoints: boolean },
): Promise<Map<KeyedTask, RefOutcome>> {
  const refs = new Map<KeyedTask, RefOutcome>();
  for (const t of tasks) {
    const path = join(cellsDir, `${t.refKey}.json`);
    const dir = artefactDir(cellsDir, t.refKey);
    const { checkpoints } = opts;
    if (checkpoints && !(await hasArtefacts(dir, { withModel: false }))) {
      await Deno.remove(path).catch(() => {});
    }
    const { value } = await cachedJson(path, REF_FIELDS, async () => {
      const { outcome, probes } = computeReference(t.data.data, t.data.probe);
      if (checkpoints) await writeArtefacts(dir, { probes, splits: t.data.splits });
      return outcome;
    });
    refs.set(t, value as RefOutcome);
  }
  return refs;
}
