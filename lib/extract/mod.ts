/**
 * The extraction stage: audio → codec ê → u (mean over time) and its std over time, for one file or a whole
 * manifest into a resumable feature store (see `store.ts`) per (dataset, codec).
 */
import type pl from "nodejs-polars";
import { basename, dirname, extname, join, resolve } from "node:path";
import { inCache, type Locations, locationsOf } from "../common/settings.ts";
import { exists, readJson, safeName, writeJsonAtomic } from "../common/fs.ts";
import { sha256File } from "../common/hash.ts";
import type { Matrix } from "../common/matrix.ts";
import { log, Progress } from "../common/progress.ts";
import { loadAudio } from "../audio/mod.ts";
import { codecGroups, getCodec, loadCodecGroup } from "../codecs/registry.ts";
import { type CodecInfo, codecInfo, type LoadOptions, shortestInput } from "../codecs/types.ts";
import { meanOverTime } from "./pooling.ts";
import { EncoderPool } from "./pool.ts";
import {
  type FrameEntry,
  frameFilesOf,
  framePath,
  FRAMES_DIR,
  writeFrames,
  writeFramesIndex,
} from "./frames.ts";
import {
  type Failure,
  lockStore,
  readMergedView,
  readShards,
  rowKey,
  ShardWriter,
  type StoredRow,
  writeMergedView,
} from "./store.ts";

export type { Failure, StoredRow } from "./store.ts";
export { meanOverTime, stdOverTime } from "./pooling.ts";
export { frameFileName, FRAMES_DIR, readFrames } from "./frames.ts";
export {
  type ExtractionExample,
  extractionExample,
  LYRA_SAMPLE_SPEECH,
  sampleSpeechPath,
} from "./example.ts";

/** The paper's preprocessing crops every utterance to its first 30 s. */
export const MAX_SECONDS = 30;

export interface FeatureSet {
  codecId: string;
  dataset: string;
  /** utterance_id of each row of `u`, in manifest order. */
  ids: string[];
  /** N × d_codec: the mean of ê over time (the paper's u). */
  u: Matrix;
  /** N × d_codec: the std of ê over time (statistics pooling); absent in stores written before it was kept. */
  uStd?: Matrix;
  /** Utterances excluded because they failed to decode or encode, with the reason. */
  failures: Failure[];
  /** Per row of `u`, its frames file (frames.ts), when the store keeps the frames of every row. */
  frameFiles?: string[];
}

/** Where the codec's weights are found comes from `Locations` (and `modelsDir`); the default store from `cacheDir`. */
export interface ExtractOptions extends Locations {
  manifestPath: string;
  codecId: string;
  /** Default `<cacheDir>/features/<dataset>/<codecId>/`. */
  storeDir?: string;
  /** Default: the number of cores. */
  workers?: number;
  modelsDir?: string;
  offline?: boolean;
  quiet?: boolean;
  maxSeconds?: number;
  /** Results are committed to disk at least this often (and every `flushEvery` utterances). */
  flushSeconds?: number;
  flushEvery?: number;
  /** onnxruntime execution providers for the ONNX codecs, e.g. ["cuda", "cpu"] (default: CPU). */
  providers?: string[];
  /**
   * Other stores of the same codec and crop (the parts of a sharded extraction, e.g. Slurm array tasks) whose
   * rows are copied into this store first; only what none of them holds is encoded.
   */
  importStores?: string[];
  /**
   * Keep each recording's ê in the store's frames/ folder (frames.ts; for frame-level SAEs). Stored rows
   * without frames are encoded again for them; their u stays the stored one. `true`: every codec's store;
   * a list: the stores of these codec ids only.
   */
  keepFrames?: boolean | readonly string[];
}

export interface ExtractSummary {
  codecId: string;
  dataset: string;
  storeDir: string;
  total: number;
  done: number;
  cached: number;
  computed: number;
  /** Stored utterances whose audio file changed since (same id and path, other bytes): encoded again. */
  reencoded: number;
  /** Utterances whose audio bytes repeat an earlier row's (a file listed twice, or a copy). */
  duplicateContent: number;
  failed: number;
  seconds: number;
  audioSeconds: number;
  utterancesPerSecond: number;
  /** Audio seconds encoded per wall-clock second (computed utterances only). */
  realTimeFactor: number;
  workers: number;
}

