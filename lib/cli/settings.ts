/**
 * Settings read from the environment, in one place at the edge: `settingsFromEnv` builds the `Settings`
 * (lib/common/settings.ts) once; the CLI hands them to every command, and the demo, the notebooks and the
 * benchmarks call these helpers too. Below lib/cli nothing reads the environment or looks beside the checkout.
 *
 *   NAC_SAE_CACHE           the project cache (else $XDG_CACHE_HOME/nac-sae, else ~/.cache/nac-sae)
 *   NAC_SAE_MODELS          a folder of codec weight folders, searched after --models / "modelsDir"
 *   NAC_SAE_DATA            a folder holding fsdd/ and saa/, searched after --data / "datasets[].source"
 *   HF_HUB_CACHE, HF_HOME   the Hugging Face hub cache (else ~/.cache/huggingface/hub)
 *   NAC_SAE_THREADS         compute threads of one SAE process (a positive integer; else the library's default)
 *   NAC_SAE_ONNX_PROVIDERS  onnxruntime execution providers of the ONNX codecs, e.g. cuda,cpu (else CPU)
 *   NAC_SAE_DEBUG           any value: print the stack of runtime errors
 *   NAC_SAE_RESULTS         the results directory the notebooks read (else results/demo)
 * A set variable with a bad value is an error naming it. Empty counts as unset. After the variables' folders,
 * `../shared` beside the checkout is searched (`sharedRoot`), then the cache, then downloads: the one rule of
 * lib/common/settings.ts.
 */
import { isAbsolute, join, resolve } from "node:path";
import { projectRoot } from "../common/assets.ts";
import { LIMITS } from "../common/limits.ts";
import { numberProblem, rangeText } from "../common/schema.ts";
import { homesOf, type Settings } from "../common/settings.ts";
import { parseProviders } from "../codecs/types.ts";

/** Where variables are looked up: the process environment, unless a test passes its own (a lookup or a record). */
export type Env = ((name: string) => string | undefined) | Readonly<Record<string, string | undefined>>;

const processEnv: Env = (name) => Deno.env.get(name);

/** A variable's value, or undefined when unset or empty. */
function value(env: Env, name: string): string | undefined {
  const v = typeof env === "function" ? env(name) : env[name];
  return v === undefined || v === "" ? undefined : v;
}

/**
 * Every setting, read from `env` (default: the process environment) once. `shared`: the `../shared` folder
 * beside the checkout (default: found by `sharedDir`; tests pass their own, or null for none).
 */
export function settingsFromEnv(
  env: Env = processEnv,
  shared: string | null = sharedDir() ?? null,
): Settings {
  const models = value(env, "NAC_SAE_MODELS"), data = value(env, "NAC_SAE_DATA");
  const providers = value(env, "NAC_SAE_ONNX_PROVIDERS");
  return {
    cacheDir: cacheDirFromEnv(env),
    ...(models ? { modelsHome: models } : {}),
    ...(data ? { dataHome: data } : {}),
    ...(shared ? { sharedRoot: shared } : {}),
    hfHubCache: hfHubCacheFromEnv(env),
    threads: threadsFromEnv(env),
    ...(providers ? { onnxProviders: parseProviders(providers, "NAC_SAE_ONNX_PROVIDERS") } : {}),
    debug: value(env, "NAC_SAE_DEBUG") !== undefined,
  };
}

function homeOf(env: Env): string {
  return value(env, "HOME") ?? value(env, "USERPROFILE") ?? ".";
}

/** The project cache: NAC_SAE_CACHE, else `$XDG_CACHE_HOME/nac-sae`, else `~/.cache/nac-sae`. */
export function cacheDirFromEnv(env: Env = processEnv): string {
  const dir = value(env, "NAC_SAE_CACHE");
  if (dir) return resolve(dir);
  const xdg = value(env, "XDG_CACHE_HOME");
  return xdg ? join(xdg, "nac-sae") : join(homeOf(env), ".cache", "nac-sae");
}

/** The Hugging Face hub cache: HF_HUB_CACHE, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
export function hfHubCacheFromEnv(env: Env = processEnv): string {
  const dir = value(env, "HF_HUB_CACHE");
  if (dir) return dir;
  const home = value(env, "HF_HOME");
  return home ? join(home, "hub") : join(value(env, "HOME") ?? ".", ".cache", "huggingface", "hub");
}

/** SAE compute threads: NAC_SAE_THREADS (checked against LIMITS.threads), else undefined (the default). */
export function threadsFromEnv(env: Env = processEnv): number | undefined {
  const text = value(env, "NAC_SAE_THREADS");
  if (text === undefined) return undefined;
  const n = Number(text.trim());
  if (text.trim() === "" || numberProblem(n, LIMITS.threads) !== undefined) {
    throw new Error(`NAC_SAE_THREADS must be ${rangeText(LIMITS.threads)}, got '${text}'`);
  }
  return n;
}

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

/**
 * The first folder of codec weights the rule would search (NAC_SAE_MODELS, else ../shared/models), for tools
 * that take one folder (benchmarks); undefined: the cache and downloads only.
 */
export function modelsDirFromEnv(env: Env = processEnv): string | undefined {
  return homesOf(settingsFromEnv(env), "models")[0];
}

/** The results directory notebooks read: `NAC_SAE_RESULTS`, else `results/demo`; relative to the project root. */
export function resultsDirFromEnv(env: Env = processEnv): string {
  const dir = value(env, "NAC_SAE_RESULTS") ?? "results/demo";
  return isAbsolute(dir) ? dir : resolve(projectRoot(), dir);
}
