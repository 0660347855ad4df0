/**
 * Finding a codec's weights. For a codec folder name F (e.g. "encodec_24khz", the fixture folder names) the
 * search order (the rule of lib/common/settings.ts) is: `--models DIR` or the run config's `modelsDir` (DIR/F,
 * then DIR itself), `modelsHome/F` (NAC_SAE_MODELS), `../shared/models/F`, the project cache
 * (`cacheDir/F`), the Hugging Face hub cache (`hfHubCache`), then a download of the official files into the
 * project cache. The folders come as options (read from the environment in lib/cli/settings.ts); one not
 * given is skipped, and without a cache folder nothing is downloaded.
 * In each folder the layouts are tried in the given order (e.g. our `weights.safetensors + config.json`,
 * the official `.th`, the transformers `model.safetensors`).
 */
import { join, resolve } from "node:path";
import { download } from "../../common/assets.ts";
import { homesOf, howToPoint, inCache, type Locations, POINTERS } from "../../common/settings.ts";
import { exists } from "../../common/fs.ts";
import { sha256File } from "../../common/hash.ts";

export interface WeightLayout<K extends string> {
  kind: K;
  /** Files that must all exist, relative to the folder. */
  files: string[];
}

export interface OfficialFile {
  /** Path relative to the codec folder in the cache. */
  path: string;
  url: string;
  /** Full sha256, or a known prefix of it (torch.hub names carry the first 8 hex digits). */
  sha256?: string;
}

export interface CodecWeightsSpec<K extends string> {
  /** Folder name under a models directory / the cache. */
  folder: string;
  layouts: WeightLayout<K>[];
  /** A Hugging Face repo whose hub-cache snapshot may already hold a layout's files (same relative paths). */
  hubRepo?: { repo: string; kind: K; files: string[] };
  /** What to download when nothing is found: files of one layout. */
  official: { kind: K; files: OfficialFile[] };
}

export interface ResolvedWeights<K extends string> {
  kind: K;
  dir: string;
  /** Absolute paths of the layout's files, in layout order. */
  files: string[];
}

export interface ResolveWeightsOptions extends Locations {
  /** Explicit models directory (`--models DIR`): DIR/F, then DIR itself; an error if it does not exist. */
  modelsDir?: string;
  offline?: boolean;
  quiet?: boolean;
}

/** Snapshot folders of a hub repo in the local HF cache (newest first by name order is irrelevant: any holds the files). */
async function hubSnapshots(hubCache: string, repo: string): Promise<string[]> {
  const dir = join(hubCache, `models--${repo.replace("/", "--")}`, "snapshots");
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) out.push(join(dir, e.name));
  } catch {
    return [];
  }
  return out.sort();
}

async function holds(dir: string, files: string[]): Promise<boolean> {
  for (const f of files) if (!(await exists(join(dir, f)))) return false;
  return true;
}

export async function resolveCodecWeights<K extends string>(
  spec: CodecWeightsSpec<K>,
  opts: ResolveWeightsOptions = {},
): Promise<ResolvedWeights<K>> {
  const dirs: string[] = [];
  if (opts.modelsDir) {
    if (!(await exists(opts.modelsDir))) {
      throw new Error(
        `${opts.modelsDir}: models directory not found (given by ${POINTERS.models.flag} or the run config's ` +
          `"${POINTERS.models.configKey}")`,
      );
    }
    dirs.push(join(opts.modelsDir, spec.folder), opts.modelsDir);
  }
  for (const home of homesOf(opts, "models")) dirs.push(join(home, spec.folder));
  const cached = opts.cacheDir ? join(opts.cacheDir, spec.folder) : undefined;
  if (cached) dirs.push(cached);
  for (const dir of dirs) {
    for (const layout of spec.layouts) {
      if (await holds(dir, layout.files)) {
        return {
          kind: layout.kind,
          dir: resolve(dir),
          files: layout.files.map((f) => resolve(join(dir, f))),
        };
      }
    }
  }
  const hub = spec.hubRepo && opts.hfHubCache ? { ...spec.hubRepo, cache: opts.hfHubCache } : undefined;
  if (hub) {
    for (const snap of await hubSnapshots(hub.cache, hub.repo)) {
      if (await holds(snap, hub.files)) {
        return { kind: hub.kind, dir: snap, files: hub.files.map((f) => join(snap, f)) };
      }
    }
  }
  const wanted = spec.official.files.map((f) => `${f.path} <${f.url}>`).join(", ");
  const searched = [...dirs, ...(hub ? [`HF cache ${hub.cache} (${hub.repo})`] : [])].join(", ") || "nothing";
  if (opts.offline) {
    throw new Error(
      `${spec.folder}: weights not found (searched ${searched}) and downloads are disabled. ` +
        `Put ${wanted} in ${cached ?? "the cache"}, or ${howToPoint("models", `${spec.folder}/`)}.`,
    );
  }
  const into = cached ?? inCache(opts, `${spec.folder}: weights not found (searched ${searched})`);
  for (const f of spec.official.files) {
    const dest = join(into, f.path);
    if (await exists(dest)) continue;
    try {
      await download(f.url, dest, f.sha256 && f.sha256.length === 64 ? f.sha256 : undefined, opts.quiet);
    } catch (e) {
      throw new Error(
        `${spec.folder}: weights not found (searched ${searched}) and the download of ${f.path} ` +
          `from ${f.url} failed (${(e as Error).message}). Offline? Place the file at ${dest}, or ` +
          `${howToPoint("models", `${spec.folder}/`)}.`,
      );
    }
    if (f.sha256 && f.sha256.length < 64) {
      const got = await sha256File(dest);
      if (!got.startsWith(f.sha256)) {
        await Deno.remove(dest);
        throw new Error(
          `${f.url}: sha256 ${got} does not start with the published prefix ${f.sha256}; removed`,
        );
      }
    }
  }
  return {
    kind: spec.official.kind,
    dir: resolve(into),
    files: spec.official.files.map((f) => resolve(join(into, f.path))),
  };
}
