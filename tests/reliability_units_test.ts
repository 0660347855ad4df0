/**
 * Reliability kinds checked below the CLI: damaged cached cells, cache keys that follow settings and data,
 * corrupt MP3 streams reported with their position and without the decoder's own stderr lines.
 */
import { assert, assertEquals, assertNotEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { decodeAudio } from "../lib/audio/mod.ts";
import { cellCacheKey, readCachedOutcome } from "../lib/experiment/cache.ts";
import { validateConfig } from "../lib/experiment/config.ts";
import { planCells } from "../lib/experiment/plan.ts";
import { withTempDir } from "./bad_inputs/mod.ts";

const CELL = { k: "number", dZ: "number", nmse: "number", saeSeconds: "number", outcomes: "array" } as const;

Deno.test("reliability/cells: a damaged cached cell ({}, wrong types) → error naming the file and field", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "cell.json");
    const cases: [unknown, string][] = [
      [{}, "'k' must be a number, got nothing"],
      [null, "'(top level)' must be an object, got null"],
      [{ k: 1, dZ: 2, nmse: 0.1, saeSeconds: 1, outcomes: {} }, "'outcomes' must be an array, got {}"],
      [
        { k: 1, dZ: 2, nmse: 0.1, saeSeconds: 1, outcomes: [{ feature: "z", f1: "0.5", predictions: [] }] },
        "'outcomes[0].f1' must be a number",
      ],
    ];
    for (const [value, message] of cases) {
      await Deno.writeTextFile(path, JSON.stringify(value));
      const e = await assertRejects(() => readCachedOutcome(path, CELL));
      assertStringIncludes((e as Error).message, `${path}: damaged cached result: ${message}`);
      assertStringIncludes((e as Error).message, "delete the file to recompute it");
    }
    const good = {
      k: 1,
      dZ: 2,
      nmse: 0.1,
      saeSeconds: 1,
      outcomes: [{ feature: "z", f1: 0.5, predictions: [1] }],
    };
    await Deno.writeTextFile(path, JSON.stringify(good));
    assertEquals(await readCachedOutcome(path, CELL), good);
  });
});

Deno.test("reliability/cells: the cache key is stable and changes with a setting (seed) and with the data", async () => {
  const config = validateConfig({
    datasets: [{ name: "d", manifest: "m.csv" }],
    codecs: ["c"],
    tasks: ["us-vs-uk"],
    grid: { q: [2], s: [0.5] },
    epochs: { fixed: 10 },
    outDir: "out",
  });
  const [spec] = planCells(config, { supportedTasks: { d: ["us-vs-uk"] }, dCodec: { c: 64 } });
  // (Workers and threads cannot enter it: a resolved cell has no such field; experiment_parallelism_test
  // compares the keys of 1- and 2-worker runs.)
  const one = await cellCacheKey("v", "data", spec);
  assertEquals(await cellCacheKey("v", "data", { ...spec }), one);
  assertNotEquals(await cellCacheKey("v", "data", { ...spec, seed: 1 }), one);
  assertNotEquals(await cellCacheKey("v", "other data", spec), one);
});

Deno.test("reliability/audio: a corrupt MP3 stream says where it broke; no decoder lines on stderr", async () => {
  await withTempDir(async (dir) => {
    const mp3 = await Deno.readFile(new URL("./fixtures/audio/tone_1k_440_32k_stereo.mp3", import.meta.url));
    // Damage every frame header after the first few hundred bytes (bitrate index 15: invalid).
    for (let i = 1000; i < mp3.length - 2; i++) {
      if (mp3[i] === 0xff && (mp3[i + 1] & 0xe0) === 0xe0) mp3[i + 2] = 0xff;
    }
    const path = join(dir, "corrupt.mp3");
    await Deno.writeFile(path, mp3);
    const printed: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => printed.push(args.map(String).join(" "));
    let message = "";
    try {
      await decodeAudio(path);
    } catch (e) {
      message = (e as Error).message;
    } finally {
      console.error = original;
    }
    assertStringIncludes(message, `${path}: corrupt MP3 stream`);
    assert(/after \d+ good samples \(\d+\.\d\d s\)/.test(message), message);
    assert(!message.includes("(frame 0)"), message);
    assertEquals(printed, []);
  });
});
