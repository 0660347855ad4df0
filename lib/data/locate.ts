/** Where a dataset's folder is found before any download: --source, then the data home, then the cache. */
import { join, resolve } from "node:path";
import type { Locations } from "../common/settings.ts";

/** `--source DIR`: DIR/<name> or DIR itself, whichever holds the dataset (absolute), else undefined. */
export async function datasetInSource(
  source: string,
  name: string,
  holds: (dir: string) => Promise<unknown>,
): Promise<string | undefined> {
  for (const dir of [join(source, name), source]) if (await holds(dir)) return resolve(dir);
  return undefined;
}

/**
 * The folders searched without --source, in order (`dataHome/<name>` (NAC_SAE_DATA), `cacheDir/<name>`; each
 * only when given), and the first that holds the dataset (absolute). `cached`: the cache folder, if any.
 */
export async function datasetInHomeOrCache(
  name: string,
  loc: Locations,
  holds: (dir: string) => Promise<unknown>,
): Promise<{ found?: string; candidates: string[]; cached?: string }> {
  const candidates: string[] = [];
  if (loc.dataHome) candidates.push(join(loc.dataHome, name));
  const cached = loc.cacheDir ? join(loc.cacheDir, name) : undefined;
  if (cached) candidates.push(cached);
  for (const dir of candidates) if (await holds(dir)) return { found: resolve(dir), candidates, cached };
  return { candidates, cached };
}
