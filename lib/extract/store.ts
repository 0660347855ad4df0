/**
 * The feature store of one (dataset, codec): u vectors (N × d float32) keyed by utterance.
 *
 * Layout of a store directory:
 *   shards/part-NNNNNN.npy + .json   the data of record, appended while a run progresses. The .json (ids,
 *                                    paths, frames, seconds) is written after its .npy and is the commit
 *                                    marker: a shard without it is ignored, so a killed run loses at most
 *                                    the results since its last flush, never corrupts anything.
 *   u.npy, index.csv, index.parquet  the merged view in manifest order (row i of u.npy = row i of the index),
 *   failures.csv, store.json         rewritten from the shards at the end of every run; store.json (counts,
 *                                    codec, manifest) is written last and marks the view complete.
 * Every file is written atomically (temporary file + rename).
 */
import { join } from "node:path";
import pl from "nodejs-polars";
import { exists, readJson, writeFileAtomic, writeJsonAtomic } from "../common/fs.ts";
import { type Matrix, readMatrix, writeMatrix } from "../common/matrix.ts";
import type { CodecInfo } from "../codecs/types.ts";
import { log } from "../common/progress.ts";

/** One stored utterance. */
export interface StoredRow {
  utterance_id: string;
  path: string;
  /** ê frames behind u. */
  frames: number;
  /** Seconds of audio encoded (after the 30 s crop). */
  seconds: number;
}

export interface Failure {
  utterance_id: string;
  path: string;
  reason: string;
}

/** Contents of store.json. */
export interface StoreInfo {
  version: 1;
  dataset: string;
  codec: CodecInfo;
  manifest: string;
  rows: number;
  failed: number;
  maxSeconds: number;
  updated: string;
}

interface ShardMeta {
  rows: StoredRow[];
  dCodec: number;
  codecId: string;
}

const SHARDS = "shards";

/** Rows kept across shards (first occurrence wins: duplicates from an interrupted compaction are equal). */
export interface ShardContents {
  rows: Map<string, { row: StoredRow; u: Float32Array }>;
  shardFiles: string[];
  nextShard: number;
}

export function rowKey(utteranceId: string, path: string): string {
  return `${utteranceId}\u0000${path}`;
}

/** Reads every committed shard of a store. */
export async function readShards(dir: string, codecId: string, dCodec: number): Promise<ShardContents> {
  const rows = new Map<string, { row: StoredRow; u: Float32Array }>();
  const shardFiles: string[] = [];
  let nextShard = 1;
  const shardDir = join(dir, SHARDS);
  if (!(await exists(shardDir))) return { rows, shardFiles, nextShard };
  const names: string[] = [];
  for await (const e of Deno.readDir(shardDir)) if (/^part-\d+\.json$/.test(e.name)) names.push(e.name);
  names.sort();
  for (const name of names) {
    const n = Number(name.slice(5, -5));
    nextShard = Math.max(nextShard, n + 1);
    const metaPath = join(shardDir, name);
    const npyPath = metaPath.replace(/\.json$/, ".npy");
    const meta = await readJson<ShardMeta>(metaPath);
    if (meta.codecId !== codecId || meta.dCodec !== dCodec) {
      throw new Error(
        `${metaPath}: shard holds codec ${meta.codecId} (d=${meta.dCodec}), not ${codecId} (d=${dCodec}); ` +
          `use another --store directory`,
      );
    }
    const m = await readMatrix(npyPath);
    if (m.rows !== meta.rows.length || m.cols !== dCodec) {
      throw new Error(
        `${npyPath}: ${m.rows}×${m.cols} does not match ${metaPath} (${meta.rows.length} rows)`,
      );
    }
    meta.rows.forEach((row, i) => {
      const key = rowKey(row.utterance_id, row.path);
      if (!rows.has(key)) rows.set(key, { row, u: m.data.slice(i * m.cols, (i + 1) * m.cols) });
    });
    shardFiles.push(metaPath, npyPath);
  }
  // Uncommitted leftovers (an .npy whose .json never landed) are harmless; note the highest number anyway.
  for await (const e of Deno.readDir(shardDir)) {
    const m = /^part-(\d+)\.npy$/.exec(e.name);
    if (m) nextShard = Math.max(nextShard, Number(m[1]) + 1);
  }
  return { rows, shardFiles, nextShard };
}

