/**
 * The manifest: one row per utterance, columns
 *   utterance_id, path, dataset, speaker_id, accent_narrow, accent_broad, split   (+ any optional columns).
 * On disk as CSV or Parquet; `path` is absolute or relative to the manifest's folder. Validation happens
 * here, at the boundary, and names every offending row.
 */
import pl from "nodejs-polars";
import { dirname, extname, isAbsolute, relative, resolve } from "node:path";
import { exists } from "../common/fs.ts";
import { readCsvTable } from "./csv_table.ts";
import { findDuplicateAudio } from "./duplicates.ts";
import { isNarrowLabel, NARROW_LABELS, NARROW_TO_BROAD } from "./taxonomy.ts";

export const MANIFEST_COLUMNS = [
  "utterance_id",
  "path",
  "dataset",
  "speaker_id",
  "accent_narrow",
  "accent_broad",
  "split",
] as const;

export const SPLITS = ["train", "validation", "test"] as const;
export type Split = typeof SPLITS[number];

export type ManifestRow = Record<typeof MANIFEST_COLUMNS[number], string> & Record<string, string | number>;

/** Every problem found in a manifest, each naming its row; the message lists the first few. */
export class ManifestError extends Error {
  readonly source: string;
  readonly problems: string[];

  constructor(source: string, problems: string[]) {
    const shown = problems.slice(0, 20);
    const more = problems.length > shown.length ? `\n  … and ${problems.length - shown.length} more` : "";
    super(
      `${source}: invalid manifest (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  ` +
        shown.join("\n  ") + more,
    );
    this.name = "ManifestError";
    this.source = source;
    this.problems = problems;
  }
}

export interface ValidateOptions {
  /** Folder that relative paths are resolved against (the manifest's folder). */
  baseDir: string;
  /** Name used in error messages (the manifest file). */
  source: string;
  /** Check that every audio file exists (default true). */
  checkFiles?: boolean;
  /**
   * With checkFiles: the same audio content (bytes) in two splits is an error (leakage) unless "allow".
   * Default "error".
   */
  duplicateAudio?: "error" | "allow";
}

/** Row label for messages: 1-based data row (the CSV header is line 1, so row N is on line N + 1). */
function rowName(i: number, id: unknown): string {
  return `row ${i + 1}${typeof id === "string" && id ? ` (utterance_id ${JSON.stringify(id)})` : ""}`;
}

/**
 * Checks columns, values, uniqueness, speaker-disjoint splits and (optionally) file existence.
 * Returns rows with `path` made absolute; throws ManifestError listing every problem.
 */
