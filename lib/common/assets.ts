/**
 * Where a codec's weight files come from, by the rule of lib/common/settings.ts. For an asset named `name` (a
 * folder such as `lyra-v1.3.2`):
 *   1. an explicit directory (`--models DIR` or the run config's `modelsDir`) holding `name/` or the files,
 *   2. the folders after it (`homes`: NAC_SAE_MODELS, then ../shared/models) holding `name/`,
 *   3. the project cache (`cacheDir`, see lib/cli/settings.ts),
 *   4. a download from the public URL into the cache, verified by sha256 (a mismatch is an error).
 * Folders not given are skipped; without a cache folder nothing is downloaded.
 */
import { dirname, join, resolve } from "node:path";
import { exists } from "./fs.ts";
import { howToPoint, inCache, POINTERS } from "./settings.ts";
import { sha256Hex } from "./hash.ts";
import { log } from "./progress.ts";

export interface AssetFile {
  /** Path relative to the asset folder. */
  path: string;
  url: string;
  sha256?: string;
}

export interface AssetSpec {
  name: string;
  files: AssetFile[];
}

export interface ResolveOptions {
  /** Explicit directory from the command line. */
  dir?: string;
  /** Folders holding `name/`, searched in order after `dir` (NAC_SAE_MODELS, ../shared/models: `homesOf`). */
  homes?: string[];
  /** The project cache; without it, nothing is cached or downloaded. */
  cacheDir?: string;
  /** Never download (tests, air-gapped machines). */
  offline?: boolean;
  quiet?: boolean;
}

async function holdsAll(dir: string, files: AssetFile[]): Promise<boolean> {
  for (const f of files) if (!(await exists(join(dir, f.path)))) return false;
  return true;
}

/** Returns the directory holding every file of the asset, downloading into the cache if needed. */
export async function resolveAsset(spec: AssetSpec, opts: ResolveOptions = {}): Promise<string> {
  const candidates: string[] = [];
  if (opts.dir) candidates.push(join(opts.dir, spec.name), opts.dir);
  for (const home of opts.homes ?? []) candidates.push(join(home, spec.name));
  const cached = opts.cacheDir ? join(opts.cacheDir, spec.name) : undefined;
  if (cached) candidates.push(cached);
  for (const dir of candidates) {
    if (await holdsAll(dir, spec.files)) {
      await verifyFiles(dir, spec.files);
      return resolve(dir);
    }
  }
  if (opts.dir && !(await exists(opts.dir))) {
    throw new Error(
      `${opts.dir}: directory not found (given for ${spec.name} by ${POINTERS.models.flag} or the run ` +
        `config's "${POINTERS.models.configKey}")`,
    );
  }
  const missing = spec.files.map((f) => `${f.path} <${f.url}>`).join(", ");
  const fix = howToPoint("models", `${spec.name}/`);
  if (opts.offline) {
    throw new Error(
      `${spec.name} not found in ${
        candidates.join(", ") || "any folder given"
      } and downloads are disabled; ` +
        `${fix}. Files: ${missing}`,
    );
  }
  const into = cached ??
    inCache(opts, `${spec.name} (not in ${candidates.join(", ") || "any folder given"})`);
  for (const f of spec.files) {
    const dest = join(into, f.path);
    if (await exists(dest)) continue;
    await download(f.url, dest, f.sha256, opts.quiet).catch((e) => {
      throw new Error(
        `${spec.name}: cannot download ${f.path} from ${f.url} (${(e as Error).message}). ` +
          `Offline? ${fix}.`,
      );
    });
  }
  return resolve(into);
}

const verified = new Set<string>();

/** Checks sha256 of every file that declares one (once per process per file). */
async function verifyFiles(dir: string, files: AssetFile[]): Promise<void> {
  for (const f of files) {
    if (!f.sha256) continue;
    const p = resolve(join(dir, f.path));
    if (verified.has(p)) continue;
    const got = await sha256Hex(await Deno.readFile(p));
    if (got !== f.sha256) {
      throw new Error(`${p}: sha256 mismatch (expected ${f.sha256}, got ${got}); refusing to use it`);
    }
    verified.add(p);
  }
}

/** Downloads `url` to `dest` via a temporary file, checking sha256 when given. */
export async function download(url: string, dest: string, sha256?: string, quiet = false): Promise<void> {
  log(`downloading ${url}`, quiet);
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const c of res.body) {
    chunks.push(c);
    total += c.length;
  }
  const bytes = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    bytes.set(c, o);
    o += c.length;
  }
  if (sha256) {
    const got = await sha256Hex(bytes);
    if (got !== sha256) throw new Error(`sha256 mismatch for ${url}: expected ${sha256}, got ${got}`);
  }
  await Deno.mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.part-${Deno.pid}`;
  await Deno.writeFile(tmp, bytes);
  await Deno.rename(tmp, dest);
  log(`saved ${dest} (${(total / 1e6).toFixed(1)} MB)`, quiet);
}

/** The project root (the folder holding deno.json). */
export function projectRoot(): string {
  return resolve(dirname(new URL(import.meta.url).pathname), "..", "..");
}