/** Appends results to the store in shards; `flush` commits what is buffered. */
export class ShardWriter {
  private buffer: { row: StoredRow; u: Float32Array }[] = [];
  private next: number;

  constructor(
    private readonly dir: string,
    private readonly codecId: string,
    private readonly dCodec: number,
    nextShard: number,
  ) {
    this.next = nextShard;
  }

  get pending(): number {
    return this.buffer.length;
  }

  add(row: StoredRow, u: Float32Array): void {
    if (u.length !== this.dCodec) {
      throw new Error(`${row.utterance_id}: u has ${u.length} values, expected ${this.dCodec}`);
    }
    this.buffer.push({ row, u });
  }

  async flush(): Promise<string[]> {
    if (this.buffer.length === 0) return [];
    const items = this.buffer;
    this.buffer = [];
    return await writeShard(this.dir, this.next++, this.codecId, this.dCodec, items);
  }
}

async function writeShard(
  dir: string,
  n: number,
  codecId: string,
  dCodec: number,
  items: { row: StoredRow; u: Float32Array }[],
): Promise<string[]> {
  const base = join(dir, SHARDS, `part-${String(n).padStart(6, "0")}`);
  const data = new Float32Array(items.length * dCodec);
  items.forEach((it, i) => data.set(it.u, i * dCodec));
  await writeMatrix(`${base}.npy`, { rows: items.length, cols: dCodec, data });
  const meta: ShardMeta = { codecId, dCodec, rows: items.map((it) => it.row) };
  await writeJsonAtomic(`${base}.json`, meta);
  return [`${base}.json`, `${base}.npy`];
}

/**
 * Writes the merged view (manifest order) and compacts the shards into one. `order` lists the manifest's
 * (utterance_id, path) keys; stored rows not in it are dropped from the view but kept in the shards.
 */
export async function writeMergedView(
  dir: string,
  info: Omit<StoreInfo, "rows" | "failed" | "updated" | "version">,
  contents: ShardContents,
  order: string[],
  failures: Failure[],
): Promise<{ ids: string[]; u: Matrix; rows: StoredRow[] }> {
  const d = info.codec.dCodec;
  const kept = order.map((k) => contents.rows.get(k)).filter((x) => x !== undefined);
  const u: Matrix = { rows: kept.length, cols: d, data: new Float32Array(kept.length * d) };
  kept.forEach((it, i) => u.data.set(it.u, i * d));
  const rows = kept.map((it) => it.row);
  await writeMatrix(join(dir, "u.npy"), u);
  const index = pl.DataFrame({
    row: rows.map((_, i) => i),
    utterance_id: rows.map((r) => r.utterance_id),
    path: rows.map((r) => r.path),
    frames: rows.map((r) => r.frames),
    seconds: rows.map((r) => r.seconds),
  }, {
    schema: { row: pl.Int32, utterance_id: pl.Utf8, path: pl.Utf8, frames: pl.Int32, seconds: pl.Float64 },
  });
  await writeFileAtomic(join(dir, "index.csv"), index.writeCSV().toString());
  await writeFileAtomic(join(dir, "index.parquet"), new Uint8Array(index.writeParquet()));
  await writeFileAtomic(join(dir, "failures.csv"), failuresCsv(failures));
  const storeInfo: StoreInfo = {
    version: 1,
    ...info,
    rows: rows.length,
    failed: failures.length,
    updated: new Date().toISOString(),
  };
  await writeJsonAtomic(join(dir, "store.json"), storeInfo);
  await compactShards(dir, info.codec.id, d, contents);
  return { ids: rows.map((r) => r.utterance_id), u, rows };
}

