/** Where a dataset's folder is found before any download: --source, then $ENV/<name>, then the cache. */
import { join, resolve } from "node:path";
import { cacheRoot } from "../common/assets.ts";

/** `--source DIR`: DIR/<name> or DIR itself, whichever holds the dataset (absolute), else undefined. */
export async function datasetInSource(
  source: string,
  name: string,
  holds: (dir: string) => Promise<unknown>,
): Promise<string | undefined> {
  for (const dir of [join(source, name), source]) if (await holds(dir)) return resolve(dir);
  return undefined;
}

/** The folders searched without --source, in order, and the first that holds the dataset (absolute). */
export async function datasetInEnvOrCache(
  name: string,
  envVar: string,
  holds: (dir: string) => Promise<unknown>,
): Promise<{ found?: string; candidates: string[]; cached: string }> {
  const candidates: string[] = [];
  const env = Deno.env.get(envVar);
  if (env) candidates.push(join(env, name));
  const cached = join(cacheRoot(), name);
  candidates.push(cached);
  for (const dir of candidates) if (await holds(dir)) return { found: resolve(dir), candidates, cached };
  return { candidates, cached };
}
