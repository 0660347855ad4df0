/**
 * Where the SAA comes from (the rule of lib/common/settings.ts): --data DIR or "datasets[].source" (DIR/saa or
 * DIR) → $NAC_SAE_DATA/saa → ../shared/data/saa → the cache → a download of
 * the GitHub mirror's archive at a pinned commit plus the speaker metadata, every file checked against the
 * per-file sha256 list kept in the project (saa_sha256.csv: checksums of the mirror's 1166 WAV files).
 */
import { dirname, join, resolve } from "node:path";
import { download } from "../common/assets.ts";
import { parseCsvRecords } from "../formats/csv.ts";
import { exists, writeFileAtomic } from "../common/fs.ts";
import { sha256Hex } from "../common/hash.ts";
import { log, Progress } from "../common/progress.ts";
import { detectSaaLayout, SAA_CITATION, SAA_LICENCE } from "./saa.ts";
import { readTarStream } from "../formats/tar.ts";
import { datasetInHomeOrCache, datasetInSource, notInSource } from "./locate.ts";
import { howToPoint, inCache, type Locations } from "../common/settings.ts";

export const SAA_MIRROR_COMMIT = "74edf3388ae2526c2dd69e7a6e5bcfb20023a210";
export const SAA_ARCHIVE_URL =
  `https://codeload.github.com/andrewwang247/accent-classifier/tar.gz/${SAA_MIRROR_COMMIT}`;
export const SAA_METADATA_URL =
  "https://raw.githubusercontent.com/PinZhang/dialectdetect/e93b33db039122cc16c41aede18e47b9450e89ce/src/bio_metadata.csv";
export const SAA_METADATA_SHA256 = "405c8903eaf5a81cd955185359a2ff1c8bbbbc4d674583e40ede2548884d3340";
/** The project's copy of the mirror's per-file checksums (path, bytes, sha256). */
export const SAA_CHECKSUMS_FILE = new URL("./saa_sha256.csv", import.meta.url);

export interface SaaChecksum {
  bytes: number;
  sha256: string;
}

/** path (recordings/<language>/<file>.wav) → size and sha256, from a checksum CSV's text. */
export function parseSaaChecksums(text: string): Map<string, SaaChecksum> {
  const { columns, records } = parseCsvRecords(text);
  for (const c of ["path", "bytes", "sha256"]) {
    if (!columns.includes(c)) throw new Error(`SAA checksum list: missing column ${c}`);
  }
  return new Map(records.map((r) => [r.path, { bytes: Number(r.bytes), sha256: r.sha256 }]));
}

export async function projectSaaChecksums(): Promise<Map<string, SaaChecksum>> {
  return parseSaaChecksums(await Deno.readTextFile(SAA_CHECKSUMS_FILE));
}

export interface SaaLocateOptions extends Locations {
  /** A folder holding `saa/` or the dataset itself. */
  source?: string;
  offline?: boolean;
  quiet?: boolean;
  /** Where to download from (tests point these at a local server or file URL). */
  archiveUrl?: string;
  metadataUrl?: string;
  /** The checksums the download must match (default: the project's list, every file required). */
  checksums?: Map<string, SaaChecksum>;
}