/** Default store directory of a (dataset, codec): `<cacheDir>/features/<dataset>/<codecId>`. */
export function featureStoreDir(dataset: string, codecId: string, loc: Locations): string {
  const what = `the feature store of ${dataset} × ${codecId}`;
  return inCache(loc, what, "features", safeName(dataset, `dataset name`), safeName(codecId, "codec id"));
}

interface ManifestRow {
  utterance_id: string;
  path: string;
}

/** The manifest's rows (absolute paths) and its dataset name. */
export async function manifestRows(manifestPath: string): Promise<{ dataset: string; rows: ManifestRow[] }> {
  // Imported lazily: single-file extraction does not need the data stage.
  const { readManifest } = await import("../data/mod.ts");
  const df: pl.DataFrame = await readManifest(manifestPath, { checkFiles: false });
  const base = dirname(resolve(manifestPath));
  const rows = df.select("utterance_id", "path").toRecords().map((r: Record<string, unknown>) => ({
    utterance_id: String(r.utterance_id),
    path: resolve(base, String(r.path)),
  }));
  const datasets: string[] = [...new Set(df.getColumn("dataset").toArray().map(String))];
  const dataset = datasets.length === 1 ? datasets[0] : basename(manifestPath, extname(manifestPath));
  return { dataset, rows };
}

/**
 * Encodes every utterance of a manifest not yet in the store, then rewrites the store's merged view.
 * Resumable: results are committed in shards as they come, and a restarted run skips what is stored.
 */
export async function extractFeatures(
  opts: ExtractOptions,
): Promise<FeatureSet & { summary: ExtractSummary }> {
  const { codecId, storeDir, importStores, ...rest } = opts;
  return (await extractFeatureSets({
    ...rest,
    codecIds: [codecId],
    storeDirs: [storeDir],
    importStores: [importStores],
  }))[0];
}

export interface ExtractManyOptions extends Omit<ExtractOptions, "codecId" | "storeDir" | "importStores"> {
  codecIds: string[];
  /** Per codec (same order); a missing entry means the default store. */
  storeDirs?: (string | undefined)[];
  /** Per codec (same order): stores of that codec to import first (see ExtractOptions.importStores). */
  importStores?: (string[] | undefined)[];
}

/**
 * `extractFeatures` for several codecs of one manifest, in `codecIds` order. Codecs that share an encoder
 * pass (Lyra's bitrates) encode each utterance once for all of them (see `codecGroups`); every store is the
 * same as extracting its codec alone.
 */
export async function extractFeatureSets(
  opts: ExtractManyOptions,
): Promise<(FeatureSet & { summary: ExtractSummary })[]> {
  const load: LoadOptions = {
    ...locationsOf(opts),
    modelsDir: opts.modelsDir,
    offline: opts.offline,
    quiet: opts.quiet,
    providers: opts.providers,
  };
  const results = new Map<string, FeatureSet & { summary: ExtractSummary }>();
  for (const ids of await codecGroups(opts.codecIds, load)) {
    const at = ids.map((id) => opts.codecIds.indexOf(id));
    const sets = await extractGroup(
      { ...opts, importStores: at.map((i) => opts.importStores?.[i]) },
      load,
      ids,
      at.map((i) => opts.storeDirs?.[i]),
    );
    ids.forEach((id, i) => results.set(id, sets[i]));
  }
  return opts.codecIds.map((id) => results.get(id)!);
}

/** One store's state before encoding. */
interface StorePlan {
  info: CodecInfo;
  storeDir: string;
  before: Awaited<ReturnType<typeof readShards>>;
  /** Manifest row indices to encode: those this store lacks (`rowTodo`) or lacks the frames of. */
  todo: Set<number>;
  rowTodo: Set<number>;
  stale: Set<string>;
  /** Whether this store keeps each recording's frames (frames.ts). */
  keepFrames: boolean;
  writer?: ShardWriter;
  failures: Failure[];
  audioSeconds: number;
  computed: number;
}

