/**
 * Settings read from the environment, in one place at the edge: the CLI, the demo and the notebooks read them
 * here and pass them down as explicit options; nothing below lib/cli reads these variables or looks beside
 * the checkout.
 *
 *   NAC_SAE_MODELS   codec weights folder (else ../shared/models beside the checkout, when present)
 *   NAC_SAE_THREADS  compute threads of one SAE process (else the library's default, 2)
 *   NAC_SAE_RESULTS  the results directory the notebooks read (else results/demo)
 */
import { isAbsolute, join, resolve } from "node:path";
import { projectRoot } from "../common/assets.ts";

/** The `../shared` folder beside the project, when present (CI and tests use it instead of downloads). */
export function sharedDir(): string | undefined {
  const p = resolve(projectRoot(), "..", "shared");
  try {
    Deno.statSync(p);
    return p;
  } catch {
    return undefined;
  }
}

/** Codec weights folder: NAC_SAE_MODELS, else ../shared/models when present (else undefined: cache/download). */
export function modelsDirFromEnv(): string | undefined {
  const shared = sharedDir();
  return Deno.env.get("NAC_SAE_MODELS") || (shared ? join(shared, "models") : undefined);
}

/** SAE compute threads: NAC_SAE_THREADS when a positive integer, else undefined (the library's default). */
export function threadsFromEnv(): number | undefined {
  const v = Number(Deno.env.get("NAC_SAE_THREADS") ?? "");
  return Number.isInteger(v) && v > 0 ? v : undefined;
}

/** The results directory notebooks read: `NAC_SAE_RESULTS`, else `results/demo`; relative to the project root. */
export function resultsDirFromEnv(): string {
  const dir = Deno.env.get("NAC_SAE_RESULTS") || "results/demo";
  return isAbsolute(dir) ? dir : resolve(projectRoot(), dir);
}
