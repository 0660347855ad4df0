/**
 * A user's own corpus (Vox-Profile style): a CSV with one row per utterance and the columns
 *   path, speaker_id, accent_narrow, split              (required)
 *   utterance_id, dataset, accent_broad, …              (optional; anything else is kept)
 * `path` is absolute or relative to the CSV's folder; accent_narrow is a Vox-Profile narrow label;
 * split is train | validation | test. The broad label is derived (or, if given, checked).
 */
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import { inCache, type Locations } from "../common/settings.ts";
import { exists, safeName } from "../common/fs.ts";
import { sha256Hex } from "../common/hash.ts";
import { readCsvTable } from "./csv_table.ts";
import { ManifestError, type ManifestRow, writeManifest } from "./manifest.ts";
import { isNarrowLabel, NARROW_TO_BROAD } from "./taxonomy.ts";

export const USER_REQUIRED_COLUMNS = ["path", "speaker_id", "accent_narrow", "split"];

/** Reads a user CSV into manifest rows (absolute paths); problems are reported by row. */
export async function userRows(csvPath: string): Promise<ManifestRow[]> {
  const full = resolve(csvPath);
  if (!(await exists(full))) throw new Error(`${full}: CSV not found`);
  const table = await readCsvTable(full);
  const missing = USER_REQUIRED_COLUMNS.filter((c) => !table.columns.includes(c));
  if (missing.length > 0) {
    throw new ManifestError(full, [
      `missing column${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ` +
      `(required: ${USER_REQUIRED_COLUMNS.join(", ")}; has: ${table.columns.join(", ")})`,
    ]);
  }
  if (table.records.length === 0) throw new ManifestError(full, ["no rows (only the header)"]);
  const base = dirname(full);
  const dataset = basename(full, extname(full));
  if (!table.columns.includes("utterance_id")) refuseCollidingDerivedIds(table.records, base, full);
  return table.records.map((r) => {
    const path = r.path ? resolve(base, r.path) : "";
    const narrow = r.accent_narrow ?? "";
    const id = r.utterance_id ?? (r.path ? idFromPath(base, r.path) : "");
    const row: Record<string, string> = {};
    for (const [k, v] of Object.entries(r)) row[k] = v ?? "";
    return {
      ...row,
      utterance_id: id,
      path,
      dataset: r.dataset ?? dataset,
      speaker_id: r.speaker_id ?? "",
      accent_narrow: narrow,
      // Derived when absent; when given, manifest validation checks it against the narrow label.
      accent_broad: r.accent_broad ??
        (isNarrowLabel(narrow) ? NARROW_TO_BROAD[narrow] : "(unknown narrow label)"),
      split: r.split ?? "",
    } as ManifestRow;
  });
}

/** The id an utterance gets from its path when the CSV has no utterance_id column ("a/b.wav" → "a_b"). */
function idFromPath(base: string, path: string): string {
  return relative(base, resolve(base, path)).replace(/\.[^./]+$/, "").replaceAll("/", "_");
}

/**
 * Ids derived from paths can collide ("a/b_c.wav" and "a_b/c.wav", or "x.wav" and "x.flac"): said as such,
 * with the fix, instead of a bare "duplicate utterance_id".
 */
function refuseCollidingDerivedIds(
  records: Record<string, string | null>[],
  base: string,
  csv: string,
): void {
  const first = new Map<string, number>();
  const problems: string[] = [];
  records.forEach((r, i) => {
    if (!r.path) return;
    const id = idFromPath(base, r.path);
    const j = first.get(id);
    if (j === undefined) first.set(id, i);
    else if (records[j].path !== r.path) {
      problems.push(
        `row ${i + 1}: path ${JSON.stringify(r.path)} gives the utterance_id ${
          JSON.stringify(id)
        } that row ` +
          `${j + 1} (${JSON.stringify(records[j].path)}) also gets (ids are derived from paths without an ` +
          `utterance_id column); add an utterance_id column naming each row`,
      );
    }
  });
  if (problems.length > 0) throw new ManifestError(csv, problems);
}

/**
 * The cache folder of a user CSV's manifest: its name plus a key of its absolute path, so two CSVs with the
 * same file name (a/corpus.csv, b/corpus.csv) never share (and overwrite) one manifest.
 */
export async function defaultUserDir(csvPath: string, loc: Locations): Promise<string> {
  const key = (await sha256Hex(resolve(csvPath))).slice(0, 10);
  const stem = safeName(basename(csvPath, extname(csvPath)).replace(/[^A-Za-z0-9._-]/g, "_"), csvPath);
  return inCache(loc, `${csvPath}: its manifest`, "datasets", `user-${stem}-${key}`);
}

/** Validates a user CSV and writes it as a manifest (default: in the cache); returns the manifest path. */
export async function prepareUser(
  csvPath: string,
  out?: string,
  duplicateAudio: "error" | "allow" = "error",
  loc: Locations = {},
): Promise<string> {
  const rows = await userRows(csvPath);
  const manifestPath = join(resolve(out ?? await defaultUserDir(csvPath, loc)), "manifest.csv");
  await writeManifest(manifestPath, rows, { source: resolve(csvPath), duplicateAudio });
  return manifestPath;
}
