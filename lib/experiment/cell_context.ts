/**
 * Everything one stored grid cell was computed from, reloaded from a results directory: the results row, the
 * SAE, the probes on z and the reference probe on u, the split lists, the feature store's u, and the manifest's
 * narrow accents and audio paths. The latent dashboard and steering start here.
 */
import pl from "nodejs-polars";
import { type FlagSpec, num, stringFlag, UsageError } from "../common/cli.ts";
import { dirname, join, resolve } from "node:path";
import { exists, readJson } from "../common/fs.ts";
import { type Matrix, takeRows } from "../common/matrix.ts";
import { type AccentTaskId, columnTask, manifestRows, readManifest, TASKS } from "../data/mod.ts";
import { readMergedView, type StoredRow } from "../extract/store.ts";
import { RESULT_TABLE } from "../formats/results.ts";
import { readTableCsv } from "../formats/table_files.ts";
import { frameFilesOf, readFrames } from "../extract/frames.ts";
import { loadCheckpoint, type SaeModel } from "../sae/mod.ts";
import { artefactDir, type ProbeArtefact, PROBES_FILE, type SplitLists, SPLITS_FILE } from "./artefacts.ts";
import type { Pooling, RunConfig, SaeInput, TaskId } from "./config.ts";
import { pooled } from "./task_data.ts";
import type { CellCoordinates } from "./plan.ts";

/** Picks a cell: by its key, or by any of the setting fields; unspecified fields match anything. */
export interface CellSelector {
  cellKey?: string;
  dataset?: string;
  codec?: string;
  task?: string;
  q?: number;
  s?: number;
  seed?: number;
  /** The SAE's input: "utterance" (default: the paper's SAEs on u) or "frames" (frame-level SAEs). */
  saeInput?: SaeInput;
  /** Among the matching cells: the highest ΔF1 on z (default) or the lowest. */
  pick?: "best" | "worst";
}

/** What the manifest says about one utterance. */
export interface UtteranceInfo {
  id: string;
  path: string;
  speaker: string;
  narrow: string;
  broad: string;
  split: string;
  /** sha256 of the audio file's bytes when it was encoded: an excerpt of a file changed since is refused. */
  sha256: string;
}

export interface CellContext extends CellCoordinates {
  outDir: string;
  cellKey: string;
  refKey: string;
  /** The cell's ΔF1 on z and the reference F1 (percent, as in the results table). */
  deltaF1: number;
  f1: number;
  f1Ref: number;
  /** Why this cell (the selector, or the default rule). */
  chosenBy: string;
  classes: [string, string];
  sae: SaeModel;
  /** The L1 probe on z (split protocol: "z"; k-fold: the first fold's probe, named here). */
  zProbe: ProbeArtefact;
  zProbeName: string;
  refProbe: ProbeArtefact;
  splits: SplitLists;
  /** How u was pooled; steering needs "mean". */
  pooling: string;
  /** u of every stored utterance of the dataset (rows in `ids` order) and each one's manifest entry. */
  ids: string[];
  u: Matrix;
  info: Map<string, UtteranceInfo>;
  /** Where the feature store and the manifest are. */
  storeDir: string;
  manifestPath: string;
  /** The run's models directory (run_config.json), for loading the codec again. */
  modelsDir?: string;
  /** What the SAE was fit on: u (the paper) or the frames ê_t (frame-level; its z probe is on pooled codes). */
  saeInput: SaeInput;
}

async function readResults(outDir: string): Promise<pl.DataFrame> {
  const parquet = join(outDir, "results.parquet"), csv = join(outDir, "results.csv");
  if (await exists(parquet)) return pl.readParquet(parquet);
  if (await exists(csv)) return readTableCsv(csv, RESULT_TABLE);
  throw new Error(`${outDir}: no results.parquet or results.csv (run the grid or the demo first)`);
}

type Row = Record<string, unknown>;

function matches(r: Row, sel: CellSelector): boolean {
  if (sel.cellKey !== undefined && r.cell_key !== sel.cellKey) return false;
  for (const f of ["dataset", "codec", "task"] as const) {
    if (sel[f] !== undefined && r[f] !== sel[f]) return false;
  }
  for (const f of ["q", "s", "seed"] as const) {
    if (sel[f] !== undefined && Number(r[f]) !== sel[f]) return false;
  }
  // Results written before the column existed hold utterance-level cells only.
  return (r.sae_input ?? "utterance") === (sel.saeInput ?? "utterance");
}