async function extractGroup(
  opts: ExtractManyOptions,
  load: LoadOptions,
  ids: string[],
  storeDirs: (string | undefined)[],
): Promise<(FeatureSet & { summary: ExtractSummary })[]> {
  const t0 = performance.now();
  // The loaded codecs, not the registry entries, know the real dimensions (a scaled-down fixture config
  // differs from the official one the entry describes).
  const loaded = await loadCodecGroup(ids, load);
  const infos = loaded.codecs.map(codecInfo);
  loaded.dispose();
  const { dataset, rows } = await manifestRows(opts.manifestPath);
  const dirs = infos.map((c, i) => resolve(storeDirs[i] ?? featureStoreDir(dataset, c.id, opts)));
  if (new Set(dirs).size < dirs.length) throw new Error(`two codecs would share a store: ${dirs.join(", ")}`);
  const unlocks: (() => Promise<void>)[] = [];
  try {
    // Locked in a fixed order, so two runs over overlapping groups cannot deadlock.
    for (const dir of [...dirs].sort()) unlocks.push(await lockStore(dir, opts.quiet));
    return await extractLocked(opts, load, infos, dataset, rows, dirs, t0);
  } finally {
    for (const unlock of unlocks.reverse()) await unlock();
  }
}

async function extractLocked(
  opts: ExtractManyOptions,
  load: LoadOptions,
  infos: CodecInfo[],
  dataset: string,
  rows: ManifestRow[],
  dirs: string[],
  t0: number,
): Promise<(FeatureSet & { summary: ExtractSummary })[]> {
  const maxSeconds = opts.maxSeconds ?? MAX_SECONDS;
  for (const info of infos) checkCrop(maxSeconds, info);
  const hashes = await hashFiles(rows, opts.quiet);
  const keys = rows.map((r, i) => rowKey(r.utterance_id, r.path, hashes[i]));
  const stores = await planStores(opts, infos, rows, keys, hashes, dirs, maxSeconds);
  const repeated = hashes.length - new Set(hashes.filter((h) => h !== "")).size -
    hashes.filter((h) => !h).length;
  if (repeated > 0) {
    log(
      `warning: ${repeated} of ${rows.length} utterances repeat the audio content (same bytes) of an earlier ` +
        `row; each is stored under its own id`,
      opts.quiet,
    );
  }
  // Every utterance some store lacks, encoded once for the whole group.
  // Frames leave the encoder when any store keeps them; each store writes them only if it keeps them.
  const keepFrames = stores.some((st) => st.keepFrames);
  const todo = rows.map((_, index) => ({ index, path: rows[index].path, maxSeconds, keepFrames }))
    .filter((j) => stores.some((st) => st.todo.has(j.index)));
  const workers = Math.max(
    1,
    Math.min(opts.workers ?? navigator.hardwareConcurrency, Math.max(todo.length, 1)),
  );
  const name = infos.map((c) => c.id).join(" + ");
  for (const st of stores) {
    log(
      `extract ${st.info.id} on ${dataset}: ${rows.length} utterances, ${
        rows.length - st.todo.size
      } stored, ` +
        `${st.todo.size} to encode → ${st.storeDir}`,
      opts.quiet,
    );
  }
  if (infos.length > 1 && todo.length > 0) {
    log(`one encoder pass for ${name}: ${todo.length} utterances (${workers} worker(s))`, opts.quiet);
  }

  const tEncode = performance.now();
  if (todo.length > 0) await encodeMissing(opts, load, infos, rows, hashes, stores, todo, workers);
  const encodeSeconds = (performance.now() - tEncode) / 1000;

  const sets: (FeatureSet & { summary: ExtractSummary })[] = [];
  for (const st of stores) {
    const { info, storeDir, failures, computed, audioSeconds } = st;
    const after = await readShards(storeDir, info.id, info.dCodec);
    for (const k of st.stale) after.rows.delete(k); // superseded: compaction drops them
    const view = await writeMergedView(
      storeDir,
      { dataset, codec: info, manifest: resolve(opts.manifestPath), maxSeconds },
      after,
      keys,
      failures,
    );
    const summary: ExtractSummary = {
      codecId: info.id,
      dataset,
      storeDir,
      total: rows.length,
      done: view.ids.length,
      cached: rows.length - st.todo.size,
      computed,
      reencoded: st.stale.size,
      duplicateContent: repeated,
      failed: failures.length,
      seconds: (performance.now() - t0) / 1000,
      audioSeconds,
      utterancesPerSecond: computed > 0 ? computed / encodeSeconds : 0,
      realTimeFactor: computed > 0 ? audioSeconds / encodeSeconds : 0,
      workers: st.todo.size > 0 ? workers : 0,
    };
    if (failures.length > 0) {
      log(
        `${failures.length} utterance(s) excluded; reasons in ${join(storeDir, "failures.csv")}`,
        opts.quiet,
      );
    }
    const frameFiles = await indexFrames(storeDir, view.rows, st.keepFrames);
    sets.push({
      codecId: info.id,
      dataset,
      ids: view.ids,
      u: view.u,
      uStd: view.uStd,
      failures,
      summary,
      ...(frameFiles ? { frameFiles } : {}),
    });
  }
  return sets;
}

