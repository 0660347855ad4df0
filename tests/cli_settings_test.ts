/**
 * Settings at the edge: lib/cli/settings.ts turns the environment into `Settings` once (defaults, bad values
 * named), the CLI refuses a bad value before any work, the library takes folders only as options (one not given
 * is not searched, and without a cache nothing is downloaded), and no module below lib/cli reads the environment.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import { join, relative, resolve } from "node:path";
import { projectRoot } from "../lib/common/assets.ts";
import { settingsFromEnv } from "../lib/cli/settings.ts";
import { resolveCodecWeights } from "../lib/codecs/nn/weights_resolve.ts";
import { featureStoreDir } from "../lib/extract/mod.ts";
import { datasetsRoot } from "../lib/data/mod.ts";

Deno.test("settingsFromEnv: defaults from HOME alone; empty counts as unset", () => {
  const s = settingsFromEnv(
    { HOME: "/home/u", NAC_SAE_MODELS: "", NAC_SAE_THREADS: "", NAC_SAE_DEBUG: "" },
    null,
  );
  assertEquals(s, {
    cacheDir: "/home/u/.cache/nac-sae",
    hfHubCache: "/home/u/.cache/huggingface/hub",
    threads: undefined,
    debug: false,
  });
  assertEquals(settingsFromEnv({ XDG_CACHE_HOME: "/x", HF_HOME: "/hf" }).cacheDir, "/x/nac-sae");
  assertEquals(settingsFromEnv({ HF_HOME: "/hf" }).hfHubCache, "/hf/hub");
});

Deno.test("settingsFromEnv: every variable maps to its setting", () => {
  const s = settingsFromEnv({
    HOME: "/home/u",
    XDG_CACHE_HOME: "/x",
    NAC_SAE_CACHE: "rel/cache",
    NAC_SAE_MODELS: "/m",
    NAC_SAE_DATA: "/d",
    HF_HOME: "/hf",
    HF_HUB_CACHE: "/hub",
    NAC_SAE_THREADS: "4",
    NAC_SAE_ONNX_PROVIDERS: "CUDA, cpu",
    NAC_SAE_DEBUG: "1",
  }, "/shared");
  assertEquals(s, {
    cacheDir: resolve("rel/cache"),
    modelsHome: "/m",
    dataHome: "/d",
    sharedRoot: "/shared",
    hfHubCache: "/hub",
    threads: 4,
    onnxProviders: ["cuda", "cpu"],
    debug: true,
  });
});

Deno.test("settingsFromEnv: a bad value is an error naming the variable", () => {
  for (const bad of ["two", "0", "1.5", "-3", "300", " "]) {
    const e = assertThrows(() => settingsFromEnv({ HOME: "/h", NAC_SAE_THREADS: bad }));
    assertStringIncludes((e as Error).message, "NAC_SAE_THREADS must be an integer in 1..256");
  }
  const e = assertThrows(() => settingsFromEnv({ HOME: "/h", NAC_SAE_ONNX_PROVIDERS: "cuda,tpu" }));
  assertStringIncludes(
    (e as Error).message,
    "NAC_SAE_ONNX_PROVIDERS: unknown onnxruntime execution provider 'tpu'",
  );
});

Deno.test("CLI: a bad NAC_SAE_THREADS stops the command before any work (exit 2, JSON error naming it)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      join(projectRoot(), "lib/cli/main.ts"),
      "probe",
      "--json",
    ],
    env: { NAC_SAE_THREADS: "two" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 2);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  const { error } = JSON.parse(lines[lines.length - 1]);
  assertEquals(error.kind, "usage");
  assertStringIncludes(error.message, "NAC_SAE_THREADS");
});

Deno.test("library: folders come only as options; none given → nothing searched, nothing downloaded", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "nac-sae-settings-" });
  try {
    const spec = {
      folder: "tiny_codec",
      layouts: [{ kind: "ours" as const, files: ["weights.bin"] }],
      official: {
        kind: "ours" as const,
        files: [{ path: "weights.bin", url: "http://127.0.0.1:9/weights.bin" }],
      },
    };
    // Without a cache folder: a clear error before any download is tried.
    await assertRejects(() => resolveCodecWeights(spec, { quiet: true }), Error, "no cache folder given");
    const offline = await assertRejects(() => resolveCodecWeights(spec, { offline: true }));
    assertStringIncludes((offline as Error).message, "searched nothing");
    // The models home (NAC_SAE_MODELS at the edge) is searched when given, and only then.
    await Deno.mkdir(join(tmp, "home", "tiny_codec"), { recursive: true });
    await Deno.writeFile(join(tmp, "home", "tiny_codec", "weights.bin"), new Uint8Array([1]));
    const found = await resolveCodecWeights(spec, { modelsHome: join(tmp, "home"), offline: true });
    assertEquals(found.dir, join(tmp, "home", "tiny_codec"));
    // Default output folders live in the cache folder given; without one they are an error, not a guess.
    assertEquals(
      featureStoreDir("fsdd", "lyra-6kbps", { cacheDir: tmp }),
      join(tmp, "features", "fsdd", "lyra-6kbps"),
    );
    assertEquals(datasetsRoot({ cacheDir: tmp }), join(tmp, "datasets"));
    assertThrows(() => featureStoreDir("fsdd", "lyra-6kbps", {}), Error, "no cache folder given");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("no module below lib/cli reads the environment", async () => {
  const lib = join(projectRoot(), "lib");
  const readers: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else if (/\.(ts|js)$/.test(e.name) && /Deno\.env\b|process\.env\b/.test(await Deno.readTextFile(p))) {
        readers.push(relative(lib, p));
      }
    }
  };
  await walk(lib);
  assert(
    readers.every((p) => p.startsWith("cli/")),
    `environment read outside lib/cli: ${readers.join(", ")}`,
  );
  assertEquals(readers.sort(), ["cli/main.ts", "cli/settings.ts"]);
});