function describe(sel: CellSelector): string {
  const parts = Object.entries(sel).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(", ") : "(none)";
}

/**
 * The results row of the selected SAE cell (feature z). Without a selector: the most interpretable cell, the
 * highest ΔF1 on z (ties: the smaller q, then s, then cell key). A selector matching several cells takes the
 * best of them; matching none is an error listing what the results hold.
 */
export function selectCellRow(results: pl.DataFrame, sel: CellSelector, where: string): Row & {
  chosenBy: string;
} {
  const rows = (results.toRecords() as Row[]).filter((r) => r.feature === "z" && r.cell_key);
  const worst = sel.pick === "worst";
  if (rows.length === 0) throw new Error(`${where}: no SAE rows on z (feature "z") with a cell_key`);
  const hit = rows.filter((r) => matches(r, sel));
  if (hit.length === 0) {
    const keys = [...new Set(rows.map((r) => `${r.dataset}/${r.codec}/${r.task} q=${r.q} s=${r.s}`))];
    throw new Error(
      `${where}: no cell matches ${describe(sel)}; cells: ${keys.slice(0, 12).join("; ")}` +
        (keys.length > 12 ? ` (+${keys.length - 12} more)` : ""),
    );
  }
  // Without a selector, prefer cells whose ΔF1 can mean something: a trained SAE on a task whose reference F1
  // is clearly above chance (when the results say so and any cell qualifies).
  // The SAE input says which kind of cell, not which one: the validity preference still applies within it.
  const { pick: _pick, saeInput: _saeInput, ...fields } = sel;
  const any = Object.values(fields).some((v) => v !== undefined);
  const valid = (r: Row) => !isFalse(r.sae_trained) && !isFalse(r.ref_above_chance);
  const restricted = !any && hit.some(valid) && hit.some((r) => !valid(r));
  const pool = restricted ? hit.filter(valid) : hit;
  pool.sort((a, b) =>
    (worst ? -1 : 1) * (Number(b.delta_f1) - Number(a.delta_f1)) || Number(a.q) - Number(b.q) ||
    Number(a.s) - Number(b.s) ||
    String(a.cell_key).localeCompare(String(b.cell_key))
  );
  const which = worst ? "lowest" : "highest";
  const chosenBy = any
    ? `selected by ${describe(fields)}${
      hit.length > 1 ? ` (${which} ΔF1 on z of ${hit.length} matching cells)` : ""
    }`
    : `the ${worst ? "least" : "most"} interpretable cell: ${which} ΔF1 on z of ${pool.length} ` +
      `${sel.saeInput === "frames" ? "frame-level " : ""}SAE cells` +
      (restricted ? " with a trained SAE and a reference F1 clearly above chance" : "");
  return { ...pool[0], chosenBy };
}

/** A results flag that says no (boolean false, or "false"/"0" as CSV gives it); absent is not no. */
function isFalse(v: unknown): boolean {
  return v === false || v === "false" || v === 0 || v === "0";
}

function probeOf(probes: Record<string, ProbeArtefact>, feature: string, file: string) {
  if (probes[feature]) return { name: feature, probe: probes[feature] };
  const fold = `${feature}/fold-0`;
  if (probes[fold]) return { name: fold, probe: probes[fold] };
  throw new Error(`${file}: no probe for feature "${feature}" (has: ${Object.keys(probes).join(", ")})`);
}

/** Loads the selected cell of a results directory (see CellContext). */
export async function loadCellContext(outDirIn: string, sel: CellSelector = {}): Promise<CellContext> {
  const outDir = resolve(outDirIn);
  const results = await readResults(outDir);
  const row = selectCellRow(results, sel, outDir);
  const cellKey = String(row.cell_key);
  const refKey = referenceKey(results, row, outDir);
  const { model, z, u, splits } = await loadCellArtefacts({
    cellsDir: join(outDir, "cells"),
    cellKey,
    refKey,
  });
  const { config, featureRoot } = await readRunSettings(outDir);
  const pooling = config.pooling ?? "mean";
  const storeDir = join(featureRoot, String(row.dataset), String(row.codec));
  // The merged view holds what loadFeatureSet returns plus each row's audio path and the manifest's path.
  const view = await readMergedView(storeDir);
  const uAll = pooled(view, pooling as Pooling, storeDir);
  if (uAll.cols !== model.config.dIn) {
    throw new Error(
      `${storeDir}: u has ${uAll.cols} columns, the SAE of cell ${cellKey} takes ${model.config.dIn}`,
    );
  }
  const manifestPath = view.info.manifest;
  const info = await utteranceInfo(view, manifestPath);
  const task = String(row.task) as TaskId;
  return {
    outDir,
    cellKey,
    refKey,
    dataset: String(row.dataset),
    codec: String(row.codec),
    task,
    q: Number(row.q),
    s: Number(row.s),
    seed: Number(row.seed),
    deltaF1: Number(row.delta_f1),
    f1: Number(row.f1),
    f1Ref: Number(row.f1_ref),
    chosenBy: row.chosenBy,
    classes: classesOf(task, config),
    sae: model,
    zProbe: z.probe,
    zProbeName: z.name,
    refProbe: u.probe,
    splits,
    pooling,
    ids: view.ids,
    u: uAll,
    info,
    storeDir,
    manifestPath,
    ...(config.modelsDir ? { modelsDir: config.modelsDir } : {}),
    saeInput: row.sae_input === "frames" ? "frames" : "utterance",
  };
}