/** Phase 1: per codec, its store checked against the settings, imports merged, and what it lacks or holds stale. */
async function planStores(
  opts: ExtractManyOptions,
  infos: CodecInfo[],
  rows: ManifestRow[],
  keys: string[],
  hashes: string[],
  dirs: string[],
  maxSeconds: number,
): Promise<StorePlan[]> {
  const stores: StorePlan[] = [];
  for (const [i, info] of infos.entries()) {
    const storeDir = dirs[i];
    const settings = { codecId: info.id, dCodec: info.dCodec, maxSeconds };
    await checkSettings(storeDir, settings);
    const imports = opts.importStores?.[i];
    if (imports?.length) await importStores(storeDir, imports, settings, opts.quiet);
    const before = await readShards(storeDir, info.id, info.dCodec);
    // Rows stored before the std over time was kept are encoded again (their mean comes out the same).
    const rowTodo = new Set(rows.map((_, index) => index).filter((j) => !before.rows.get(keys[j])?.uStd));
    const noStd = [...rowTodo].filter((j) => before.rows.has(keys[j])).length;
    if (noStd > 0) {
      log(`${storeDir}: ${noStd} stored row(s) predate the std over time; encoding them again`, opts.quiet);
    }
    const stale = staleKeys(before.rows.values(), new Set(keys), rows);
    if (stale.size > 0) {
      log(
        `${storeDir}: ${stale.size} stored utterance(s) changed on disk since they were encoded: encoding ` +
          `them again`,
        opts.quiet,
      );
    }
    const todo = new Set(rowTodo);
    const keepFrames = opts.keepFrames === true ||
      (Array.isArray(opts.keepFrames) && opts.keepFrames.includes(info.id));
    if (keepFrames) {
      const noFrames = await lackingFrames(storeDir, rows, hashes, rowTodo);
      if (noFrames.length > 0) {
        log(
          `${storeDir}: ${noFrames.length} stored row(s) have no frames kept; encoding them again`,
          opts.quiet,
        );
      }
      for (const j of noFrames) todo.add(j);
    }
    stores.push({
      info,
      storeDir,
      before,
      todo,
      rowTodo,
      stale,
      keepFrames,
      failures: [],
      audioSeconds: 0,
      computed: 0,
    });
  }
  return stores;
}

/** Phase 2: every utterance some store lacks, encoded once for the whole group; rows written to each store's shards. */
async function encodeMissing(
  opts: ExtractManyOptions,
  load: LoadOptions,
  infos: CodecInfo[],
  rows: ManifestRow[],
  hashes: string[],
  stores: StorePlan[],
  todo: { index: number; path: string; maxSeconds: number; keepFrames: boolean }[],
  workers: number,
): Promise<void> {
  const name = infos.map((c) => c.id).join(" + ");
  let failed = 0;
  for (const st of stores) {
    if (st.rowTodo.size > 0) {
      st.writer = new ShardWriter(st.storeDir, st.info.id, st.info.dCodec, st.before.nextShard);
    }
  }
  const pool = await EncoderPool.start(infos.map((c) => c.id), workers, load);
  const progress = new Progress({
    label: `extract ${name}`,
    total: todo.length,
    unit: "utt",
    quiet: opts.quiet,
  });
  const flushEvery = opts.flushEvery ?? 256, flushMs = (opts.flushSeconds ?? 10) * 1000;
  let lastFlush = performance.now();
  try {
    await pool.run(todo, async (out) => {
      const r = rows[out.index];
      if (!out.ok) {
        failed++;
        log(`warning: ${r.utterance_id} (${r.path}) excluded: ${out.reason}`, opts.quiet);
      }
      for (const [c, st] of stores.entries()) {
        if (!st.todo.has(out.index)) continue;
        if (!out.ok) {
          st.failures.push({ utterance_id: r.utterance_id, path: r.path, reason: out.reason });
          continue;
        }
        const o = out.outs[c];
        if (st.keepFrames && o.e && hashes[out.index]) {
          const e = { rows: o.frames, cols: st.info.dCodec, data: o.e };
          await writeFrames(await framePath(st.storeDir, r.utterance_id, hashes[out.index]), e);
        }
        // A stored row encoded again only for its frames keeps its stored u (the first shard's wins anyway).
        if (!st.rowTodo.has(out.index)) continue;
        st.writer?.add(
          {
            utterance_id: r.utterance_id,
            path: r.path,
            frames: o.frames,
            seconds: out.seconds,
            sha256: hashes[out.index],
          },
          o.u,
          o.uStd,
        );
        st.audioSeconds += out.seconds;
        st.computed++;
      }
      const pending = Math.max(...stores.map((st) => st.writer?.pending ?? 0));
      if (pending >= flushEvery || performance.now() - lastFlush >= flushMs) {
        for (const st of stores) await st.writer?.flush();
        lastFlush = performance.now();
      }
      progress.tick(1, failed > 0 ? `${failed} failed` : "");
    });
    for (const st of stores) await st.writer?.flush();
  } finally {
    await pool.close();
  }
}