/** Replaces many shards by one (written before the old ones are removed, so a kill loses nothing). */
async function compactShards(
  dir: string,
  codecId: string,
  d: number,
  contents: ShardContents,
): Promise<void> {
  if (contents.shardFiles.length <= 2) return;
  await writeShard(dir, contents.nextShard, codecId, d, [...contents.rows.values()]);
  for (const f of contents.shardFiles) await Deno.remove(f).catch(() => {});
  contents.nextShard++;
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function failuresCsv(failures: Failure[]): string {
  const lines = ["utterance_id,path,reason"];
  for (const f of failures) lines.push([f.utterance_id, f.path, f.reason].map(csvField).join(","));
  return lines.join("\n") + "\n";
}

/** Reads the merged view of a complete store. */
export async function readMergedView(
  dir: string,
): Promise<{ info: StoreInfo; ids: string[]; rows: StoredRow[]; u: Matrix; failures: Failure[] }> {
  const infoPath = join(dir, "store.json");
  if (!(await exists(infoPath))) {
    throw new Error(
      `${dir}: not a complete feature store (no store.json); run \`extract --manifest\` to (re)build it`,
    );
  }
  const info = await readJson<StoreInfo>(infoPath);
  const u = await readMatrix(join(dir, "u.npy"));
  const index = pl.readCSV(await Deno.readTextFile(join(dir, "index.csv")), {
    dtypes: { utterance_id: pl.Utf8, path: pl.Utf8 },
  });
  const rows: StoredRow[] = index.toRecords().map((r) => ({
    utterance_id: String(r.utterance_id),
    path: String(r.path),
    frames: Number(r.frames),
    seconds: Number(r.seconds),
  }));
  if (u.rows !== rows.length || u.rows !== info.rows || u.cols !== info.codec.dCodec) {
    throw new Error(
      `${dir}: inconsistent store (u.npy ${u.rows}×${u.cols}, index ${rows.length} rows, store.json ${info.rows}×` +
        `${info.codec.dCodec}); rerun \`extract --manifest\` to rebuild it from its shards`,
    );
  }
  const failures = await readFailures(join(dir, "failures.csv"));
  return { info, ids: rows.map((r) => r.utterance_id), rows, u, failures };
}

async function readFailures(path: string): Promise<Failure[]> {
  if (!(await exists(path))) return [];
  const text = await Deno.readTextFile(path);
  if (text.trim().split("\n").length <= 1) return [];
  const df = pl.readCSV(text, { dtypes: { utterance_id: pl.Utf8, path: pl.Utf8, reason: pl.Utf8 } });
  return df.toRecords().map((r) => ({
    utterance_id: String(r.utterance_id),
    path: String(r.path),
    reason: String(r.reason),
  }));
}

/**
 * Takes the store's writer lock: an OS file lock (flock) on `store.lock`, which the OS releases when its holder
 * exits, even when killed, so a crashed run never leaves a stale lock. A second extraction of the same store
 * waits (saying so) until the first one finishes, then finds its work stored. The file holds the holder's pid,
 * for the message only.
 */
export async function lockStore(dir: string, quiet = false): Promise<() => Promise<void>> {
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, "store.lock");
  const file = await Deno.open(path, { read: true, write: true, create: true });
  const notice = setTimeout(() => {
    let owner = "another process";
    try {
      owner = `pid ${JSON.parse(Deno.readTextFileSync(path)).pid}`;
    } catch { /* written by nobody yet */ }
    log(`${dir}: another extraction (${owner}) is writing this store; waiting for it to finish`, quiet);
  }, 500);
  try {
    await file.lock(true);
  } finally {
    clearTimeout(notice);
  }
  await file.truncate(0);
  await file.write(
    new TextEncoder().encode(JSON.stringify({ pid: Deno.pid, since: new Date().toISOString() }) + "\n"),
  );
  return async () => {
    await file.unlock();
    file.close();
  };
}
