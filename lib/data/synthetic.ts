/**
 * A synthetic accent corpus spoken by eSpeak-NG (the Debian `espeak-ng` program, GPL-3.0, run as an external
 * process). Each "speaker" is one voice × variant × pitch × rate; North America and British Isles speakers
 * use eSpeak's regional English voices, Other speakers use other languages' voices reading English (so
 * English text passes through, e.g., Spanish or Hindi letter-to-sound rules and phonemes). Everything —
 * speakers, their sentences and their split — follows from the seed; splits are speaker-disjoint and
 * balanced per broad accent. Audio: eSpeak's 22.05 kHz output, band-limited to 16 kHz with lib/audio,
 * written as 16-bit mono WAV.
 */
import { join, resolve } from "node:path";
import { decodeAudio, encodeWav, resample, toMono } from "../audio/mod.ts";
import { exists, readJson, writeFileAtomic, writeJsonAtomic } from "../common/fs.ts";
import { hashJson } from "../common/hash.ts";
import { log, Progress } from "../common/progress.ts";
import { Rng } from "../common/random.ts";
import { type ManifestRow, type Split, writeManifest } from "./manifest.ts";
import { SENTENCES } from "./sentences.ts";
import { type BroadLabel, broadOf } from "./taxonomy.ts";
import { inCache } from "../common/settings.ts";

export const SYNTHETIC_RATE = 16000;

/** eSpeak-NG voices per broad accent, with the Vox-Profile narrow label each stands for. */
export const SYNTHETIC_VOICES: Readonly<Record<BroadLabel, readonly { voice: string; narrow: string }[]>> = {
  "North America": [
    { voice: "en-us", narrow: "North America" },
    { voice: "en-us-nyc", narrow: "North America" },
  ],
  "British Isles": [
    { voice: "en-gb", narrow: "English" },
    { voice: "en-gb-x-rp", narrow: "English" },
    { voice: "en-gb-scotland", narrow: "Scottish" },
    { voice: "en-gb-x-gbclan", narrow: "English" }, // Lancaster
    { voice: "en-gb-x-gbcwmd", narrow: "English" }, // West Midlands
  ],
  "Other": [
    { voice: "en-029", narrow: "Other" }, // Caribbean English
    { voice: "es", narrow: "Romance" },
    { voice: "fr-fr", narrow: "Romance" },
    { voice: "de", narrow: "Germanic" },
    { voice: "hi", narrow: "South Asia" },
    { voice: "ru", narrow: "Slavic" },
    { voice: "cmn", narrow: "East Asia" },
  ],
};

/** eSpeak voice variants (+m1 … +f4): different formant sets, male and female. */
const VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4"];
const PITCH_RANGE = [25, 75]; // eSpeak -p, 0-99
const RATE_RANGE = [135, 185]; // eSpeak -s, words per minute

export interface SyntheticOptions {
  seed?: number;
  /** Speakers per broad accent (North America, British Isles, Other); ≥ 3 so every split gets one. */
  speakersPerAccent?: number;
  /** Sentences each speaker reads (≤ the number of sentences). */
  utterancesPerSpeaker?: number;
  /** Output folder (default: a folder per configuration in `cacheDir`). */
  out?: string;
  /** The project cache (from NAC_SAE_CACHE at the edge); needed when `out` is not given. */
  cacheDir?: string;
  /** Parallel eSpeak processes. */
  workers?: number;
  /** Regenerate even if the folder already holds this corpus. */
  force?: boolean;
  quiet?: boolean;
}

/** The demo size: 3 × 16 speakers × 18 sentences = 864 utterances (split 8/4/4 speakers per accent). */
export const SYNTHETIC_DEFAULTS = { seed: 0, speakersPerAccent: 16, utterancesPerSpeaker: 18, workers: 2 };

export interface SyntheticSpeaker {
  speaker_id: string;
  voice: string;
  variant: string;
  pitch: number;
  rate: number;
  accent_narrow: string;
  accent_broad: BroadLabel;
  split: Split;
}

export interface SyntheticUtterance {
  utterance_id: string;
  speaker: SyntheticSpeaker;
  sentence: number;
  text: string;
  /** Relative to the corpus folder. */
  file: string;
}

