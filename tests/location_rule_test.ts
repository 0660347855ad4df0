/**
 * The one rule that finds data sets and codec weights (lib/common/settings.ts): explicit folder (flag or config
 * key) → the variable's folder → ../shared beside the checkout → the cache → a download unless offline; and
 * every "not found" names the flag, the config key and the variable that fix it. Temp folders stand in for each.
 */
import { assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { settingsFromEnv } from "../lib/cli/settings.ts";
import { resolveAsset } from "../lib/common/assets.ts";
import { homesOf, howToPoint } from "../lib/common/settings.ts";
import { resolveCodecWeights } from "../lib/codecs/nn/weights_resolve.ts";
import { getCodec } from "../lib/codecs/registry.ts";
import { locateFsdd } from "../lib/data/fsdd.ts";
import { locateSaa } from "../lib/data/saa_source.ts";
import { withFolders } from "../lib/experiment/cli.ts";
import { validateConfig } from "../lib/experiment/config.ts";

/** A folder `<root>/<name>` holding an FSDD-like recordings/ with one WAV (what locateFsdd looks for). */
async function fakeFsdd(root: string): Promise<string> {
  const dir = join(root, "fsdd");
  await Deno.mkdir(join(dir, "recordings"), { recursive: true });
  await Deno.writeFile(join(dir, "recordings", "0_jackson_0.wav"), new Uint8Array([0]));
  return dir;
}

async function withTmp(fn: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "nac-sae-locate-" });
  try {
    await fn(tmp);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

Deno.test("settings: the variables' folders, then ../shared beside the checkout, in that order", () => {
  const s = settingsFromEnv({ HOME: "/h", NAC_SAE_DATA: "/d", NAC_SAE_MODELS: "/m" }, "/shared");
  assertEquals(s.sharedRoot, "/shared");
  assertEquals(homesOf(s, "data"), ["/d", "/shared/data"]);
  assertEquals(homesOf(s, "models"), ["/m", "/shared/models"]);
  // No variables: ../shared alone; no ../shared either: nothing (cache and download only).
  assertEquals(homesOf(settingsFromEnv({ HOME: "/h" }, "/shared"), "data"), ["/shared/data"]);
  assertEquals(homesOf(settingsFromEnv({ HOME: "/h" }, null), "models"), []);
});

Deno.test("data: explicit folder → NAC_SAE_DATA → ../shared/data → cache, first that holds it wins", async () => {
  await withTmp(async (tmp) => {
    const [explicit, home, shared, cache] = ["explicit", "home", "shared", "cache"].map((n) => join(tmp, n));
    const inCache = await fakeFsdd(cache);
    const loc = { dataHome: home, sharedRoot: shared, cacheDir: cache, offline: true, quiet: true };
    assertEquals(await locateFsdd(loc), inCache);
    const inShared = await fakeFsdd(join(shared, "data"));
    assertEquals(await locateFsdd(loc), inShared);
    const inHome = await fakeFsdd(home);
    assertEquals(await locateFsdd(loc), inHome);
    const inExplicit = await fakeFsdd(explicit);
    assertEquals(await locateFsdd({ ...loc, source: explicit }), inExplicit);
    // An explicit folder is never passed over: one without the data set is an error naming flag and config key.
    const e = await assertRejects(() => locateFsdd({ ...loc, source: join(tmp, "empty") }));
    for (const s of ["--data DIR", '"datasets[].source"', "NAC_SAE_DATA", "../shared/data"]) {
      assertStringIncludes((e as Error).message, s);
    }
  });
});

Deno.test("data not found offline: the error names --data, the config key and NAC_SAE_DATA", async () => {
  await withTmp(async (tmp) => {
    const loc = { sharedRoot: join(tmp, "shared"), cacheDir: join(tmp, "cache"), offline: true, quiet: true };
    for (const locate of [locateFsdd, locateSaa]) {
      const e = await assertRejects(() => locate(loc));
      const m = (e as Error).message;
      for (const s of ["--data DIR", '"datasets[].source"', "NAC_SAE_DATA", join(tmp, "shared", "data")]) {
        assertStringIncludes(m, s);
      }
    }
  });
});

Deno.test("weights: --models → NAC_SAE_MODELS → ../shared/models → cache; offline error names all three", async () => {
  await withTmp(async (tmp) => {
    const spec = {
      folder: "tiny_codec",
      layouts: [{ kind: "ours" as const, files: ["weights.bin"] }],
      official: {
        kind: "ours" as const,
        files: [{ path: "weights.bin", url: "http://127.0.0.1:9/weights.bin" }],
      },
    };
    const asset = {
      name: "tiny_codec",
      files: [{ path: "weights.bin", url: "http://127.0.0.1:9/weights.bin" }],
    };
    const put = async (dir: string) => {
      await Deno.mkdir(join(dir, "tiny_codec"), { recursive: true });
      await Deno.writeFile(join(dir, "tiny_codec", "weights.bin"), new Uint8Array([1]));
      return join(dir, "tiny_codec");
    };
    const [explicit, home, shared, cache] = ["explicit", "home", "shared", "cache"].map((n) => join(tmp, n));
    const loc = { modelsHome: home, sharedRoot: shared, cacheDir: cache, offline: true, quiet: true };
    const assetOpts = () => ({ homes: homesOf(loc, "models"), cacheDir: cache, offline: true, quiet: true });
    for (
      const e of [
        await assertRejects(() => resolveCodecWeights(spec, loc)),
        await assertRejects(() => resolveAsset(asset, assetOpts())),
      ]
    ) {
      for (const s of ["--models DIR", '"modelsDir"', "NAC_SAE_MODELS", "tiny_codec/"]) {
        assertStringIncludes((e as Error).message, s);
      }
    }
    for (const [where, dir] of [["cache", cache], ["shared", join(shared, "models")], ["home", home]]) {
      const expected = await put(dir);
      assertEquals((await resolveCodecWeights(spec, loc)).dir, expected, where);
      assertEquals(await resolveAsset(asset, assetOpts()), expected, where);
    }
    const expected = await put(explicit);
    assertEquals((await resolveCodecWeights(spec, { ...loc, modelsDir: explicit })).dir, expected);
    assertEquals(await resolveAsset(asset, { ...assetOpts(), dir: explicit }), expected);
    const missing = await assertRejects(() =>
      resolveCodecWeights(spec, { ...loc, modelsDir: join(tmp, "no") })
    );
    assertStringIncludes((missing as Error).message, '--models DIR or the run config\'s "modelsDir"');
  });
});

Deno.test("grid --data / --models take the place of the config's datasets[].source and modelsDir", () => {
  const config = validateConfig(
    {
      datasets: [{ name: "fsdd", source: "/from-config" }, { name: "mine", manifest: "/m.csv" }],
      codecs: ["lyra-6kbps"],
      outDir: "/out",
      modelsDir: "/models-from-config",
    },
    "test config",
    "/",
  );
  assertEquals(withFolders(config, {}), config);
  const c = withFolders(config, { data: "/d", models: "/m" });
  assertEquals(c.datasets.map((d) => d.source), ["/d", undefined]);
  assertEquals(c.modelsDir, "/m");
  assertStringIncludes(
    howToPoint("models", "x/"),
    'pass --models DIR (run config: "modelsDir") or set NAC_SAE_MODELS',
  );
});

Deno.test("an unknown codec id names where ONNX sidecars are looked for (flag, config key, variable)", async () => {
  const e = await assertRejects(() => getCodec("mycodec-6kbps", { offline: true, quiet: true }));
  for (
    const s of [
      "unknown codec id 'mycodec-6kbps'",
      "lyra-6kbps",
      "--models DIR",
      '"modelsDir"',
      "NAC_SAE_MODELS",
    ]
  ) {
    assertStringIncludes((e as Error).message, s);
  }
});
