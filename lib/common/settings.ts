/**
 * The settings a run takes from its surroundings, as plain data. lib/cli/settings.ts builds them once from the
 * environment (the only place that reads it) and the CLI, the demo, the notebooks and the benchmarks pass them
 * down as explicit options. The library never reads the environment: a folder it is not given is not searched,
 * and without a cache folder nothing is downloaded and no default output folder exists (a clear error says so).
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
  /** The Hugging Face hub cache searched for official weights (HF_HUB_CACHE, HF_HOME). */
  hfHubCache?: string;
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
  const { cacheDir, modelsHome, dataHome, hfHubCache } = o;
  return { cacheDir, modelsHome, dataHome, hfHubCache };
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