const GROUP_KEYS: Record<BroadLabel, string> = {
  "North America": "na",
  "British Isles": "bi",
  "Other": "ot",
};

function between(rng: Rng, [lo, hi]: number[]): number {
  return lo + rng.int(hi - lo + 1);
}

/** The whole corpus as a function of (seed, sizes): speakers, their split, and what each reads. */
export function planSynthetic(
  opts: SyntheticOptions = {},
): { speakers: SyntheticSpeaker[]; utterances: SyntheticUtterance[] } {
  const seed = opts.seed ?? SYNTHETIC_DEFAULTS.seed;
  const perAccent = opts.speakersPerAccent ?? SYNTHETIC_DEFAULTS.speakersPerAccent;
  const perSpeaker = opts.utterancesPerSpeaker ?? SYNTHETIC_DEFAULTS.utterancesPerSpeaker;
  if (!Number.isInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  }
  if (!Number.isInteger(perAccent) || perAccent < 3) {
    throw new RangeError(`speakersPerAccent must be an integer ≥ 3 (one per split), got ${perAccent}`);
  }
  if (!Number.isInteger(perSpeaker) || perSpeaker < 1 || perSpeaker > SENTENCES.length) {
    throw new RangeError(
      `utterancesPerSpeaker must be an integer in 1..${SENTENCES.length}, got ${perSpeaker}`,
    );
  }
  const rng = new Rng(seed);
  const speakers: SyntheticSpeaker[] = [];
  const utterances: SyntheticUtterance[] = [];
  for (const broad of Object.keys(SYNTHETIC_VOICES) as BroadLabel[]) {
    const voices = SYNTHETIC_VOICES[broad];
    // Half the speakers fit the SAE, a quarter each go to validation and test.
    const nTest = Math.max(1, Math.round(perAccent / 4)), nVal = Math.max(1, Math.round(perAccent / 4));
    const order = rng.permutation(perAccent);
    const splitOf = (i: number): Split => {
      const rank = order.indexOf(i);
      return rank < nVal ? "validation" : rank < nVal + nTest ? "test" : "train";
    };
    for (let i = 0; i < perAccent; i++) {
      const v = voices[i % voices.length]; // round-robin: every voice gets speakers
      const speaker: SyntheticSpeaker = {
        speaker_id: `syn-${GROUP_KEYS[broad]}${String(i).padStart(2, "0")}`,
        voice: v.voice,
        variant: VARIANTS[rng.int(VARIANTS.length)],
        pitch: between(rng, PITCH_RANGE),
        rate: between(rng, RATE_RANGE),
        accent_narrow: v.narrow,
        accent_broad: broadOf(v.narrow),
        split: splitOf(i),
      };
      speakers.push(speaker);
      const sentences = Array.from(rng.permutation(SENTENCES.length).subarray(0, perSpeaker)).sort((a, b) =>
        a - b
      );
      for (const s of sentences) {
        const utterance_id = `${speaker.speaker_id}-s${String(s).padStart(2, "0")}`;
        utterances.push({
          utterance_id,
          speaker,
          sentence: s,
          text: SENTENCES[s],
          file: `wav/${utterance_id}.wav`,
        });
      }
    }
  }
  return { speakers, utterances };
}