/** Stored manifest rows (not in `rowTodo`) whose frames file is missing. */
async function lackingFrames(
  storeDir: string,
  rows: ManifestRow[],
  hashes: string[],
  rowTodo: Set<number>,
): Promise<number[]> {
  const out: number[] = [];
  for (const [j, r] of rows.entries()) {
    if (rowTodo.has(j) || !hashes[j]) continue;
    if (!(await exists(await framePath(storeDir, r.utterance_id, hashes[j])))) out.push(j);
  }
  return out;
}

/**
 * Rewrites frames/index.csv (when the store has a frames folder) and returns the frames file of every view
 * row, or undefined when some row has none; `required`: that is an error (an extraction asked to keep them).
 */
async function indexFrames(
  storeDir: string,
  rows: StoredRow[],
  required: boolean,
): Promise<string[] | undefined> {
  if (!required && !(await exists(join(storeDir, FRAMES_DIR)))) return undefined;
  const entries: FrameEntry[] = [];
  const files: string[] = [];
  for (const r of rows) {
    const path = await framePath(storeDir, r.utterance_id, r.sha256);
    if (!r.sha256 || !(await exists(path))) continue;
    entries.push({ utterance_id: r.utterance_id, file: basename(path), frames: r.frames });
    files.push(path);
  }
  await writeFramesIndex(storeDir, entries);
  if (files.length === rows.length) return files;
  if (required) {
    throw new Error(
      `${storeDir}: ${rows.length - files.length} recording(s) have no frames kept after extraction ` +
        `(their audio could not be hashed); fix their files and extract again`,
    );
  }
  return undefined;
}

/** A crop shorter than one codec frame leaves nothing real to encode: refused before any work. */
export function checkCrop(maxSeconds: number, codec: { id: string; frameRate: number }): void {
  if (!(maxSeconds > 0)) throw new Error(`maxSeconds must be > 0 (Infinity: no crop), got ${maxSeconds}`);
  if (maxSeconds < 1 / codec.frameRate) {
    throw new Error(
      `a crop to ${maxSeconds} s is shorter than one ${codec.id} frame (${1 / codec.frameRate} s); ` +
        `nothing would be encoded`,
    );
  }
}

/** Copies into `storeDir` the rows of other stores built with the same settings that it lacks. */
async function importStores(
  storeDir: string,
  dirs: string[],
  settings: { codecId: string; dCodec: number; maxSeconds: number },
  quiet?: boolean,
): Promise<void> {
  const have = await readShards(storeDir, settings.codecId, settings.dCodec);
  const writer = new ShardWriter(storeDir, settings.codecId, settings.dCodec, have.nextShard);
  let copied = 0;
  for (const dir of dirs) {
    if (!(await exists(join(dir, "settings.json")))) {
      throw new Error(`${dir}: not a feature store (no settings.json); nothing to import`);
    }
    await checkSettings(dir, settings);
    for (const [key, v] of (await readShards(dir, settings.codecId, settings.dCodec)).rows) {
      if (have.rows.get(key)?.uStd || !v.uStd) continue;
      writer.add(v.row, v.u, v.uStd);
      copied++;
    }
  }
  await writer.flush();
  log(`${storeDir}: imported ${copied} stored row(s) from ${dirs.length} store(s)`, quiet);
}

/**
 * sha256 of every manifest file's bytes (read once per distinct path). An unreadable file gets an empty hash:
 * it matches nothing stored, so its worker reports the read error as the utterance's failure.
 */