/**
 * The frames ê (T × d) of each given utterance, from the cell's feature store (lib/extract/frames.ts); a store
 * that keeps no frames for one of them is an error saying how to get them.
 */
export async function framesOf(ctx: CellContext, ids: string[]): Promise<Matrix[]> {
  const rows = ids.map((id) => {
    const info = ctx.info.get(id);
    if (!info) throw new Error(`${ctx.storeDir}: utterance ${id} of cell ${ctx.cellKey} is not stored`);
    return { utterance_id: id, sha256: info.sha256 };
  });
  const files = await frameFilesOf(ctx.storeDir, rows);
  if (!files) {
    throw new Error(
      `${ctx.storeDir}: the feature store keeps no frames for some of ${ids.length} utterance(s); extract it ` +
        'again with frames kept (a run config with saeInput "frames", or `extract --frames`)',
    );
  }
  return await Promise.all(files.map((f) => readFrames(f, ctx.sae.config.dIn)));
}

/** The cell key of the reference row (feature u) of the cell's dataset, codec and task. */
function referenceKey(results: pl.DataFrame, row: Row, outDir: string): string {
  const ref = (results.toRecords() as Row[]).find((r) =>
    r.feature === "u" && r.dataset === row.dataset && r.codec === row.codec && r.task === row.task &&
    r.cell_key
  );
  if (!ref) {
    throw new Error(`${outDir}: no reference row (feature "u") for ${row.dataset}/${row.codec}/${row.task}`);
  }
  return String(ref.cell_key);
}

/** The cell's SAE, its probe on z, the reference probe on u and the split lists; all files checked first. */
async function loadCellArtefacts(
  { cellsDir, cellKey, refKey }: { cellsDir: string; cellKey: string; refKey: string },
) {
  const dir = artefactDir(cellsDir, cellKey), refDir = artefactDir(cellsDir, refKey);
  // Checked before loading anything, so a grid run without checkpoints fails with what to do, not a read error.
  for (const f of [join(dir, "model.safetensors"), join(dir, PROBES_FILE), join(refDir, PROBES_FILE)]) {
    if (!(await exists(f))) {
      throw new Error(
        `${f}: missing (the grid kept no artefacts for this cell; rerun it with checkpoints on)`,
      );
    }
  }
  const { model } = await loadCheckpoint(dir);
  const probesPath = join(dir, PROBES_FILE), refPath = join(refDir, PROBES_FILE);
  const z = probeOf(await readJson<Record<string, ProbeArtefact>>(probesPath), "z", probesPath);
  const u = probeOf(await readJson<Record<string, ProbeArtefact>>(refPath), "u", refPath);
  const splits = await readJson<SplitLists>(join(dir, SPLITS_FILE));
  return { model, z, u, splits };
}

/** A task's class names: the accent tasks', or a column task's values from the run's config. */
function classesOf(task: TaskId, config: Partial<RunConfig>): [string, string] {
  const column = (config.tasks ?? []).find((t) => typeof t === "object" && t.name === task);
  if (column && typeof column === "object") return columnTask(column).classes;
  return TASKS[task as AccentTaskId]?.classes ?? ["class 0", "class 1"];
}

