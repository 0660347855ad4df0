/** One entry for every dataset: prepare it (locate/download/generate/validate) and write its manifest. */
import type pl from "nodejs-polars";
import { join, resolve } from "node:path";
import { cacheRoot } from "../common/assets.ts";
import { fsddRows, locateFsdd } from "./fsdd.ts";
import { readManifest, writeManifest } from "./manifest.ts";
import { generateSynthetic, type SyntheticOptions } from "./synthetic.ts";
import { prepareUser } from "./user.ts";

export interface PrepareOptions extends SyntheticOptions {
  /** FSDD: a folder holding `fsdd/` or the dataset itself. */
  source?: string;
  /** Never download. */
  offline?: boolean;
}

export const BUILTIN_DATASETS = ["fsdd", "synthetic"] as const;

/** Where prepared manifests live unless an output folder is given: `<cache>/datasets/<name>/`. */
export function datasetsRoot(): string {
  return join(cacheRoot(), "datasets");
}

/**
 * Prepares `name` — "fsdd", "synthetic", or the path of a user CSV (`.csv`) — and returns the validated
 * manifest and its path.
 */
export async function prepareDataset(
  name: string,
  opts: PrepareOptions = {},
): Promise<{ manifestPath: string; manifest: pl.DataFrame }> {
  let manifestPath: string;
  if (name === "fsdd") {
    const dir = await locateFsdd({ source: opts.source, offline: opts.offline, quiet: opts.quiet });
    manifestPath = join(resolve(opts.out ?? join(datasetsRoot(), "fsdd")), "manifest.csv");
    await writeManifest(manifestPath, await fsddRows(dir));
  } else if (name === "synthetic") {
    manifestPath = await generateSynthetic(opts);
  } else if (name.toLowerCase().endsWith(".csv")) {
    manifestPath = await prepareUser(name, opts.out);
  } else {
    throw new Error(
      `unknown dataset ${JSON.stringify(name)}: expected ${BUILTIN_DATASETS.join(", ")} or the path of a ` +
        "user CSV (path, speaker_id, accent_narrow, split)",
    );
  }
  return { manifestPath, manifest: await readManifest(manifestPath) };
}
