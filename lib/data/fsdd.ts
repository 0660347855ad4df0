/**
 * FSDD (Free Spoken Digit Dataset): real speech, 3000 recordings of the digits 0-9, 6 male speakers ×
 * 50 takes × 10 digits, 8 kHz mono WAV. CC BY-SA 4.0. Accents from the upstream metadata: 2 US speakers,
 * 4 non-native (Belgian French, 2 × German, Greek) and no British Isles speaker, so only US vs Non-US-UK
 * applies.
 *
 * Split (speaker-disjoint, fixed): with only two US speakers, three speaker-disjoint splits cannot all hold
 * both classes. The probe needs both classes where it trains (validation) and where it is tested (test), so
 * each of those gets one US and one German speaker; the SAE, which never sees labels, is fit on the two
 * remaining non-US speakers:
 *   train:      nicolas (BEL, Romance), george (GRC, Other)      — SAE fitting only
 *   validation: jackson (US), lucas (DEU, Germanic)              — val1 monitors the SAE, val2 trains probes
 *   test:       theo (US), yweweler (DEU, Germanic)
 * What it can show: whether a US-vs-German direction learned from one pair of speakers transfers to an
 * unseen pair (same L1 on the non-US side), and how that differs between u and SAE features.
 * What it cannot show: accent separated from speaker identity (one speaker per class per split), accents
 * beyond these L1s, or anything about British accents; the vocabulary is ten digits and the audio is 8 kHz.
 */
import { basename, join, resolve } from "node:path";
import { download } from "../common/assets.ts";
import { howToPoint, inCache, type Locations } from "../common/settings.ts";
import { exists, writeFileAtomic } from "../common/fs.ts";
import { sha256Hex } from "../common/hash.ts";
import { log } from "../common/progress.ts";
import type { ManifestRow, Split } from "./manifest.ts";
import { gunzip, readTar } from "../formats/tar.ts";
import { broadOf } from "./taxonomy.ts";
import { datasetInHomeOrCache, datasetInSource, notInSource } from "./locate.ts";

export const FSDD_ARCHIVE_URL =
  "https://github.com/Jakobovski/free-spoken-digit-dataset/archive/26eb9aa.tar.gz";
/**
 * Digest of the recordings at that commit: sha256 of the lines "<file name> <sha256 of file>\n" over
 * recordings/*.wav sorted by name. Checked after a download (tarball bytes are not stable, contents are).
 */
export const FSDD_RECORDINGS_SHA256 = "dbd573d7cafe79c4b49f65718115e1304e24e067fa39eff18a660dc6cb9c360f";

export interface FsddSpeaker {
  speaker: string;
  gender: string;
  country: string;
  l1: string;
  accentNarrow: string;
  split: Split;
}

/** Speakers from the upstream metadata.py, with their Vox-Profile narrow label and fixed split. */
export const FSDD_SPEAKERS: readonly FsddSpeaker[] = [
  {
    speaker: "nicolas",
    gender: "male",
    country: "BEL",
    l1: "french",
    accentNarrow: "Romance",
    split: "train",
  },
  { speaker: "george", gender: "male", country: "GRC", l1: "greek", accentNarrow: "Other", split: "train" },
  {
    speaker: "jackson",
    gender: "male",
    country: "USA",
    l1: "english",
    accentNarrow: "North America",
    split: "validation",
  },
  {
    speaker: "lucas",
    gender: "male",
    country: "DEU",
    l1: "german",
    accentNarrow: "Germanic",
    split: "validation",
  },
  {
    speaker: "theo",
    gender: "male",
    country: "USA",
    l1: "english",
    accentNarrow: "North America",
    split: "test",
  },
  {
    speaker: "yweweler",
    gender: "male",
    country: "DEU",
    l1: "german",
    accentNarrow: "Germanic",
    split: "test",
  },
];

const DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
const FILE_PATTERN = /^(\d)_([a-z]+)_(\d+)\.wav$/;

async function wavNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile && e.name.endsWith(".wav")) names.push(e.name);
  return names.sort();
}

async function hasRecordings(dir: string): Promise<boolean> {
  const rec = join(dir, "recordings");
  if (!(await exists(rec))) return false;
  return (await wavNames(rec)).length > 0;
}

/** The content digest described at FSDD_RECORDINGS_SHA256. */
export async function recordingsDigest(recordingsDir: string): Promise<string> {
  const lines: string[] = [];
  for (const n of await wavNames(recordingsDir)) {
    lines.push(`${n} ${await sha256Hex(await Deno.readFile(join(recordingsDir, n)))}`);
  }
  return sha256Hex(lines.join("\n") + "\n");
}

export interface FsddLocateOptions extends Locations {
  /** A folder holding `fsdd/` or the dataset itself (the one with `recordings/`). */
  source?: string;
  offline?: boolean;
  quiet?: boolean;
}

