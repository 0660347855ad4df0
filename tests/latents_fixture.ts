/**
 * A small real run for the latents tests: a subset of the Speech Accent Archive (real accented speech, its
 * narrow accent labels) cropped to a few seconds as 16 kHz WAVs, one Lyra bitrate, one SAE config, one seed.
 * Tools and tests share it so the numbers in the tests are those of a run anyone can repeat.
 */
import { join } from "node:path";
import { sharedDir } from "../lib/cli/settings.ts";
import { encodeWav, loadAudio } from "../lib/audio/mod.ts";
import { manifestRows, prepareDataset } from "../lib/data/mod.ts";
import { type RunConfig, validateConfig } from "../lib/experiment/config.ts";

export interface SubsetSize {
  /** Utterances per manifest split and broad class: [North America, Other (non-US/UK), British Isles]. */
  train: [number, number, number];
  validation: [number, number, number];
  test: [number, number, number];
  /** Crop of every utterance, seconds. */
  seconds: number;
}

export const SMALL_SUBSET: SubsetSize = {
  train: [14, 14, 0],
  validation: [8, 8, 0],
  test: [5, 5, 3],
  seconds: 3,
};

const BROADS = ["North America", "Other", "British Isles"];

/**
 * Writes `<dir>/wav/*.wav` (first `seconds` of each chosen SAA recording, 16 kHz mono) and a user manifest
 * with their speakers, narrow accents and splits; returns the prepared manifest's path. Within a class, rows are
 * taken round-robin over narrow accents (so the non-US class mixes accents), in utterance-id order.
 */
export async function writeSaaSubset(
  dir: string,
  size: SubsetSize = SMALL_SUBSET,
  opts: { gender?: boolean } = {},
): Promise<string> {
  const shared = sharedDir();
  if (!shared) throw new Error("writeSaaSubset: the shared data folder is missing");
  const saa = await prepareDataset("saa", {
    source: join(shared, "data"),
    out: join(dir, "saa"),
    quiet: true,
  });
  const rows = manifestRows(saa.manifest).sort((a, b) => a.utterance_id.localeCompare(b.utterance_id));
  await Deno.mkdir(join(dir, "wav"), { recursive: true });
  // The speakers' gender (SAA's metadata) only on request, so the manifests of earlier tests stay as they were.
  const lines = [`utterance_id,path,speaker_id,accent_narrow,split${opts.gender ? ",gender" : ""}`];
  for (const split of ["train", "validation", "test"] as const) {
    for (const [b, broad] of BROADS.entries()) {
      const pool = rows.filter((r) => r.split === split && r.accent_broad === broad);
      const byNarrow = new Map<string, typeof pool>();
      for (const r of pool) byNarrow.set(r.accent_narrow, [...(byNarrow.get(r.accent_narrow) ?? []), r]);
      const queues = [...byNarrow.values()];
      const chosen: typeof pool = [];
      for (let i = 0; chosen.length < size[split][b] && queues.some((q) => q.length > i); i++) {
        for (const q of queues) if (q[i] && chosen.length < size[split][b]) chosen.push(q[i]);
      }
      for (const r of chosen) {
        const audio = await loadAudio(r.path, { sampleRate: 16000, maxSeconds: size.seconds });
        const wav = join(dir, "wav", `${r.utterance_id}.wav`);
        await Deno.writeFile(wav, encodeWav([audio], 16000));
        const gender = opts.gender ? `,${(r as Record<string, unknown>).gender ?? ""}` : "";
        lines.push(`${r.utterance_id},${wav},${r.speaker_id},${r.accent_narrow},${split}${gender}`);
      }
    }
  }
  const csv = join(dir, "saa_subset.csv");
  await Deno.writeTextFile(csv, lines.join("\n") + "\n");
  return (await prepareDataset(csv, { out: join(dir, "prepared"), quiet: true })).manifestPath;
}

/** One Lyra bitrate, US vs Non-US-UK, q = 2, s = 0.25, one seed, a few epochs. */
export function subsetRunConfig(manifest: string, outDir: string, epochs = 20): RunConfig {
  const shared = sharedDir();
  return validateConfig(
    {
      name: "latents-subset",
      datasets: [{ name: "saa_subset", manifest }],
      codecs: ["lyra-3.2kbps"],
      tasks: ["us-vs-non-us-uk"],
      grid: { q: [2], s: [0.25] },
      epochs: { fixed: epochs },
      seeds: [0],
      features: ["z"],
      outDir,
      workers: 1,
      bootstrap: 0,
      probe: { permutations: 0 },
      ...(shared ? { modelsDir: join(shared, "models") } : {}),
    },
    "latents subset config",
    outDir,
  );
}
