/**
 * The feature store of one (dataset, codec): u vectors (N × d float32, the mean of ê over time) and beside them
 * the std of ê over time (N × d, for statistics pooling), keyed by utterance.
 *
 * Layout of a store directory:
 *   shards/part-NNNNNN.npy + .std.npy + .json
 *                                    the data of record, appended while a run progresses. The .json (ids,
 *                                    paths, frames, seconds) is written after its .npy files and is the commit
 *                                    marker: a shard without it is ignored, so a killed run loses at most
 *                                    the results since its last flush, never corrupts anything. Shards
 *                                    written before the std was kept have no .std.npy (meta `std` absent).
 *   u.npy, u_std.npy, index.csv,     the merged view in manifest order (row i of u.npy and u_std.npy = row i of
 *   index.parquet, failures.csv,     the index, which keeps each file's sha256: rows are keyed by content),
 *                                    rewritten from the shards at the end of every run;
 *   store.json                       store.json (counts, codec, manifest) is written last and marks the view
 *                                    complete. u.npy is the mean, as it always was.
 * Every file is written atomically (temporary file + rename).
 */
import { basename, join } from "node:path";
import pl from "nodejs-polars";
import { exists, readJson, writeFileAtomic, writeJsonAtomic } from "../common/fs.ts";
import { assertFinite, type Matrix, readMatrix, writeMatrix } from "../common/matrix.ts";
import { parquetBytes } from "../formats/parquet.ts";
import type { CodecInfo } from "../codecs/types.ts";
import { lockDir } from "../common/lock.ts";

/** One stored utterance. */
export interface StoredRow {
  utterance_id: string;
  path: string;
  /** ê frames behind u. */
  frames: number;
  /** Seconds of audio encoded (after the 30 s crop). */
  seconds: number;
  /** sha256 of the audio file's bytes when it was encoded: a changed file is re-encoded, never reused. */
  sha256: string;
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
  /** The shard has a `.std.npy` (absent in stores written before the std was kept). */
  std?: boolean;
}

/** One stored utterance's pooled vectors; `uStd` is absent for rows from shards without a std file. */
export interface StoredVectors {
  row: StoredRow;
  u: Float32Array;
  uStd?: Float32Array;
}

const SHARDS = "shards";

/**
 * Rows kept across shards (first occurrence wins: duplicates from an interrupted compaction are equal), except
 * that a row with a std replaces one without.
 */
export interface ShardContents {
  rows: Map<string, StoredVectors>;
  shardFiles: string[];
  nextShard: number;
}

/** A stored row is valid for (utterance, path) only while the file's bytes have the same sha256. */
export function rowKey(utteranceId: string, path: string, sha256: string): string {
  return `${utteranceId}\u0000${path}\u0000${sha256}`;
}

/** The (utterance_id, path) pairs in a store's committed shards, joined by NUL, from their metadata alone. */
export async function storedUtterances(dir: string): Promise<Set<string>> {
  const keys = new Set<string>();
  const shardDir = join(dir, SHARDS);
  if (!(await exists(shardDir))) return keys;
  for await (const e of Deno.readDir(shardDir)) {
    if (!/^part-\d+\.json$/.test(e.name)) continue;
    for (const r of (await readJson<ShardMeta>(join(shardDir, e.name))).rows) {
      keys.add(`${r.utterance_id}\u0000${r.path}`);
    }
  }
  return keys;
}