export async function validateRows(
  records: Record<string, unknown>[],
  columns: string[],
  opts: ValidateOptions,
): Promise<ManifestRow[]> {
  const problems: string[] = [];
  if (records.length === 0) throw new ManifestError(opts.source, ["no rows (only the header)"]);
  const missing = MANIFEST_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length > 0) {
    throw new ManifestError(opts.source, [
      `missing column${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (has: ${columns.join(", ")})`,
    ]);
  }
  const rows: ManifestRow[] = [];
  const rowIndex: number[] = [];
  const firstRowOfId = new Map<string, number>();
  const splitsOfSpeaker = new Map<string, Map<string, number>>();
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const where = rowName(i, r.utterance_id);
    let ok = true;
    for (const c of MANIFEST_COLUMNS) {
      const v = r[c];
      if (typeof v !== "string" || v.trim() === "") {
        problems.push(`${where}: empty ${c}`);
        ok = false;
      }
    }
    if (!ok) continue;
    for (const c of ["utterance_id", "speaker_id", "split", "accent_narrow", "accent_broad", "dataset"]) {
      const v = r[c];
      // "s1 " and "s1" would be two speakers (and a speaker in train and test would go unnoticed).
      if (typeof v === "string" && v !== v.trim()) {
        problems.push(`${where}: ${c} ${JSON.stringify(v)} has leading or trailing spaces; remove them`);
      }
    }
    const row = { ...r } as ManifestRow;
    if (!SPLITS.includes(row.split as Split)) {
      problems.push(`${where}: unknown split ${JSON.stringify(row.split)} (expected ${SPLITS.join(" | ")})`);
    }
    if (!isNarrowLabel(row.accent_narrow)) {
      const hint = NARROW_LABELS.find((l) => l.toLowerCase() === row.accent_narrow.toLowerCase());
      problems.push(
        `${where}: unknown accent_narrow ${JSON.stringify(row.accent_narrow)}` +
          (hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ` (known: ${NARROW_LABELS.join(", ")})`),
      );
    } else if (NARROW_TO_BROAD[row.accent_narrow] !== row.accent_broad) {
      problems.push(
        `${where}: accent_broad ${JSON.stringify(row.accent_broad)} does not match accent_narrow ` +
          `${JSON.stringify(row.accent_narrow)} (which is ${
            JSON.stringify(NARROW_TO_BROAD[row.accent_narrow])
          })`,
      );
    }
    const first = firstRowOfId.get(row.utterance_id);
    if (first !== undefined) {
      problems.push(`${where}: duplicate utterance_id (first used on row ${first + 1})`);
    } else firstRowOfId.set(row.utterance_id, i);
    const seen = splitsOfSpeaker.get(row.speaker_id) ?? new Map<string, number>();
    if (!seen.has(row.split)) seen.set(row.split, i);
    splitsOfSpeaker.set(row.speaker_id, seen);
    row.path = isAbsolute(row.path) ? row.path : resolve(opts.baseDir, row.path);
    rows.push(row);
    rowIndex.push(i);
  }
  for (const [speaker, splits] of splitsOfSpeaker) {
    if (splits.size > 1) {
      const where = [...splits].map(([s, i]) => `${s} (e.g. row ${i + 1})`).join(", ");
      problems.push(`speaker ${JSON.stringify(speaker)} appears in more than one split: ${where}`);
    }
  }
  if (opts.checkFiles ?? true) {
    const states: FileState[] = [];
    for (let i = 0; i < rows.length; i += 512) {
      states.push(...await Promise.all(rows.slice(i, i + 512).map((r) => fileState(r.path))));
    }
    rows.forEach((r, i) => {
      const where = rowName(rowIndex[i], r.utterance_id);
      const state = states[i];
      if (state === "missing") problems.push(`${where}: file not found: ${r.path}`);
      else if (state === "not a file") {
        problems.push(`${where}: not a regular file (a folder, FIFO or device): ${r.path}`);
      } else if (state !== "file") problems.push(`${where}: ${state}: ${r.path}`);
    });
    if (problems.length === 0 && (opts.duplicateAudio ?? "error") === "error") {
      const { crossSplit } = await findDuplicateAudio(rows);
      for (const g of crossSplit) {
        const shown = g.rows.slice(0, 4).map((i) =>
          `${rowName(rowIndex[i], rows[i].utterance_id)} [${rows[i].split}]`
        );
        const where = g.rows.length > 4 ? [...shown, `… ${g.rows.length - 4} more rows`] : shown;
        problems.push(
          `same audio content (sha256 ${g.sha256.slice(0, 12)}…) in ${g.splits.join(" and ")}: ` +
            `${where.join(", ")}; the same recording in two splits leaks into the test ` +
            `(remove the copies, or allow it explicitly: --allow-duplicate-audio / "allowDuplicateAudio": true)`,
        );
      }
    }
  }
  if (problems.length > 0) throw new ManifestError(opts.source, problems);
  return rows;
}