/** The run's saved config (none: defaults) and its feature store root (relative to run_config.json). */
export async function readRunSettings(
  outDir: string,
): Promise<{ config: Partial<RunConfig>; featureRoot: string }> {
  const configPath = join(outDir, "run_config.json");
  const config = (await exists(configPath)) ? await readJson<Partial<RunConfig>>(configPath) : {};
  const featureRoot = config.featureDir
    ? resolve(dirname(configPath), config.featureDir)
    : join(outDir, "features");
  return { config, featureRoot };
}

/** Each stored utterance's manifest entry; the audio path the store recorded wins over the manifest's. */
async function utteranceInfo(
  view: { ids: string[]; rows: Pick<StoredRow, "path" | "sha256">[] },
  manifestPath: string,
): Promise<Map<string, UtteranceInfo>> {
  const info = new Map<string, UtteranceInfo>();
  const byId = new Map(
    manifestRows(await readManifest(manifestPath, { checkFiles: false, duplicateAudio: "allow" })).map((
      r,
    ) => [r.utterance_id, r]),
  );
  for (const [i, id] of view.ids.entries()) {
    const m = byId.get(id);
    info.set(id, {
      id,
      path: view.rows[i]?.path ?? String(m?.path ?? ""),
      speaker: String(m?.speaker_id ?? ""),
      narrow: String(m?.accent_narrow ?? "unknown"),
      broad: String(m?.accent_broad ?? "unknown"),
      split: String(m?.split ?? ""),
      sha256: view.rows[i]?.sha256 ?? "",
    });
  }
  return info;
}

/** u of the given utterances (in that order); an id missing from the store is an error naming it. */
export function uOf(ctx: CellContext, ids: string[]): Matrix {
  const rowOf = new Map(ctx.ids.map((id, i) => [id, i]));
  const idx = ids.map((id) => {
    const i = rowOf.get(id);
    if (i === undefined) {
      throw new Error(`${ctx.storeDir}: utterance ${id} of cell ${ctx.cellKey} is not stored`);
    }
    return i;
  });
  return takeRows(ctx.u, idx);
}

/** The flags `inspect` and `steer` share to pick a cell. */
export const CELL_SELECT_FLAGS: FlagSpec = {
  results: stringFlag("results folder written by `grid` or `demo` (or give it as DIR)"),
  "cell-key": {
    type: "string",
    description: "the cell's key (results column cell_key)",
    defaultText: "the cell with the highest ΔF1 on z",
  },
  dataset: stringFlag("select by dataset"),
  codec: stringFlag("select by codec id"),
  task: stringFlag("select by task (us-vs-uk, us-vs-non-us-uk)"),
  q: stringFlag("select by latent ratio q"),
  s: stringFlag("select by relative sparsity s"),
  seed: stringFlag("select by seed"),
  "sae-input": {
    type: "string",
    description:
      'select by what the SAE was fit on: "utterance" (u, the paper) or "frames" (frame-level SAEs)',
    default: "utterance",
  },
  pick: {
    type: "string",
    description: "among the matching cells, the highest (best) or lowest (worst) ΔF1 on z",
    default: "best",
  },
};

/** The results directory and cell selector of parsed flags (default cell: the highest ΔF1 on z). */
export function cellSelectionFromFlags(
  flags: Record<string, unknown>,
  positionals: string[],
): { results: string; select: CellSelector } {
  const results = (flags.results as string | undefined) ?? positionals[0];
  if (!results) throw new UsageError("--results DIR is required");
  if (positionals.length > (flags.results ? 0 : 1)) {
    throw new UsageError(`unexpected argument(s): ${positionals.join(" ")}`);
  }
  const opt = (n: string) => (flags[n] === undefined ? undefined : num(flags, n));
  return {
    results,
    select: {
      cellKey: flags["cell-key"] as string | undefined,
      dataset: flags.dataset as string | undefined,
      codec: flags.codec as string | undefined,
      task: flags.task as string | undefined,
      q: opt("q"),
      s: opt("s"),
      seed: opt("seed"),
      saeInput: saeInputOf(flags["sae-input"]),
      pick: pickOf(flags.pick),
    },
  };
}

function saeInputOf(v: unknown): SaeInput {
  if (v === undefined || v === "utterance" || v === "frames") return (v ?? "utterance") as SaeInput;
  throw new UsageError(`--sae-input must be utterance or frames, got ${JSON.stringify(v)}`);
}

function pickOf(v: unknown): "best" | "worst" {
  if (v === undefined || v === "best" || v === "worst") return (v ?? "best") as "best" | "worst";
  throw new UsageError(`--pick must be best or worst, got ${JSON.stringify(v)}`);
}