async function espeak(args: string[]): Promise<string> {
  let out;
  try {
    out = await new Deno.Command("espeak-ng", { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        "espeak-ng not found: the synthetic corpus needs it (Debian/Ubuntu: apt-get install espeak-ng)",
      );
    }
    throw new Error(`cannot run espeak-ng (${(e as Error).message})`);
  }
  if (!out.success) {
    throw new Error(`espeak-ng ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** eSpeak-NG's version line, and a check that every voice the corpus uses is installed. */
async function checkEspeak(): Promise<string> {
  const version = (await espeak(["--version"])).trim();
  const listed = new Set(
    (await espeak(["--voices"])).split("\n").slice(1).map((l) => l.trim().split(/\s+/)[1]).filter(Boolean),
  );
  const needed = Object.values(SYNTHETIC_VOICES).flat().map((v) => v.voice);
  const missing = needed.filter((v) => !listed.has(v));
  if (missing.length > 0) throw new Error(`espeak-ng lacks voice(s) ${missing.join(", ")} (${version})`);
  return version;
}

async function synthesize(u: SyntheticUtterance, tmpDir: string, dest: string): Promise<void> {
  const s = u.speaker;
  const tmp = join(tmpDir, `${u.utterance_id}.wav`);
  await espeak([
    "-v",
    `${s.voice}+${s.variant}`,
    "-p",
    String(s.pitch),
    "-s",
    String(s.rate),
    "-w",
    tmp,
    u.text,
  ]);
  const audio = await decodeAudio(tmp);
  await Deno.remove(tmp);
  const y = resample(toMono(audio.channels), audio.sampleRate, SYNTHETIC_RATE);
  await writeFileAtomic(dest, encodeWav([y], SYNTHETIC_RATE));
}

/** Runs `fn` over `items` with at most `n` in flight. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

export function defaultSyntheticDir(opts: SyntheticOptions = {}): string {
  const seed = opts.seed ?? SYNTHETIC_DEFAULTS.seed;
  const spa = opts.speakersPerAccent ?? SYNTHETIC_DEFAULTS.speakersPerAccent;
  const ups = opts.utterancesPerSpeaker ?? SYNTHETIC_DEFAULTS.utterancesPerSpeaker;
  return inCache(opts, "synthetic data set", "datasets", `synthetic-seed${seed}-${spa}spk-${ups}utt`);
}

/**
 * Generates the corpus (or reuses it when the folder already holds the same plan made by the same eSpeak
 * version) and writes `manifest.csv`; returns its path.
 */
export async function generateSynthetic(opts: SyntheticOptions = {}): Promise<string> {
  const quiet = opts.quiet ?? false;
  const dir = resolve(opts.out ?? defaultSyntheticDir(opts));
  const manifestPath = join(dir, "manifest.csv");
  const planPath = join(dir, "plan.json");
  const { utterances } = planSynthetic(opts);
  const version = await checkEspeak();
  const planHash = await hashJson({ version, sampleRate: SYNTHETIC_RATE, utterances });
  if (!opts.force && (await exists(manifestPath)) && (await exists(planPath))) {
    const old = await readJson<{ planHash?: string }>(planPath);
    if (old.planHash === planHash) {
      log(`synthetic: ${utterances.length} utterances already in ${dir}`, quiet);
      return manifestPath;
    }
  }
  // A previous corpus of another plan in this folder: drop its audio so no stale file lingers.
  if (await exists(planPath)) {
    await Deno.remove(planPath);
    await Deno.remove(join(dir, "wav"), { recursive: true }).catch(() => {});
  }
  await Deno.mkdir(join(dir, "wav"), { recursive: true });
  const tmpDir = await Deno.makeTempDir({ prefix: "nac-sae-espeak-" });
  const progress = new Progress({
    label: "synthetic corpus (espeak-ng)",
    total: utterances.length,
    unit: "utt",
    quiet,
  });
  try {
    await pool(utterances, opts.workers ?? SYNTHETIC_DEFAULTS.workers, async (u) => {
      await synthesize(u, tmpDir, join(dir, u.file));
      progress.tick();
    });
  } finally {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  }
  const rows: ManifestRow[] = utterances.map((u) => ({
    utterance_id: u.utterance_id,
    path: join(dir, u.file),
    dataset: "synthetic",
    speaker_id: u.speaker.speaker_id,
    accent_narrow: u.speaker.accent_narrow,
    accent_broad: u.speaker.accent_broad,
    split: u.speaker.split,
    voice: u.speaker.voice,
    variant: u.speaker.variant,
    pitch: u.speaker.pitch,
    rate: u.speaker.rate,
    text: u.text,
  }));
  await writeManifest(manifestPath, rows);
  await writeJsonAtomic(planPath, {
    planHash,
    espeak: version,
    seed: opts.seed ?? SYNTHETIC_DEFAULTS.seed,
    speakersPerAccent: opts.speakersPerAccent ?? SYNTHETIC_DEFAULTS.speakersPerAccent,
    utterancesPerSpeaker: opts.utterancesPerSpeaker ?? SYNTHETIC_DEFAULTS.utterancesPerSpeaker,
    sampleRate: SYNTHETIC_RATE,
  });
  return manifestPath;
}
