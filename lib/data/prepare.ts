/** One entry for every dataset: prepare it (locate/download/generate/validate) and write its manifest. */
import type pl from "nodejs-polars";
import { join, resolve } from "node:path";
import { inCache, type Locations, locationsOf } from "../common/settings.ts";
import { fsddRows, locateFsdd } from "./fsdd.ts";
import { formatSaaReport, readSaaSource, saaRows } from "./saa.ts";
import { locateSaa } from "./saa_source.ts";
import { readManifest, writeManifest } from "./manifest.ts";
import { hashJson } from "../common/hash.ts";
import type { SplitFractions } from "./split.ts";
import { generateSynthetic, type SyntheticOptions } from "./synthetic.ts";
import { prepareUser } from "./user.ts";

export interface PrepareOptions extends SyntheticOptions, Locations {
  /** FSDD / SAA: a folder holding `fsdd/` / `saa/` or the dataset itself. */
  source?: string;
  /** Never download. */
  offline?: boolean;
  /** Accept the same audio content in two splits (leakage; refused by default). */
  allowDuplicateAudio?: boolean;
  /** SAA: speaker split fractions { train, validation, test } (default 0.5 / 0.25 / 0.25). */
  splitFractions?: SplitFractions;
  /** SAA: speakers pinned to the test split (the rest split between train and validation). */
  testSpeakers?: string[];
}

export const BUILTIN_DATASETS = ["fsdd", "saa", "synthetic"] as const;

/** Where prepared manifests live unless an output folder is given: `<cache>/datasets/<name>/`. */
export function datasetsRoot(loc: Locations): string {
  return inCache(loc, "prepared data sets", "datasets");
}

/**
 * Prepares `name` — "fsdd", "saa", "synthetic", or the path of a user CSV (`.csv`) — and returns the
 * validated manifest, its path, and for some datasets a report of what was found (layout, left-out rows).
 */
export async function prepareDataset(
  name: string,
  opts: PrepareOptions = {},
): Promise<{ manifestPath: string; manifest: pl.DataFrame; report?: string }> {
  let manifestPath: string;
  let report: string | undefined;
  const locate = locationsOf(opts);
  const duplicateAudio = opts.allowDuplicateAudio ? "allow" as const : "error" as const;
  if (name === "fsdd") {
    const dir = await locateFsdd({
      ...locate,
      source: opts.source,
      offline: opts.offline,
      quiet: opts.quiet,
    });
    manifestPath = join(resolve(opts.out ?? join(datasetsRoot(opts), "fsdd")), "manifest.csv");
    await writeManifest(manifestPath, await fsddRows(dir), { duplicateAudio });
  } else if (name === "saa") {
    const dir = await locateSaa({ ...locate, source: opts.source, offline: opts.offline, quiet: opts.quiet });
    const seed = opts.seed ?? 0;
    const split = { fractions: opts.splitFractions, testSpeakers: opts.testSpeakers };
    // A manifest's folder names every setting that changes its rows, so two settings never share one.
    const custom = split.fractions || split.testSpeakers;
    const folder = (seed === 0 ? "saa" : `saa-seed${seed}`) +
      (custom ? `-split${(await hashJson(split)).slice(0, 10)}` : "");
    manifestPath = join(resolve(opts.out ?? join(datasetsRoot(opts), folder)), "manifest.csv");
    const prepared = saaRows(await readSaaSource(dir), seed, split);
    await writeManifest(manifestPath, prepared.rows, { duplicateAudio });
    report = formatSaaReport(prepared);
  } else if (name === "synthetic") {
    manifestPath = await generateSynthetic(opts);
  } else if (name.toLowerCase().endsWith(".csv")) {
    manifestPath = await prepareUser(name, opts.out, duplicateAudio, opts);
  } else {
    throw new Error(
      `unknown dataset ${JSON.stringify(name)}: expected ${BUILTIN_DATASETS.join(", ")} or the path of a ` +
        "user CSV (path, speaker_id, accent_narrow, split)",
    );
  }
  return { manifestPath, manifest: await readManifest(manifestPath, { duplicateAudio }), report };
}
