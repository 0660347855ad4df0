/**
 * The Speech Accent Archive (Weinberger, GMU; CC BY-NC-SA 2.0): one read paragraph per speaker, native
 * English speakers from many countries and L2 speakers of many languages, so both of the paper's tasks
 * apply. Two layouts are read, and the one found is reported:
 *   - the GitHub mirror (andrewwang247/accent-classifier): recordings/<language>/<language>_NNN.wav (or
 *     .flac, as in ../shared/data/saa) + bio_metadata.csv (english, arabic and mandarin speakers; the other
 *     folders give the native language only);
 *   - the full archive as Kaggle / GMU hand it out: recordings/<language>N.mp3 + speakers_all.csv.
 * Labels come from SAA_ACCENT_TABLE (saa_labels.ts); a speaker the table cannot label is left out of the
 * manifest and listed, with counts, in the report. Splits: one recording per speaker, stratified by narrow
 * label, seeded, 50 / 25 / 25 %. No audio is decoded here: each file's first bytes are checked against its
 * format (a quick read), decoding happens at extraction.
 */
import { join, resolve } from "node:path";
import { parseCsvRecords } from "../formats/csv.ts";
import { exists } from "../common/fs.ts";
import type { ManifestRow } from "./manifest.ts";
import { labelSpeaker } from "./saa_labels.ts";
import { DEFAULT_SPLIT_FRACTIONS, type SplitFractions, stratifiedSplit } from "./split.ts";
import { broadOf } from "./taxonomy.ts";

export const SAA_LICENCE = "CC BY-NC-SA 2.0 (non-commercial, share-alike, attribution)";
export const SAA_CITATION = "Weinberger, Steven. (2015). Speech Accent Archive. George Mason University.";

/**
 * What anyone shown results on SAA must be told (report, notebooks, README import or repeat this text).
 */
export const SAA_CAVEAT = "Speech Accent Archive audio is 8 kHz: nothing above 4 kHz, so a 16/24 kHz codec " +
  "sees an upsampled, band-limited signal. One read paragraph per speaker, so accent and speaker identity " +
  "are not separable within a recording. Classes are imbalanced (US ≫ UK). The accent label is the " +
  "speaker's self-reported birthplace (native English) or native language (L2), not an annotation of how " +
  "the person sounds.";

export type SaaLayout = "github-mirror" | "kaggle-gmu";

export const SAA_LAYOUT_DESCRIPTIONS: Record<SaaLayout, string> = {
  "github-mirror": "GitHub mirror: recordings/<language>/<language>_NNN.{wav,flac} + bio_metadata.csv",
  "kaggle-gmu": "Kaggle/GMU: recordings/<language>N.mp3 + speakers_all.csv",
};

/** One recording with the speaker facts its layout provides. */
export interface SaaRecording {
  /** The SAA speaker id (`english2`), also the utterance id: one recording per speaker. */
  speakerId: string;
  path: string;
  nativeLanguage: string;
  birthplace?: string;
  sex?: string;
  age?: string;
  /** Age at which the speaker started learning English (L2 speakers; absent where unknown). */
  ageOfEnglishOnset?: string;
}

export interface SaaSource {
  dir: string;
  layout: SaaLayout;
  recordings: SaaRecording[];
  /** Metadata rows that name no recording file (Kaggle's file_missing? rows), by reason. */
  skipped: Record<string, number>;
}

const MIRROR_FILE = /^([a-z]+)_(\d+)\.(wav|flac)$/;
const KAGGLE_FILE = /^(.+?)(\d+)\.mp3$/;

/** The layout of `dir`, or null when it holds neither. */
export async function detectSaaLayout(dir: string): Promise<SaaLayout | null> {
  if (await exists(join(dir, "speakers_all.csv"))) return "kaggle-gmu";
  if (await exists(join(dir, "bio_metadata.csv")) && await exists(join(dir, "recordings"))) {
    return "github-mirror";
  }
  return null;
}