/** The SAA folder (either layout): explicit folder → dataHome/saa → ../shared/data/saa → cache → download. */
export async function locateSaa(opts: SaaLocateOptions = {}): Promise<string> {
  if (opts.source) {
    const found = await datasetInSource(opts.source, "saa", detectSaaLayout);
    if (found) return found;
    throw notInSource(
      opts.source,
      "saa",
      "Speech Accent Archive (recordings/ with bio_metadata.csv (GitHub mirror) or speakers_all.csv (Kaggle/GMU))",
    );
  }
  const { found, candidates } = await datasetInHomeOrCache("saa", opts, detectSaaLayout);
  if (found) return found;
  const archiveUrl = opts.archiveUrl ?? SAA_ARCHIVE_URL;
  const metadataUrl = opts.metadataUrl ?? SAA_METADATA_URL;
  const where = howToPoint("data", "saa/ (recordings/ + bio_metadata.csv or speakers_all.csv)");
  if (opts.offline) {
    throw new Error(
      `Speech Accent Archive not found in ${candidates.join(", ")} and downloads are disabled; ${where}. ` +
        `Downloads: ${archiveUrl} and ${metadataUrl}`,
    );
  }
  const dest = inCache(
    opts,
    `Speech Accent Archive (not in ${candidates.join(", ") || "any folder given"})`,
    "saa",
  );
  try {
    await downloadSaa(dest, { ...opts, archiveUrl, metadataUrl });
  } catch (e) {
    throw new Error(
      `Speech Accent Archive not found in ${candidates.join(", ")}, and the download failed ` +
        `(${(e as Error).message}). Offline? ${where}. Downloads: ${archiveUrl} and ${metadataUrl}`,
    );
  }
  return resolve(dest);
}

/**
 * Downloads the mirror's archive (streamed: only recordings/<language>/*.wav are kept, each checked against
 * its sha256 as it arrives) and the metadata file into `dest`, via a staging folder: on any mismatch or a
 * missing file nothing is left behind.
 */
export async function downloadSaa(
  dest: string,
  opts: { archiveUrl: string; metadataUrl: string; checksums?: Map<string, SaaChecksum>; quiet?: boolean },
): Promise<void> {
  const checksums = opts.checksums ?? await projectSaaChecksums();
  const staging = `${dest}.partial-${Deno.pid}`;
  await Deno.remove(staging, { recursive: true }).catch(() => {});
  try {
    await download(opts.metadataUrl, join(staging, "bio_metadata.csv"), SAA_METADATA_SHA256, opts.quiet);
    log(`downloading ${opts.archiveUrl}`, opts.quiet);
    const res = await fetch(opts.archiveUrl);
    if (!res.ok || !res.body) throw new Error(`${opts.archiveUrl}: HTTP ${res.status} ${res.statusText}`);
    const progress = new Progress({
      label: "SAA recordings",
      total: checksums.size,
      unit: "files",
      quiet: opts.quiet,
    });
    const found = new Set<string>();
    const recording = /(?:^|\/)(recordings\/[^/]+\/[^/]+\.wav)$/;
    const entries = readTarStream(
      res.body.pipeThrough(new DecompressionStream("gzip")),
      (p) => recording.test(p),
    );
    for await (const entry of entries) {
      const rel = recording.exec(entry.path)![1];
      const want = checksums.get(rel);
      if (!want) continue; // a file the checksum list does not cover is not used
      const got = await sha256Hex(entry.data);
      if (entry.data.length !== want.bytes || got !== want.sha256) {
        throw new Error(
          `${rel} in ${opts.archiveUrl}: ${entry.data.length} bytes, sha256 ${got}; expected ${want.bytes} bytes, ` +
            `sha256 ${want.sha256}`,
        );
      }
      await Deno.mkdir(dirname(join(staging, rel)), { recursive: true });
      await Deno.writeFile(join(staging, rel), entry.data);
      found.add(rel);
      progress.tick();
    }
    const missing = [...checksums.keys()].filter((p) => !found.has(p));
    if (missing.length > 0) {
      throw new Error(
        `${opts.archiveUrl}: ${missing.length} of ${checksums.size} listed recordings missing ` +
          `(${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", …" : ""})`,
      );
    }
    await writeFileAtomic(
      join(staging, "SOURCE.md"),
      `Speech Accent Archive recordings from ${opts.archiveUrl} and speaker metadata from ${opts.metadataUrl}.\n` +
        `Licence: ${SAA_LICENCE}. Cite: ${SAA_CITATION}\n`,
    );
    await Deno.mkdir(dirname(dest), { recursive: true });
    if (await exists(dest)) await Deno.remove(dest, { recursive: true });
    await Deno.rename(staging, dest);
    log(`SAA: ${found.size} recordings installed in ${dest}`, opts.quiet);
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}
