/**
 * The settings a run takes from its surroundings, as plain data. lib/cli/settings.ts builds them once from the
 * environment (the only place that reads it) and the CLI, the demo, the notebooks and the benchmarks pass them
 * down as explicit options. The library never reads the environment: a folder it is not given is not searched,
 * and without a cache folder nothing is downloaded and no default output folder exists (a clear error says so).
 *
 * One rule finds data sets and codec weights, for every command, config and notebook:
 *   1. an explicit folder: a flag (`--data DIR`, `--models DIR`) or a run-config key (`datasets[].source`,
 *      `modelsDir`),
 *   2. the environment variable's folder (NAC_SAE_DATA, NAC_SAE_MODELS: `dataHome`, `modelsHome`),
 *   3. `../shared` beside the checkout (`sharedRoot`: its data/ and models/),
 *   4. the project cache (`cacheDir`),
 *   5. a download into the cache, unless `--offline`.
 * Every "not found" error ends with `howToPoint`: the flag, the config key and the variable that fix it.
 */
import { join } from "node:path";

/** Where weights, data sets and the cache are looked for (each absent one is skipped). */
export interface Locations {
  /** The project cache: prepared data sets, feature stores, downloads (NAC_SAE_CACHE at the edge). */
  cacheDir?: string;
  /** A folder holding codec weight folders, searched after an explicit `--models` (NAC_SAE_MODELS). */
  modelsHome?: string;
  /** A folder holding data set folders (fsdd/, saa/), searched after an explicit `--source` (NAC_SAE_DATA). */
  dataHome?: string;
  /** `../shared` beside the checkout, when present: data/ and models/ searched after the homes. */
  sharedRoot?: string;
  /** The Hugging Face hub cache searched for official weights (HF_HUB_CACHE, HF_HOME). */
  hfHubCache?: string;
}

/** How the user points at each kind of folder: the words every "not found" error uses. */
export const POINTERS = {
  data: { flag: "--data DIR", configKey: "datasets[].source", envVar: "NAC_SAE_DATA", sharedSub: "data" },
  models: { flag: "--models DIR", configKey: "modelsDir", envVar: "NAC_SAE_MODELS", sharedSub: "models" },
} as const;

/** The sentence that fixes a "not found": `pass --models DIR (run config: "modelsDir") or set NAC_SAE_MODELS …`. */
export function howToPoint(kind: keyof typeof POINTERS, holding: string): string {
  const p = POINTERS[kind];
  return `pass ${p.flag} (run config: "${p.configKey}") or set ${p.envVar}, naming a folder that holds ` +
    `${holding}`;
}

/**
 * The folders searched after an explicit one, in order (rule steps 2 and 3): the variable's home, then
 * `../shared/<data|models>`; each only when given.
 */
export function homesOf(loc: Locations, kind: keyof typeof POINTERS): string[] {
  const home = kind === "data" ? loc.dataHome : loc.modelsHome;
  const shared = loc.sharedRoot ? join(loc.sharedRoot, POINTERS[kind].sharedSub) : undefined;
  return [home, shared].filter((d): d is string => d !== undefined);
}

/** Everything read from the environment, once, by lib/cli/settings.ts (`settingsFromEnv`). */
export interface Settings extends Locations {
  cacheDir: string;
  /** Compute threads of one SAE process (NAC_SAE_THREADS); undefined: the library's default. */
  threads?: number;
  /** onnxruntime execution providers of the ONNX codecs (NAC_SAE_ONNX_PROVIDERS); undefined: CPU. */
  onnxProviders?: string[];
  /** Print the stack of runtime errors (NAC_SAE_DEBUG). */
  debug: boolean;
}

/** Only the location fields of `o` (to hand settings or options on without their other fields). */
export function locationsOf(o: Locations): Locations {
  const { cacheDir, modelsHome, dataHome, sharedRoot, hfHubCache } = o;
  return { cacheDir, modelsHome, dataHome, sharedRoot, hfHubCache };
}

/** `<cacheDir>/<parts>`; an error naming `what` when no cache folder was given. */
export function inCache(loc: Locations, what: string, ...parts: string[]): string {
  if (!loc.cacheDir) {
    throw new Error(
      `${what}: no cache folder given (cacheDir; the CLI sets it from NAC_SAE_CACHE) and no explicit folder`,
    );
  }
  return join(loc.cacheDir, ...parts);
}