async function listDir(dir: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function readMetadata(path: string, required: string[]): Promise<Record<string, string>[]> {
  let parsed;
  try {
    parsed = parseCsvRecords(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`${path}: cannot read CSV (${(e as Error).message})`);
  }
  const missing = required.filter((c) => !parsed.columns.includes(c));
  if (missing.length > 0) {
    throw new Error(`${path}: missing column(s) ${missing.join(", ")} (has: ${parsed.columns.join(", ")})`);
  }
  return parsed.records;
}

async function readMirror(dir: string): Promise<SaaSource> {
  const metaPath = join(dir, "bio_metadata.csv");
  const meta = new Map<string, Record<string, string>>();
  const records = await readMetadata(metaPath, ["language_num", "birth_place", "native_language", "sex"]);
  records.forEach((r, i) => {
    if (meta.has(r.language_num)) {
      throw new Error(`${metaPath}: row ${i + 1}: duplicate language_num ${JSON.stringify(r.language_num)}`);
    }
    meta.set(r.language_num, r);
  });
  const recDir = join(dir, "recordings");
  const recordings: SaaRecording[] = [];
  const bad: string[] = [];
  for (const folder of await listDir(recDir)) {
    if (!folder.isDirectory) continue;
    for (const f of await listDir(join(recDir, folder.name))) {
      if (!f.isFile) continue;
      const m = MIRROR_FILE.exec(f.name);
      if (!m || m[1] !== folder.name) {
        bad.push(join(recDir, folder.name, f.name));
        continue;
      }
      const speakerId = `${m[1]}${Number(m[2])}`;
      const r = meta.get(speakerId);
      recordings.push({
        speakerId,
        path: join(recDir, folder.name, f.name),
        nativeLanguage: r?.native_language || folder.name,
        birthplace: r?.birth_place,
        sex: r?.sex,
        age: r?.age,
        ageOfEnglishOnset: r?.age_of_english_onset,
      });
    }
  }
  if (bad.length > 0) {
    throw new Error(
      `${recDir}: ${bad.length} file(s) not named recordings/<language>/<language>_NNN.wav|flac: ` +
        bad.slice(0, 5).join(", ") + (bad.length > 5 ? ", …" : ""),
    );
  }
  return { dir, layout: "github-mirror", recordings, skipped: {} };
}

async function readKaggle(dir: string): Promise<SaaSource> {
  const metaPath = join(dir, "speakers_all.csv");
  const records = await readMetadata(metaPath, ["filename", "native_language", "birthplace"]);
  // The Kaggle archive unpacks to recordings/recordings/; GMU's own download to recordings/.
  let recDir = join(dir, "recordings");
  if (!(await exists(recDir))) throw new Error(`${dir}: speakers_all.csv found but no recordings/ folder`);
  if (await exists(join(recDir, "recordings"))) recDir = join(recDir, "recordings");
  const files = new Set<string>();
  for (const e of await listDir(recDir)) if (e.isFile && KAGGLE_FILE.test(e.name)) files.add(e.name);
  const recordings: SaaRecording[] = [];
  const skipped: Record<string, number> = {};
  const seen = new Map<string, number>();
  const problems: string[] = [];
  const missingTag = "listed with file_missing? = TRUE";
  for (const [i, r] of records.entries()) {
    const where = `${metaPath}: row ${i + 1}`;
    const id = r.filename.trim();
    const file = `${id}.mp3`;
    if (id === "") problems.push(`${where}: empty filename`);
    else if (seen.has(id)) problems.push(`${where}: filename ${id} already on row ${seen.get(id)! + 1}`);
    else if (!files.has(file)) {
      if ((r["file_missing?"] ?? "").trim().toLowerCase() === "true") {
        skipped[missingTag] = (skipped[missingTag] ?? 0) + 1;
      } else problems.push(`${where}: ${join(recDir, file)} not found (file_missing? is not TRUE)`);
    } else {
      seen.set(id, i);
      files.delete(file);
      recordings.push({
        speakerId: id,
        path: join(recDir, file),
        nativeLanguage: r.native_language,
        birthplace: r.birthplace || r.country,
        sex: r.sex,
        age: r.age,
        ageOfEnglishOnset: r.age_of_english_onset ?? r.age_onset,
      });
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `${metaPath}: ${problems.length} problem(s):\n  ` + problems.slice(0, 20).join("\n  ") +
        (problems.length > 20 ? `\n  … and ${problems.length - 20} more` : ""),
    );
  }
  if (files.size > 0) skipped["recording without a speakers_all.csv row"] = files.size;
  return { dir, layout: "kaggle-gmu", recordings, skipped };
}

const MAGIC: Record<string, (b: Uint8Array) => boolean> = {
  ".flac": (b) => String.fromCharCode(...b.subarray(0, 4)) === "fLaC",
  ".wav": (b) =>
    String.fromCharCode(...b.subarray(0, 4)) === "RIFF" &&
    String.fromCharCode(...b.subarray(8, 12)) === "WAVE",
  ".mp3": (b) =>
    String.fromCharCode(...b.subarray(0, 3)) === "ID3" || (b[0] === 0xff && (b[1] & 0xe0) === 0xe0),
};

/** Reads the first bytes of each file and checks them against its format; errors name every bad file. */
async function checkAudioHeaders(recordings: SaaRecording[]): Promise<void> {
  const bad: string[] = [];
  const head = new Uint8Array(12);
  for (const r of recordings) {
    const ext = r.path.slice(r.path.lastIndexOf(".")).toLowerCase();
    const f = await Deno.open(r.path, { read: true });
    try {
      head.fill(0);
      const n = await f.read(head);
      if (!n || n < 12 || !MAGIC[ext](head)) bad.push(`${r.path} (not a ${ext.slice(1).toUpperCase()} file)`);
    } finally {
      f.close();
    }
  }
  if (bad.length > 0) {
    throw new Error(`SAA: ${bad.length} unreadable recording(s): ${bad.slice(0, 10).join(", ")}`);
  }
}

/** Reads the dataset in `dir` (either layout), checking file names, metadata and audio headers. */
export async function readSaaSource(dir: string): Promise<SaaSource> {
  const full = resolve(dir);
  const layout = await detectSaaLayout(full);
  if (!layout) {
    throw new Error(
      `${full}: not a Speech Accent Archive folder: expected ${SAA_LAYOUT_DESCRIPTIONS["github-mirror"]}, ` +
        `or ${SAA_LAYOUT_DESCRIPTIONS["kaggle-gmu"]}`,
    );
  }
  const source = layout === "github-mirror" ? await readMirror(full) : await readKaggle(full);
  if (source.recordings.length === 0) {
    throw new Error(`${full}: no recordings found (${SAA_LAYOUT_DESCRIPTIONS[layout]})`);
  }
  await checkAudioHeaders(source.recordings);
  source.recordings.sort((a, b) => (a.speakerId < b.speakerId ? -1 : a.speakerId > b.speakerId ? 1 : 0));
  return source;
}

export interface SaaUnlabelled {
  basis: "birthplace" | "native language";
  /** The country or language the table does not know. */
  key: string;
  speakers: string[];
}

export interface SaaPrepared {
  rows: ManifestRow[];
  layout: SaaLayout;
  dir: string;
  /** Speakers left out because SAA_ACCENT_TABLE has no label for their country / language. */
  unlabelled: SaaUnlabelled[];
  /** Birthplaces whose country was inferred (e.g. a US state with no country), by how, with counts. */
  inferred: Record<string, number>;
  skipped: Record<string, number>;
}

/** How SAA speakers are split: fractions per split (stratified by narrow accent), or a fixed test list. */
export interface SaaSplitOptions {
  /** Shares of speakers in train / validation / test (default DEFAULT_SPLIT_FRACTIONS: 0.5 / 0.25 / 0.25). */
  fractions?: SplitFractions;
  /**
   * Speakers pinned to the test split; every other speaker is split between train and validation in the
   * proportion of `fractions` (stratified as usual). Unknown speaker ids are an error naming them.
   */
  testSpeakers?: readonly string[];
}

/** Labels and splits the recordings of a source into manifest rows (paths absolute). */
export function saaRows(source: SaaSource, seed: number, splitOptions: SaaSplitOptions = {}): SaaPrepared {
  const labelled: { rec: SaaRecording; narrow: string; country: string }[] = [];
  const unknown = new Map<string, SaaUnlabelled>();
  const inferred: Record<string, number> = {};
  for (const rec of source.recordings) {
    const label = labelSpeaker(rec.nativeLanguage, rec.birthplace);
    if (label.birthplace?.inferred) {
      inferred[label.birthplace.inferred] = (inferred[label.birthplace.inferred] ?? 0) + 1;
    }
    if (label.narrow === null) {
      const k = `${label.basis}:${label.key}`;
      const u = unknown.get(k) ?? { basis: label.basis, key: label.key, speakers: [] };
      u.speakers.push(rec.speakerId);
      unknown.set(k, u);
      continue;
    }
    labelled.push({ rec, narrow: label.narrow, country: label.birthplace?.country ?? "" });
  }
  const split = saaSplit(
    labelled.map((l) => ({ id: l.rec.speakerId, stratum: l.narrow })),
    seed,
    splitOptions,
  );
  const rows = labelled.map(({ rec, narrow, country }) =>
    ({
      utterance_id: rec.speakerId,
      path: rec.path,
      dataset: "saa",
      speaker_id: rec.speakerId,
      accent_narrow: narrow,
      accent_broad: broadOf(narrow),
      split: split.get(rec.speakerId)!,
      l1: rec.nativeLanguage.split("\n")[0].trim().toLowerCase(),
      birth_country: country,
      gender: (rec.sex ?? "").trim().toLowerCase(),
      // Years, as written in the metadata ("26", "13.0"); empty where unknown (the mirror has them for the
      // english, arabic and mandarin folders only).
      age: yearsOf(rec.age),
      age_of_english_onset: yearsOf(rec.ageOfEnglishOnset),
    }) as ManifestRow
  );
  const unlabelled = [...unknown.values()].sort((a, b) =>
    b.speakers.length - a.speakers.length || (a.key < b.key ? -1 : 1)
  );
  return { rows, layout: source.layout, dir: source.dir, unlabelled, inferred, skipped: source.skipped };
}

/** A metadata age as whole years ("26", "13.0" → "26", "13"), or "" when absent or not a number. */
export function yearsOf(value: string | undefined): string {
  const v = Number(String(value ?? "").replace(/,\s*$/, "").trim());
  return String(value ?? "").trim() !== "" && Number.isFinite(v) && v >= 0 && v < 130
    ? String(Math.round(v))
    : "";
}

/** The split of every labelled speaker under the options (see SaaSplitOptions). */
export function saaSplit(
  speakers: { id: string; stratum: string }[],
  seed: number,
  opts: SaaSplitOptions,
): Map<string, "train" | "validation" | "test"> {
  const fractions = opts.fractions ?? DEFAULT_SPLIT_FRACTIONS;
  if (!opts.testSpeakers) return stratifiedSplit(speakers, seed, fractions);
  const known = new Set(speakers.map((s) => s.id));
  const pinned = new Set(opts.testSpeakers.map((s) => s.trim()));
  const unknown = [...pinned].filter((s) => !known.has(s));
  if (unknown.length > 0) {
    throw new Error(
      `testSpeakers: ${unknown.length} speaker id(s) not among the labelled SAA speakers: ` +
        `${unknown.slice(0, 5).join(", ")}${unknown.length > 5 ? ", …" : ""}`,
    );
  }
  const dev = fractions.train + fractions.validation;
  if (!(dev > 0)) throw new Error(`split fractions: train + validation must be > 0 with testSpeakers`);
  const out = stratifiedSplit(speakers.filter((s) => !pinned.has(s.id)), seed, {
    train: fractions.train / dev,
    validation: fractions.validation / dev,
    test: 0,
  });
  for (const s of pinned) out.set(s, "test");
  return out;
}

/** The preparer's report: layout, counts, unlabelled speakers (each country/language with its count), caveat. */
export function formatSaaReport(p: SaaPrepared): string {
  const nUnlabelled = p.unlabelled.reduce((a, u) => a + u.speakers.length, 0);
  const lines = [
    `SAA source: ${p.dir}`,
    `layout: ${SAA_LAYOUT_DESCRIPTIONS[p.layout]}`,
    `recordings: ${
      p.rows.length + nUnlabelled
    } read, ${p.rows.length} labelled, ${nUnlabelled} without a label`,
  ];
  for (const [why, n] of Object.entries(p.skipped)) lines.push(`  skipped: ${n} ${why}`);
  for (const [how, n] of Object.entries(p.inferred).sort()) {
    lines.push(`  birthplace inferred: ${n} × ${how}`);
  }
  if (nUnlabelled > 0) {
    lines.push(
      `not in the label table (left out of the manifest; add them to SAA_ACCENT_TABLE to use them):`,
    );
    for (const u of p.unlabelled) {
      const ex = u.speakers.slice(0, 3).join(", ") + (u.speakers.length > 3 ? ", …" : "");
      lines.push(`  unknown ${u.basis} ${JSON.stringify(u.key)}: ${u.speakers.length} (${ex})`);
    }
  } else lines.push("every speaker's birthplace / native language is in the label table");
  lines.push(`licence: ${SAA_LICENCE}; cite: ${SAA_CITATION}`, `caveat: ${SAA_CAVEAT}`);
  return lines.join("\n");
}