async function hashFiles(rows: ManifestRow[], quiet?: boolean): Promise<string[]> {
  const byPath = new Map<string, string>();
  const progress = rows.length >= 2000
    ? new Progress({ label: "hash audio files", total: rows.length, unit: "file", quiet })
    : undefined;
  const out: string[] = [];
  for (const r of rows) {
    let h = byPath.get(r.path);
    if (h === undefined) {
      h = await sha256File(r.path).catch(() => "");
      byPath.set(r.path, h);
    }
    out.push(h);
    progress?.tick(1);
  }
  return out;
}

/** Stored keys of manifest utterances (same id and path) whose file content is not the current one. */
function staleKeys(
  stored: Iterable<{ row: StoredRow }>,
  current: Set<string>,
  rows: ManifestRow[],
): Set<string> {
  const wanted = new Set(rows.map((r) => `${r.utterance_id}\u0000${r.path}`));
  const stale = new Set<string>();
  for (const { row } of stored) {
    const key = rowKey(row.utterance_id, row.path, row.sha256 ?? "");
    if (!current.has(key) && wanted.has(`${row.utterance_id}\u0000${row.path}`)) stale.add(key);
  }
  return stale;
}

/**
 * What every stored row was computed with (`settings.json`, written before the first shard): a run with
 * other settings would silently mix crops or codecs in one store, so it is refused.
 */
async function checkSettings(
  dir: string,
  settings: { codecId: string; dCodec: number; maxSeconds: number },
): Promise<void> {
  const path = join(dir, "settings.json");
  // JSON has no Infinity: "no crop" is stored as null.
  const want = { ...settings, maxSeconds: Number.isFinite(settings.maxSeconds) ? settings.maxSeconds : null };
  if (await exists(path)) {
    const have = await readJson<typeof want>(path);
    for (const k of Object.keys(want) as (keyof typeof want)[]) {
      if (have[k] !== want[k]) {
        throw new Error(
          `${dir}: this store was built with ${k} = ${JSON.stringify(have[k])}, not ${
            JSON.stringify(want[k])
          }; ` +
            `use another --store (or delete it to rebuild)`,
        );
      }
    }
    return;
  }
  await writeJsonAtomic(path, want);
}

/** Loads a complete feature store: a directory, or the default one of (dataset, codecId). */
export async function loadFeatureSet(
  where: string | { dataset: string; codecId: string; storeDir?: string; cacheDir?: string },
): Promise<FeatureSet> {
  const dir = typeof where === "string"
    ? where
    : where.storeDir ?? featureStoreDir(where.dataset, where.codecId, where);
  const view = await readMergedView(dir);
  const frameFiles = (await exists(join(dir, FRAMES_DIR))) ? await frameFilesOf(dir, view.rows) : null;
  return {
    codecId: view.info.codec.id,
    dataset: view.info.dataset,
    ids: view.ids,
    u: view.u,
    ...(view.uStd ? { uStd: view.uStd } : {}),
    failures: view.failures,
    ...(frameFiles ? { frameFiles } : {}),
  };
}

export interface FileEncoding {
  codecId: string;
  /** ê, T × d. */
  frames: Matrix;
  u: Float32Array;
  audioSeconds: number;
  /** Encode time (after loading the codec and decoding the audio). */
  encodeSeconds: number;
}

/** Encodes one audio file (decode → crop → mono → resample → ê) in this thread. */
export async function encodeFile(
  path: string,
  codecId: string,
  opts: LoadOptions & { maxSeconds?: number } = {},
): Promise<FileEncoding> {
  const entry = await getCodec(codecId, opts);
  const codec = await entry.load(opts);
  try {
    checkCrop(opts.maxSeconds ?? MAX_SECONDS, codec);
    const audio = await loadAudio(path, {
      sampleRate: codec.sampleRate,
      maxSeconds: opts.maxSeconds ?? MAX_SECONDS,
    });
    const shortest = shortestInput(codec);
    if (audio.length < shortest) {
      throw new Error(
        `${path}: too short: ${audio.length} samples at ${codec.sampleRate} Hz; ${codec.id} needs at least ` +
          `${shortest} (one ${(1000 / codec.frameRate).toFixed(0)} ms frame); use a longer recording`,
      );
    }
    const t = performance.now();
    const e = await codec.encode(audio);
    const encodeSeconds = (performance.now() - t) / 1000;
    return {
      codecId: codec.id,
      frames: e,
      u: meanOverTime(e),
      audioSeconds: audio.length / codec.sampleRate,
      encodeSeconds,
    };
  } finally {
    codec.dispose();
  }
}