/** Reads a CSV (strictly, see csv_table.ts) or Parquet table as string columns (empty cells → null). */
async function readTable(path: string): Promise<{ columns: string[]; records: Record<string, unknown>[] }> {
  const ext = extname(path).toLowerCase();
  if (ext === ".parquet") {
    let df: pl.DataFrame;
    try {
      df = pl.readParquet(path);
    } catch (e) {
      throw new Error(`${path}: cannot read Parquet (${(e as Error).message.split("\n")[0]})`);
    }
    df = df.select(...df.columns.map((c) => pl.col(c).cast(pl.Utf8)));
    return { columns: df.columns, records: df.toRecords() as Record<string, unknown>[] };
  }
  if (ext !== ".csv") {
    throw new Error(`${path}: a manifest must be .csv or .parquet, got ${JSON.stringify(ext)}`);
  }
  return await readCsvTable(path);
}

export interface ReadManifestOptions {
  /** Check that every audio file exists (default true). */
  checkFiles?: boolean;
  /** See ValidateOptions.duplicateAudio. */
  duplicateAudio?: "error" | "allow";
}

/** Reads and validates a manifest; returns it as a DataFrame with absolute `path`s. */
export async function readManifest(path: string, opts: ReadManifestOptions = {}): Promise<pl.DataFrame> {
  const full = resolve(path);
  if (!(await exists(full))) throw new Error(`${full}: manifest not found`);
  const table = await readTable(full);
  const rows = await validateRows(table.records, table.columns, {
    baseDir: dirname(full),
    source: full,
    checkFiles: opts.checkFiles,
    duplicateAudio: opts.duplicateAudio,
  });
  return manifestFrame(rows, table.columns);
}

/** Rows → DataFrame with the standard columns first, then the optional ones (all as strings). */
export function manifestFrame(rows: ManifestRow[], columns?: string[]): pl.DataFrame {
  const extra = (columns ?? Object.keys(rows[0] ?? {})).filter((c) =>
    !(MANIFEST_COLUMNS as readonly string[]).includes(c)
  );
  const cols = [...MANIFEST_COLUMNS, ...extra];
  const data: Record<string, string[]> = {};
  for (const c of cols) data[c] = rows.map((r) => (r[c] === undefined || r[c] === null ? "" : String(r[c])));
  return pl.DataFrame(data);
}

/** The rows of a (validated) manifest DataFrame. */
export function manifestRows(df: pl.DataFrame): ManifestRow[] {
  return df.toRecords() as ManifestRow[];
}

/**
 * Validates and writes rows as a CSV manifest (atomically). Paths under the manifest's folder are stored
 * relative to it, so the folder can be moved; others stay absolute.
 */
export async function writeManifest(
  path: string,
  rows: ManifestRow[],
  opts: { checkFiles?: boolean; source?: string; duplicateAudio?: "error" | "allow" } = {},
): Promise<pl.DataFrame> {
  const full = resolve(path);
  const base = dirname(full);
  const valid = await validateRows(rows, Object.keys(rows[0] ?? {}), {
    baseDir: base,
    source: opts.source ?? full,
    checkFiles: opts.checkFiles,
    duplicateAudio: opts.duplicateAudio,
  });
  const stored = valid.map((r) => {
    const rel = relative(base, r.path);
    return { ...r, path: rel.startsWith("..") || isAbsolute(rel) ? r.path : rel };
  });
  await Deno.mkdir(base, { recursive: true });
  const tmp = `${full}.tmp-${Deno.pid}`;
  manifestFrame(stored).writeCSV(tmp);
  await Deno.rename(tmp, full);
  return manifestFrame(valid);
}

type FileState = "file" | "missing" | "not a file" | string;

/** Whether an audio path is a readable regular file, in words for a manifest problem (no raw os errors). */
async function fileState(path: string): Promise<FileState> {
  try {
    return (await Deno.stat(path)).isFile ? "file" : "not a file";
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "missing";
    if (/symbolic links|ELOOP/i.test((e as Error).message)) {
      return "a symbolic link that loops (fix the link)";
    }
    if (e instanceof Deno.errors.PermissionDenied) return "permission denied (make the file readable)";
    return `cannot be read (${(e as Error).name})`;
  }
}