/** Reads every committed shard of a store. */
export async function readShards(dir: string, codecId: string, dCodec: number): Promise<ShardContents> {
  const rows = new Map<string, StoredVectors>();
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
    // A damaged shard is reported here, at its file, rather than at some cell's training row later.
    assertFinite(m, `${npyPath} (feature store shard; delete it and ${basename(metaPath)} to re-encode)`);
    if (m.rows !== meta.rows.length || m.cols !== dCodec) {
      throw new Error(
        `${npyPath}: ${m.rows}×${m.cols} does not match ${metaPath} (${meta.rows.length} rows)`,
      );
    }
    const stdPath = npyPath.replace(/\.npy$/, ".std.npy");
    const sd = meta.std ? await readMatrix(stdPath) : undefined;
    if (sd && (sd.rows !== m.rows || sd.cols !== m.cols)) {
      throw new Error(`${stdPath}: ${sd.rows}×${sd.cols} does not match ${npyPath} (${m.rows}×${m.cols})`);
    }
    meta.rows.forEach((row, i) => {
      // Rows stored before content keys existed have no sha256: they never match, so they are re-encoded.
      const key = rowKey(row.utterance_id, row.path, row.sha256 ?? "");
      const have = rows.get(key);
      if (have && (have.uStd || !sd)) return;
      const slice = (a: Float32Array) => a.slice(i * m.cols, (i + 1) * m.cols);
      rows.set(key, { row, u: slice(m.data), ...(sd ? { uStd: slice(sd.data) } : {}) });
    });
    shardFiles.push(metaPath, npyPath, ...(sd ? [stdPath] : []));
  }
  // Uncommitted leftovers (an .npy whose .json never landed) are harmless; note the highest number anyway.
  for await (const e of Deno.readDir(shardDir)) {
    const m = /^part-(\d+)(\.std)?\.npy$/.exec(e.name);
    if (m) nextShard = Math.max(nextShard, Number(m[1]) + 1);
  }
  return { rows, shardFiles, nextShard };
}

/** Appends results to the store in shards; `flush` commits what is buffered. */
export class ShardWriter {
  private buffer: StoredVectors[] = [];
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

