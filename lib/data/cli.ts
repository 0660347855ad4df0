/** `data list` and `data prepare`: what datasets exist and are prepared; prepare one and print its counts. */
import { join } from "node:path";
import { booleanFlag, type Command, DATA_FLAG, num, stringFlag, UsageError } from "../common/cli.ts";
import { checkOutputNotInput, exists } from "../common/fs.ts";
import { BUILTIN_DATASETS, datasetsRoot, prepareDataset } from "./prepare.ts";
import { LIMITS } from "../common/limits.ts";
import { locationsOf } from "../common/settings.ts";
import { findDuplicateAudio } from "./duplicates.ts";
import { manifestRows, readManifest } from "./manifest.ts";
import { formatSummary, summarizeManifest } from "./summary.ts";
import type { SplitFractions } from "./split.ts";
import { SYNTHETIC_DEFAULTS } from "./synthetic.ts";
import { FSDD_ARCHIVE_URL } from "./fsdd.ts";
import { SAA_ARCHIVE_URL } from "./saa_source.ts";

/** A count of speakers or utterances. */
const COUNT = { integer: true, min: 1, max: 100_000 };

const DESCRIPTIONS: Record<string, string> = {
  fsdd:
    "Free Spoken Digit Dataset: real speech, 3000 utterances, 2 US vs 4 non-US speakers (US vs Non-US-UK); " +
    `--data DIR, $NAC_SAE_DATA/fsdd, ../shared/data/fsdd, the cache, or ${FSDD_ARCHIVE_URL}`,
  saa:
    "Speech Accent Archive: real read speech, one recording per speaker, US / UK / other native English and " +
    "L2 speakers (both tasks; 8 kHz; CC BY-NC-SA 2.0); GitHub mirror or Kaggle/GMU layout; " +
    `--data DIR, $NAC_SAE_DATA/saa, ../shared/data/saa, the cache, or ${SAA_ARCHIVE_URL}`,
  synthetic:
    "eSpeak-NG accent corpus: North America / British Isles / Other voices × pitch × rate (both tasks); " +
    `default ${
      3 * SYNTHETIC_DEFAULTS.speakersPerAccent
    } speakers × ${SYNTHETIC_DEFAULTS.utterancesPerSpeaker} sentences`,
  user: "your own corpus: a CSV with path, speaker_id, accent_narrow, split (prepare user --csv FILE)",
};

const list: Command = {
  name: "data list",
  summary: "list known datasets and the manifests prepared in the cache",
  usage: "[--json]",
  flags: {},
  async run(_flags, _positionals, settings) {
    console.log("datasets:");
    for (const [name, d] of Object.entries(DESCRIPTIONS)) console.log(`  ${name.padEnd(10)} ${d}`);
    const root = datasetsRoot(settings);
    const prepared: Record<string, unknown>[] = [];
    if (await exists(root)) {
      const dirs: string[] = [];
      for await (const e of Deno.readDir(root)) if (e.isDirectory) dirs.push(e.name);
      for (const d of dirs.sort()) {
        const manifestPath = join(root, d, "manifest.csv");
        if (!(await exists(manifestPath))) continue;
        try {
          const s = summarizeManifest(await readManifest(manifestPath), manifestPath);
          prepared.push({
            name: d,
            manifest_path: manifestPath,
            n_utterances: s.n_utterances,
            n_speakers: s.n_speakers,
          });
        } catch (e) {
          prepared.push({ name: d, manifest_path: manifestPath, error: (e as Error).message.split("\n")[0] });
        }
      }
    }
    console.log(`\nprepared in ${root}:`);
    if (prepared.length === 0) {
      console.log("  (none yet: deno task cli data prepare fsdd|saa|synthetic|user --csv FILE)");
    }
    for (const p of prepared) {
      console.log(
        `  ${String(p.name).padEnd(36)} ` +
          (p.error
            ? `INVALID: ${p.error}`
            : `${p.n_utterances} utterances, ${p.n_speakers} speakers  ${p.manifest_path}`),
      );
    }
    return { datasets: Object.keys(DESCRIPTIONS), datasets_root: root, prepared };
  },
};

