/**
 * The small real-speech grids the experiment tests share: FSDD's six speakers with the README's
 * speaker-disjoint split, a manifest writer over ../shared's recordings (located by the project's sharedDir,
 * never a hard-coded path), and the small grid config (Lyra 3.2 kbps, US vs Non-US-UK).
 */
import { join } from "node:path";
import pl from "nodejs-polars";
import { sharedDir } from "../lib/cli/settings.ts";

/** The shared data root, or undefined where there is none (tests then skip, noting it: tools.ts). */
export const SHARED = sharedDir();

/** FSDD speaker → [narrow accent, broad accent, split]: the README's speaker-disjoint split. */
export const FSDD_SPLITS: Record<string, [narrow: string, broad: string, split: string]> = {
  nicolas: ["Romance", "Other", "train"],
  george: ["Other", "Other", "train"],
  jackson: ["North America", "North America", "validation"],
  lucas: ["Germanic", "Other", "validation"],
  theo: ["North America", "North America", "test"],
  yweweler: ["Germanic", "Other", "test"],
};

/** The path of FSDD recording `<digit>_<speaker>_<take>.wav` under the shared data. */
export function fsddRecording(digit: number, speaker: string, take: number): string {
  if (!SHARED) throw new Error("fsddRecording: no ../shared data (guard the test with skipWithout)");
  return join(SHARED, "data", "fsdd", "recordings", `${digit}_${speaker}_${take}.wav`);
}

/**
 * Writes `<dir>/<name>` (columns path, speaker_id, accent_narrow, split): 10 digits per speaker, the takes
 * `takes(digit)` of each (default take 0 and 1). Returns its path.
 */
export async function writeFsddManifest(
  dir: string,
  opts: { takes?: (digit: number) => number[]; name?: string } = {},
): Promise<string> {
  const takes = opts.takes ?? (() => [0, 1]);
  const lines = ["path,speaker_id,accent_narrow,split"];
  for (const [speaker, [narrow, , split]] of Object.entries(FSDD_SPLITS)) {
    for (let digit = 0; digit < 10; digit++) {
      for (const take of takes(digit)) {
        lines.push(`${fsddRecording(digit, speaker, take)},${speaker},${narrow},${split}`);
      }
    }
  }
  const path = join(dir, opts.name ?? "manifest.csv");
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return path;
}

/** A small grid on a manifest: Lyra 3.2 kbps, US vs Non-US-UK; `over` overrides any field. */
export function smallGridConfig(dir: string, manifest: string, over: Record<string, unknown> = {}) {
  return {
    name: "small-grid",
    datasets: [{ name: manifest }],
    codecs: ["lyra-3.2kbps"],
    tasks: ["us-vs-non-us-uk"],
    grid: { q: [2], s: [0.25, 0.1] },
    epochs: { fixed: 40 },
    outDir: join(dir, "out"),
    featureDir: join(dir, "features"),
    modelsDir: join(SHARED ?? "", "models"),
    workers: 1,
    bootstrap: 50,
    ...over,
  };
}

/** A run's results rows without the timing columns, in (q, s, feature) order: what must not depend on workers. */
export async function resultsWithoutTimings(outDir: string): Promise<Record<string, unknown>[]> {
  const df = pl.readCSV(await Deno.readTextFile(join(outDir, "results.csv")));
  const cols = df.columns.filter((c) => !/second|time/.test(c));
  return df.select(...cols).sort(["q", "s", "feature"]).toRecords();
}