  add(row: StoredRow, u: Float32Array, uStd: Float32Array): void {
    for (const [name, v] of [["u", u], ["std", uStd]] as const) {
      if (v.length !== this.dCodec) {
        throw new Error(`${row.utterance_id}: ${name} has ${v.length} values, expected ${this.dCodec}`);
      }
    }
    this.buffer.push({ row, u, uStd });
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
  items: StoredVectors[],
): Promise<string[]> {
  const base = join(dir, SHARDS, `part-${String(n).padStart(6, "0")}`);
  const std = items.every((it) => it.uStd !== undefined);
  const data = new Float32Array(items.length * dCodec);
  items.forEach((it, i) => data.set(it.u, i * dCodec));
  await writeMatrix(`${base}.npy`, { rows: items.length, cols: dCodec, data });
  if (std) {
    const sd = new Float32Array(items.length * dCodec);
    items.forEach((it, i) => sd.set(it.uStd!, i * dCodec));
    await writeMatrix(`${base}.std.npy`, { rows: items.length, cols: dCodec, data: sd });
  }
  const meta: ShardMeta = { codecId, dCodec, rows: items.map((it) => it.row), ...(std ? { std } : {}) };
  await writeJsonAtomic(`${base}.json`, meta);
  return [`${base}.json`, `${base}.npy`, ...(std ? [`${base}.std.npy`] : [])];
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
): Promise<{ ids: string[]; u: Matrix; uStd: Matrix; rows: StoredRow[] }> {
  const d = info.codec.dCodec;
  const kept = order.map((k) => contents.rows.get(k)).filter((x) => x !== undefined);
  const missing = kept.find((it) => !it.uStd);
  if (missing) {
    throw new Error(`${dir}: ${missing.row.utterance_id} has no std over time stored (re-encode it first)`);
  }
  const u: Matrix = { rows: kept.length, cols: d, data: new Float32Array(kept.length * d) };
  const uStd: Matrix = { rows: kept.length, cols: d, data: new Float32Array(kept.length * d) };
  kept.forEach((it, i) => {
    u.data.set(it.u, i * d);
    uStd.data.set(it.uStd!, i * d);
  });
  const rows = kept.map((it) => it.row);
  await writeMatrix(join(dir, "u.npy"), u);
  await writeMatrix(join(dir, "u_std.npy"), uStd);
  const index = pl.DataFrame({
    row: rows.map((_, i) => i),
    utterance_id: rows.map((r) => r.utterance_id),
    path: rows.map((r) => r.path),
    frames: rows.map((r) => r.frames),
    seconds: rows.map((r) => r.seconds),
    sha256: rows.map((r) => r.sha256),
  }, {
    schema: {
      row: pl.Int32,
      utterance_id: pl.Utf8,
      path: pl.Utf8,
      frames: pl.Int32,
      seconds: pl.Float64,
      sha256: pl.Utf8,
    },
  });
  await writeFileAtomic(join(dir, "index.csv"), index.writeCSV().toString());
  await writeFileAtomic(join(dir, "index.parquet"), parquetBytes(index));
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
  return { ids: rows.map((r) => r.utterance_id), u, uStd, rows };
}

/**
 * Replaces many shards by one (two when some rows predate the std: those keep a shard of their own), written
 * before the old ones are removed, so a kill loses nothing.
 */
async function compactShards(
  dir: string,
  codecId: string,
  d: number,
  contents: ShardContents,
): Promise<void> {
  if (contents.shardFiles.length <= 3) return;
  const all = [...contents.rows.values()];
  for (const part of [all.filter((it) => it.uStd), all.filter((it) => !it.uStd)]) {
    if (part.length > 0) await writeShard(dir, contents.nextShard++, codecId, d, part);
  }
  for (const f of contents.shardFiles) await Deno.remove(f).catch(() => {});
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
): Promise<
  { info: StoreInfo; ids: string[]; rows: StoredRow[]; u: Matrix; uStd?: Matrix; failures: Failure[] }
> {
  const infoPath = join(dir, "store.json");
  if (!(await exists(infoPath))) {
    throw new Error(
      `${dir}: not a complete feature store (no store.json); run \`extract --manifest\` to (re)build it`,
    );
  }
  const info = await readJson<StoreInfo>(infoPath);
  const u = await readMatrix(join(dir, "u.npy"));
  assertFinite(u, `${join(dir, "u.npy")} (feature store; rerun \`extract --manifest\` to rebuild it)`);
  // Stores written before the std was kept have no u_std.npy; statistics pooling then asks for re-extraction.
  const stdPath = join(dir, "u_std.npy");
  const uStd = (await exists(stdPath)) ? await readMatrix(stdPath) : undefined;
  if (uStd && (uStd.rows !== u.rows || uStd.cols !== u.cols)) {
    throw new Error(
      `${dir}: u_std.npy is ${uStd.rows}×${uStd.cols}, u.npy ${u.rows}×${u.cols}; rerun extraction`,
    );
  }
  const index = pl.readCSV(await Deno.readTextFile(join(dir, "index.csv")), {
    dtypes: { utterance_id: pl.Utf8, path: pl.Utf8, sha256: pl.Utf8 },
  });
  const rows: StoredRow[] = index.toRecords().map((r) => ({
    utterance_id: String(r.utterance_id),
    path: String(r.path),
    frames: Number(r.frames),
    seconds: Number(r.seconds),
    sha256: String(r.sha256 ?? ""),
  }));
  if (u.rows !== rows.length || u.rows !== info.rows || u.cols !== info.codec.dCodec) {
    throw new Error(
      `${dir}: inconsistent store (u.npy ${u.rows}×${u.cols}, index ${rows.length} rows, store.json ${info.rows}×` +
        `${info.codec.dCodec}); rerun \`extract --manifest\` to rebuild it from its shards`,
    );
  }
  const failures = await readFailures(join(dir, "failures.csv"));
  return { info, ids: rows.map((r) => r.utterance_id), rows, u, ...(uStd ? { uStd } : {}), failures };
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
 * Takes the store's writer lock (`store.lock`, see lib/common/lock.ts): a second extraction of the same store
 * waits (saying so) until the first one finishes, then finds its work stored.
 */
export function lockStore(dir: string, quiet = false): Promise<() => Promise<void>> {
  return lockDir(dir, "store.lock", "another extraction", quiet);
}
