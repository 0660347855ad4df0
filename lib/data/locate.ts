/**
 * Where a dataset's folder is found before any download, by the rule of lib/common/settings.ts: the explicit
 * folder (`--data DIR` or the run config's `datasets[].source`), then the data home (NAC_SAE_DATA), then
 * `../shared/data` beside the checkout, then the cache.
 */
import { join, resolve } from "node:path";
import { homesOf, type Locations, POINTERS } from "../common/settings.ts";

/** The explicit folder: DIR/<name> or DIR itself, whichever holds the dataset (absolute), else undefined. */
export async function datasetInSource(
  source: string,
  name: string,
  holds: (dir: string) => Promise<unknown>,
): Promise<string | undefined> {
  for (const dir of [join(source, name), source]) if (await holds(dir)) return resolve(dir);
  return undefined;
}

/** The error for an explicit folder that does not hold the dataset: it names the flag and the config key. */
export function notInSource(source: string, name: string, what: string): Error {
  const p = POINTERS.data;
  return new Error(
    `${source}: no ${what} in ${join(source, name)} or ${source} (the folder given by ${p.flag} or the run ` +
      `config's "${p.configKey}"). Point it at the folder that holds ${name}/, or leave it out to search ` +
      `${p.envVar}, ../shared/data beside the checkout and the cache`,
  );
}

/**
 * The folders searched without an explicit one, in order (`dataHome/<name>` (NAC_SAE_DATA),
 * `sharedRoot/data/<name>`, `cacheDir/<name>`; each only when given), and the first that holds the dataset
 * (absolute). `cached`: the cache folder, if any.
 */
export async function datasetInHomeOrCache(
  name: string,
  loc: Locations,
  holds: (dir: string) => Promise<unknown>,
): Promise<{ found?: string; candidates: string[]; cached?: string }> {
  const candidates = homesOf(loc, "data").map((home) => join(home, name));
  const cached = loc.cacheDir ? join(loc.cacheDir, name) : undefined;
  if (cached) candidates.push(cached);
  for (const dir of candidates) if (await holds(dir)) return { found: resolve(dir), candidates, cached };
  return { candidates, cached };
}