/**
 * The FSDD folder (holding recordings/), by the rule of lib/common/settings.ts: the explicit folder (DIR/fsdd or
 * DIR) → dataHome/fsdd → ../shared/data/fsdd → the cache → a download of the upstream archive into the cache,
 * verified against FSDD_RECORDINGS_SHA256.
 */
export async function locateFsdd(opts: FsddLocateOptions = {}): Promise<string> {
  if (opts.source) {
    const found = await datasetInSource(opts.source, "fsdd", hasRecordings);
    if (found) return found;
    throw notInSource(opts.source, "fsdd", "FSDD recordings/ folder");
  }
  const { found, candidates } = await datasetInHomeOrCache("fsdd", opts, hasRecordings);
  if (found) return found;
  const where = howToPoint("data", "fsdd/recordings/");
  if (opts.offline) {
    throw new Error(
      `FSDD not found in ${candidates.join(", ")} and downloads are disabled; ${where} ` +
        `(upstream archive: ${FSDD_ARCHIVE_URL})`,
    );
  }
  const what = `FSDD (not in ${candidates.join(", ") || "any folder given"})`;
  const archive = inCache(opts, what, "downloads", "fsdd-26eb9aa.tar.gz");
  const dest = inCache(opts, what, "fsdd");
  try {
    if (!(await exists(archive))) await download(FSDD_ARCHIVE_URL, archive, undefined, opts.quiet);
  } catch (e) {
    throw new Error(
      `FSDD not found in ${candidates.join(", ")}, and downloading ${FSDD_ARCHIVE_URL} failed ` +
        `(${(e as Error).message}). Offline? ${where}.`,
    );
  }
  await installFsddArchive(await Deno.readFile(archive), dest, opts.quiet, archive);
  return resolve(dest);
}

/**
 * Extracts recordings/*.wav from the upstream .tar.gz into `dest`/recordings and checks the content
 * digest; on a mismatch nothing is left behind.
 */
export async function installFsddArchive(
  targz: Uint8Array,
  dest: string,
  quiet = false,
  source = "the FSDD archive",
): Promise<void> {
  let files: ReturnType<typeof readTar>;
  try {
    files = readTar(await gunzip(targz, source)).filter((e) => /(^|\/)recordings\/[^/]+\.wav$/.test(e.path));
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith(source) ? msg : `${source}: ${msg}; delete it (it is downloaded again)`);
  }
  if (files.length === 0) {
    throw new Error(`${source} holds no recordings/*.wav; delete it (it is downloaded again)`);
  }
  const staging = `${dest}.partial-${Deno.pid}`;
  await Deno.mkdir(join(staging, "recordings"), { recursive: true });
  try {
    for (const f of files) await Deno.writeFile(join(staging, "recordings", basename(f.path)), f.data);
    const digest = await recordingsDigest(join(staging, "recordings"));
    if (digest !== FSDD_RECORDINGS_SHA256) {
      throw new Error(
        `${source}: content digest ${digest} does not match the expected ${FSDD_RECORDINGS_SHA256}; ` +
          `delete it (it is downloaded again)`,
      );
    }
    await writeFileAtomic(
      join(staging, "SOURCE.md"),
      `FSDD recordings from ${FSDD_ARCHIVE_URL} (CC BY-SA 4.0)\n`,
    );
    await Deno.mkdir(resolve(dest, ".."), { recursive: true });
    await Deno.rename(staging, dest);
    log(`FSDD: ${files.length} recordings installed in ${dest}`, quiet);
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

/** Manifest rows for every recording in `dir`/recordings; unknown file names or speakers are errors. */
export async function fsddRows(dir: string): Promise<ManifestRow[]> {
  const rec = join(dir, "recordings");
  const bySpeaker = new Map(FSDD_SPEAKERS.map((s) => [s.speaker, s]));
  const rows: ManifestRow[] = [];
  for (const name of await wavNames(rec)) {
    const m = FILE_PATTERN.exec(name);
    if (!m) throw new Error(`${join(rec, name)}: not an FSDD file name ({digit}_{speaker}_{take}.wav)`);
    const s = bySpeaker.get(m[2]);
    if (!s) {
      throw new Error(
        `${join(rec, name)}: unknown FSDD speaker ${
          JSON.stringify(m[2])
        } (no accent/split assigned; known: ` +
          `${[...bySpeaker.keys()].join(", ")})`,
      );
    }
    rows.push({
      utterance_id: name.slice(0, -4),
      path: join(rec, name),
      dataset: "fsdd",
      speaker_id: s.speaker,
      accent_narrow: s.accentNarrow,
      accent_broad: broadOf(s.accentNarrow),
      split: s.split,
      gender: s.gender,
      l1: s.l1,
      text: DIGITS[Number(m[1])],
    });
  }
  return rows;
}
