/**
 * The extraction stage: audio → codec ê → u (mean over time) and its std over time, for one file or a whole
 * manifest into a resumable feature store (see `store.ts`) per (dataset, codec).
 */
import type pl from "nodejs-polars";
import { basename, dirname, extname, join, resolve } from "node:path";
import { cacheRoot } from "../common/assets.ts";
import { exists, readJson, writeJsonAtomic } from "../common/fs.ts";
import { sha256File } from "../common/hash.ts";
import type { Matrix } from "../common/matrix.ts";
import { log, Progress } from "../common/progress.ts";
import { loadAudio } from "../audio/mod.ts";
import { getCodec } from "../codecs/registry.ts";
import { type CodecInfo, type LoadOptions, meanOverTime } from "../codecs/types.ts";
import { EncoderPool } from "./pool.ts";
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
}

export interface ExtractOptions {
  manifestPath: string;
  codecId: string;
  /** Default `<cache>/features/<dataset>/<codecId>/`. */
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

/** Default store directory of a (dataset, codec). */
export function featureStoreDir(dataset: string, codecId: string): string {
  return join(cacheRoot(), "features", dataset, codecId);
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
  const t0 = performance.now();
  const load: LoadOptions = {
    modelsDir: opts.modelsDir,
    offline: opts.offline,
    quiet: opts.quiet,
    providers: opts.providers,
  };
  // The loaded codec, not the registry entry, knows the real dimensions (a scaled-down fixture config differs
  // from the official one the entry describes).
  const loaded = await (await getCodec(opts.codecId, load)).load(load);
  const info: CodecInfo = codecInfo(loaded);
  loaded.dispose();
  const entry = info;
  const { dataset, rows } = await manifestRows(opts.manifestPath);
  const storeDir = resolve(opts.storeDir ?? featureStoreDir(dataset, entry.id));
  const unlock = await lockStore(storeDir, opts.quiet);
  try {
    return await extractLocked(opts, load, entry, info, dataset, rows, storeDir, t0);
  } finally {
    await unlock();
  }
}

async function extractLocked(
  opts: ExtractOptions,
  load: LoadOptions,
  entry: CodecInfo,
  info: CodecInfo,
  dataset: string,
  rows: ManifestRow[],
  storeDir: string,
  t0: number,
): Promise<FeatureSet & { summary: ExtractSummary }> {
  const maxSeconds = opts.maxSeconds ?? MAX_SECONDS;
  checkCrop(maxSeconds, info);
  await checkSettings(storeDir, { codecId: entry.id, dCodec: entry.dCodec, maxSeconds });
  if (opts.importStores?.length) {
    await importStores(
      storeDir,
      opts.importStores,
      { codecId: entry.id, dCodec: entry.dCodec, maxSeconds },
      opts.quiet,
    );
  }
  const before = await readShards(storeDir, entry.id, entry.dCodec);
  const hashes = await hashFiles(rows, opts.quiet);
  const keys = rows.map((r, i) => rowKey(r.utterance_id, r.path, hashes[i]));
  // Rows stored before the std over time was kept are encoded again (their mean comes out the same).
  const todo = rows.map((r, index) => ({ index, path: r.path, maxSeconds }))
    .filter((j) => !before.rows.get(keys[j.index])?.uStd);
  const cached = rows.length - todo.length;
  const noStd = todo.filter((j) => before.rows.has(keys[j.index])).length;
  if (noStd > 0) {
    log(`${storeDir}: ${noStd} stored row(s) predate the std over time; encoding them again`, opts.quiet);
  }
  const repeated = hashes.length - new Set(hashes.filter((h) => h !== "")).size -
    hashes.filter((h) => !h).length;
  if (repeated > 0) {
    log(
      `warning: ${repeated} of ${rows.length} utterances repeat the audio content (same bytes) of an earlier ` +
        `row; each is stored under its own id`,
      opts.quiet,
    );
  }
  const stale = staleKeys(before.rows.values(), new Set(keys), rows);
  if (stale.size > 0) {
    log(
      `${stale.size} stored utterance(s) changed on disk since they were encoded: encoding them again`,
      opts.quiet,
    );
  }
  const workers = Math.max(
    1,
    Math.min(opts.workers ?? navigator.hardwareConcurrency, Math.max(todo.length, 1)),
  );
  log(
    `extract ${entry.id} on ${dataset}: ${rows.length} utterances, ${cached} stored, ${todo.length} to encode ` +
      `(${workers} worker${workers > 1 ? "s" : ""}) → ${storeDir}`,
    opts.quiet,
  );

  const failures: Failure[] = [];
  let audioSeconds = 0, computed = 0;
  const tEncode = performance.now();
  if (todo.length > 0) {
    const writer = new ShardWriter(storeDir, entry.id, entry.dCodec, before.nextShard);
    const pool = await EncoderPool.start(entry.id, workers, load);
    const progress = new Progress({
      label: `extract ${entry.id}`,
      total: todo.length,
      unit: "utt",
      quiet: opts.quiet,
    });
    const flushEvery = opts.flushEvery ?? 256, flushMs = (opts.flushSeconds ?? 10) * 1000;
    let lastFlush = performance.now();
    try {
      await pool.run(todo, async (out) => {
        const r = rows[out.index];
        if (out.ok) {
          writer.add(
            {
              utterance_id: r.utterance_id,
              path: r.path,
              frames: out.frames,
              seconds: out.seconds,
              sha256: hashes[out.index],
            },
            out.u,
            out.uStd,
          );
          audioSeconds += out.seconds;
          computed++;
        } else {
          failures.push({ utterance_id: r.utterance_id, path: r.path, reason: out.reason });
          log(`warning: ${r.utterance_id} (${r.path}) excluded: ${out.reason}`, opts.quiet);
        }
        if (writer.pending >= flushEvery || performance.now() - lastFlush >= flushMs) {
          await writer.flush();
          lastFlush = performance.now();
        }
        progress.tick(1, failures.length > 0 ? `${failures.length} failed` : "");
      });
      await writer.flush();
    } finally {
      await pool.close();
    }
  }
  const encodeSeconds = (performance.now() - tEncode) / 1000;

  const after = await readShards(storeDir, entry.id, entry.dCodec);
  for (const k of stale) after.rows.delete(k); // superseded: compaction drops them
  const view = await writeMergedView(
    storeDir,
    { dataset, codec: info, manifest: resolve(opts.manifestPath), maxSeconds },
    after,
    keys,
    failures,
  );
  const seconds = (performance.now() - t0) / 1000;
  const summary: ExtractSummary = {
    codecId: entry.id,
    dataset,
    storeDir,
    total: rows.length,
    done: view.ids.length,
    cached,
    computed,
    reencoded: stale.size,
    duplicateContent: repeated,
    failed: failures.length,
    seconds,
    audioSeconds,
    utterancesPerSecond: computed > 0 ? computed / encodeSeconds : 0,
    realTimeFactor: computed > 0 ? audioSeconds / encodeSeconds : 0,
    workers: todo.length > 0 ? workers : 0,
  };
  if (failures.length > 0) {
    log(`${failures.length} utterance(s) excluded; reasons in ${join(storeDir, "failures.csv")}`, opts.quiet);
  }
  return { codecId: entry.id, dataset, ids: view.ids, u: view.u, uStd: view.uStd, failures, summary };
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
  where: string | { dataset: string; codecId: string; storeDir?: string },
): Promise<FeatureSet> {
  const dir = typeof where === "string"
    ? where
    : where.storeDir ?? featureStoreDir(where.dataset, where.codecId);
  const view = await readMergedView(dir);
  return {
    codecId: view.info.codec.id,
    dataset: view.info.dataset,
    ids: view.ids,
    u: view.u,
    ...(view.uStd ? { uStd: view.uStd } : {}),
    failures: view.failures,
  };
}

function codecInfo(c: CodecInfo): CodecInfo {
  const { id, family, sampleRate, dCodec, frameRate, bitrateKbps, minSamples, source } = c;
  return { id, family, sampleRate, dCodec, frameRate, bitrateKbps, minSamples, source };
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
    if (codec.minSamples !== undefined && audio.length < codec.minSamples) {
      throw new Error(
        `${path}: ${audio.length} samples at ${codec.sampleRate} Hz; ${codec.id} needs ${codec.minSamples}`,
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
