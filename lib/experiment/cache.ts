/**
 * The cell cache. A cell is stored as `<outDir>/cells/<key>.json` (and its artefact folder), the key being a
 * hash of what determines its numbers and nothing else:
 *
 *   key = sha256(code version, task data hash, resolved cell without its dataset and codec names)
 *
 * - the code version hashes the tokens of the modules that compute a cell's numbers — cell.ts's import
 *   closure (SAE, probe, features, their shared helpers) — without comments, whitespace or type-only imports
 *   (lib/common/source_graph.ts). CLI help, the report, the plots and comments are outside it; the reference
 *   probes on u have their own version (reference.ts's closure), so an SAE edit keeps them.
 * - the task data hash covers the pooled matrices, labels and probe folds (task_data.ts): a change in pooling,
 *   splits, labels or extracted features changes it.
 * - machine parallelism (threads, workers) is never in it: it never changes a result.
 *
 * To recompute on purpose, delete `<outDir>/cells/` (or one `<key>.json`).
 */
import { join } from "node:path";
import { exists, readJson, writeJsonAtomic } from "../common/fs.ts";
import { hashJson } from "../common/hash.ts";
import { sourceHash } from "../common/source_graph.ts";
import { artefactDir, hasArtefacts } from "./artefacts.ts";
import type { ResolvedCell } from "./plan.ts";

/** The code versions: of the SAE cells, and of the reference probes on u. */
export interface CodeVersions {
  cell: string;
  reference: string;
}

export async function codeVersions(): Promise<CodeVersions> {
  const root = new URL("..", import.meta.url);
  return {
    cell: await sourceHash(new URL("./cell.ts", import.meta.url), root),
    reference: await sourceHash(new URL("./reference.ts", import.meta.url), root),
  };
}

/** What a cell's cache key hashes (see the module comment). */
export function cellKeyInput(version: string, dataHash: string, cell: ResolvedCell): Record<string, unknown> {
  // Renaming a dataset entry or a codec id keeps the cells: the data hash says what they computed on.
  return { version, data: dataHash, cell: { ...cell, dataset: "", codec: "" } };
}

export function cellCacheKey(version: string, dataHash: string, cell: ResolvedCell): Promise<string> {
  return hashJson(cellKeyInput(version, dataHash, cell));
}

/**
 * The key of a frame-level SAE, shared by its cells of every task: the code version, its training and val1
 * frames, and the cell's SAE settings — not its task, probe or feature kinds (the SAE never sees them).
 */
export function saeCacheKey(version: string, framesHash: string, cell: ResolvedCell): Promise<string> {
  const { dIn, q, s, k, dZ, seed, schedule, sae, pooling, saeInput, framesPerRecording, monitorFrames } =
    cell;
  return hashJson({
    version,
    frames: framesHash,
    sae: { dIn, q, s, k, dZ, seed, schedule, sae, pooling, saeInput, framesPerRecording, monitorFrames },
  });
}

/** The cache key of a (dataset, codec, task)'s reference probe on u: `ref-<hash>`. */
export async function referenceKey(
  version: string,
  dataHash: string,
  probe: ResolvedCell["probe"] & { permutations: number },
): Promise<string> {
  return `ref-${await hashJson({ version, data: dataHash, probe, ref: "u" })}`;
}

/** Whether a cell is stored (with its artefact folder when checkpoints are kept). */
export async function isCached(
  cellsDir: string,
  key: string,
  opts: { checkpoints: boolean },
): Promise<boolean> {
  // With checkpoints on, a cell cached without its folder (`--no-checkpoints`) is recomputed.
  return await exists(join(cellsDir, `${key}.json`)) &&
    (!opts.checkpoints || await hasArtefacts(artefactDir(cellsDir, key), { withModel: true }));
}

/** The fields a cached cell's JSON must hold. */
export const CELL_FIELDS = {
  k: "number",
  dZ: "number",
  nmse: "number",
  saeSeconds: "number",
  outcomes: "array",
} as const;
/** The fields a cached reference's JSON must hold. */
export const REF_FIELDS = { f1: "number", predictions: "array", chance: "array" } as const;

/**
 * Reads a cached cell or reference JSON, checking the fields the results need; a damaged file (e.g. `{}`) is an
 * error naming the file and the field, never a JavaScript internal.
 */
export async function readCachedOutcome<T>(
  path: string,
  fields: Record<string, "number" | "array">,
): Promise<T> {
  const value = await readJson<Record<string, unknown>>(path);
  const bad = (field: string, want: string, got: unknown) => {
    throw new Error(
      `${path}: damaged cached result: '${field}' must be ${want}, got ${
        JSON.stringify(got) ?? "nothing"
      }; ` +
        `delete the file to recompute it`,
    );
  };
  if (!value || typeof value !== "object" || Array.isArray(value)) bad("(top level)", "an object", value);
  for (const [k, kind] of Object.entries(fields)) {
    const v = value[k];
    if (kind === "number" && typeof v !== "number" && v !== null) bad(k, "a number", v);
    if (kind === "array" && !Array.isArray(v)) bad(k, "an array", v);
  }
  if (Array.isArray(value.outcomes)) {
    value.outcomes.forEach((o: Record<string, unknown>, i: number) => {
      if (!o || typeof o !== "object") bad(`outcomes[${i}]`, "an object", o);
      if (typeof o.feature !== "string") bad(`outcomes[${i}].feature`, "a string", o.feature);
      if (typeof o.f1 !== "number") bad(`outcomes[${i}].f1`, "a number", o.f1);
      if (!Array.isArray(o.predictions)) bad(`outcomes[${i}].predictions`, "an array", o.predictions);
    });
  }
  return value as T;
}

/** A JSON cached at `path`, else computed and written atomically. */
export async function cachedJson<T>(
  path: string,
  fields: Record<string, "number" | "array">,
  compute: () => Promise<T>,
): Promise<{ value: T; hit: boolean }> {
  if (await exists(path)) return { value: await readCachedOutcome<T>(path, fields), hit: true };
  const value = await compute();
  await writeJsonAtomic(path, value);
  return { value, hit: false };
}