const prepare: Command = {
  name: "data prepare",
  summary:
    "prepare a dataset's manifest (fsdd, saa, synthetic, or a user CSV) and print counts per split and label",
  usage: "fsdd [--data DIR] | saa [--data DIR --seed N --split-fractions T,V,S --test-speakers LIST|FILE " +
    "--out DIR] | synthetic [--out DIR --seed N ...] | " +
    "user --csv FILE [--out DIR]",
  flags: {
    data: DATA_FLAG,
    source: stringFlag("the older name of --data (kept so existing scripts run)"),
    csv: stringFlag("user: the CSV (path, speaker_id, accent_narrow, split)"),
    out: {
      type: "string",
      description: "output folder for the manifest (and synthetic audio)",
      defaultText: "<cache>/datasets/<name>",
    },
    seed: {
      type: "string",
      description: "synthetic, saa: seed (saa: of the stratified split)",
      default: String(SYNTHETIC_DEFAULTS.seed),
    },
    "speakers-per-accent": {
      type: "string",
      description: "synthetic: speakers per broad accent (≥ 3)",
      default: String(SYNTHETIC_DEFAULTS.speakersPerAccent),
    },
    "utterances-per-speaker": {
      type: "string",
      description: "synthetic: sentences per speaker",
      default: String(SYNTHETIC_DEFAULTS.utterancesPerSpeaker),
    },
    workers: {
      type: "string",
      description: "synthetic: parallel espeak-ng processes",
      default: String(SYNTHETIC_DEFAULTS.workers),
    },
    "split-fractions": stringFlag(
      "saa: shares of speakers in train,validation,test (stratified by narrow accent)",
      { defaultText: "0.5,0.25,0.25" },
    ),
    "test-speakers": stringFlag(
      "saa: speakers pinned to the test split: a comma-separated list, or a file with one speaker id per " +
        "line (the rest split between train and validation)",
    ),
    force: booleanFlag("synthetic: regenerate even if already prepared"),
    "allow-duplicate-audio": {
      type: "boolean",
      description: "accept the same audio content in two splits (leakage; refused by default)",
    },
    offline: booleanFlag("fsdd, saa: never download"),
    quiet: booleanFlag("no progress output"),
  },
  async run(flags, positionals, settings) {
    const [which, ...rest] = positionals;
    if (!which) throw new UsageError("which dataset? fsdd, saa, synthetic or user");
    if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(" ")}`);
    let name = which;
    if (which === "user") {
      if (typeof flags.csv !== "string") throw new UsageError("prepare user needs --csv FILE");
      name = flags.csv;
    } else if (
      !(BUILTIN_DATASETS as readonly string[]).includes(which) && !which.toLowerCase().endsWith(".csv")
    ) {
      throw new UsageError(
        `unknown dataset ${JSON.stringify(which)}: fsdd, saa, synthetic or user --csv FILE`,
      );
    }
    if (which === "user" && typeof flags.out === "string") {
      await checkOutputNotInput(join(flags.out, "manifest.csv"), "--out", [["--csv", flags.csv as string]]);
    }
    const t0 = performance.now();
    const { manifestPath, manifest, report } = await prepareDataset(name, {
      ...locationsOf(settings),
      source: dataFolder(flags),
      out: flags.out as string | undefined,
      offline: flags.offline === true,
      quiet: flags.quiet === true,
      force: flags.force === true,
      allowDuplicateAudio: flags["allow-duplicate-audio"] === true,
      seed: num(flags, "seed", SYNTHETIC_DEFAULTS.seed, LIMITS.seed),
      speakersPerAccent: num(flags, "speakers-per-accent", SYNTHETIC_DEFAULTS.speakersPerAccent, COUNT),
      utterancesPerSpeaker: num(
        flags,
        "utterances-per-speaker",
        SYNTHETIC_DEFAULTS.utterancesPerSpeaker,
        COUNT,
      ),
      workers: num(flags, "workers", SYNTHETIC_DEFAULTS.workers, LIMITS.workers),
      ...(await splitFlags(flags, which)),
    });
    const duplicates = await findDuplicateAudio(manifestRows(manifest));
    const summary = summarizeManifest(manifest, manifestPath, duplicates.withinSplit);
    const seconds = (performance.now() - t0) / 1000;
    if (report) console.log(`${report}\n`);
    console.log(formatSummary(summary));
    console.log(`\nprepared in ${seconds.toFixed(1)} s`);
    return { ...summary, ...(report ? { report } : {}), seconds: Number(seconds.toFixed(2)) };
  },
};

/** `--split-fractions T,V,S` and `--test-speakers LIST|FILE` (SAA only), checked before any work. */
export async function splitFlags(
  flags: Record<string, unknown>,
  dataset: string,
): Promise<{ splitFractions?: SplitFractions; testSpeakers?: string[] }> {
  const out: { splitFractions?: SplitFractions; testSpeakers?: string[] } = {};
  for (const f of ["split-fractions", "test-speakers"]) {
    if (flags[f] !== undefined && dataset !== "saa") throw new UsageError(`--${f} applies to saa only`);
  }
  if (typeof flags["split-fractions"] === "string") {
    const parts = flags["split-fractions"].split(",").map((v) => Number(v.trim()));
    if (
      parts.length !== 3 || parts.some((v) => !Number.isFinite(v) || v < 0) ||
      Math.abs(parts[0] + parts[1] + parts[2] - 1) > 1e-9
    ) {
      throw new UsageError(
        `--split-fractions: three non-negative numbers train,validation,test summing to 1, got "${
          flags["split-fractions"]
        }"`,
      );
    }
    out.splitFractions = { train: parts[0], validation: parts[1], test: parts[2] };
  }
  if (typeof flags["test-speakers"] === "string") {
    const v = flags["test-speakers"];
    const text = (await exists(v)) ? await Deno.readTextFile(v) : v.replaceAll(",", "\n");
    out.testSpeakers = text.split("\n").map((s) => s.trim()).filter((s) => s.length > 0);
    if (out.testSpeakers.length === 0) throw new UsageError(`--test-speakers: no speaker ids in "${v}"`);
  }
  return out;
}

/** `--data`, or its older name `--source`; both naming different folders is a usage error. */
function dataFolder(flags: Record<string, unknown>): string | undefined {
  const data = flags.data as string | undefined, source = flags.source as string | undefined;
  if (data !== undefined && source !== undefined && data !== source) {
    throw new UsageError(`--data ${data} and --source ${source} name different folders; give --data only`);
  }
  return data ?? source;
}

export const commands: Command[] = [list, prepare];
