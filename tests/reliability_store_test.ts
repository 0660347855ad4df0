/**
 * Reliability: the feature store never reuses stale work. Rows are keyed by the audio's content (sha256 of the
 * file bytes, kept in the index) plus the store's settings, which never include machine parallelism.
 */
import { assertEquals, assertNotEquals, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { extractFeatures } from "../lib/extract/mod.ts";
import { fsddCopies, MODELS, withTempDir } from "./bad_inputs/mod.ts";
import { HAS_SPEECH } from "./bad_inputs/mod.ts";
import { skipWithout } from "./tools.ts";
const NO_SPEECH = skipWithout(import.meta.url, "../shared data (FSDD, Lyra weights)", !HAS_SPEECH);

const CODEC = "lyra-3.2kbps";

async function manifest(dir: string, files: string[]): Promise<string> {
  const lines = ["utterance_id,path,dataset,speaker_id,accent_narrow,accent_broad,split"];
  files.forEach((f, i) => lines.push(`u${i},${f},tiny,s${i},North America,North America,train`));
  const p = join(dir, "manifest.csv");
  await Deno.writeTextFile(p, lines.join("\n") + "\n");
  return p;
}

Deno.test("reliability/stale features: a file replaced at the same path is re-encoded and reported", {
  ignore: NO_SPEECH,
}, async () => {
  await withTempDir(async (dir) => {
    const files = await fsddCopies(join(dir, "audio"), [["0_jackson_0.wav", "a.wav"], [
      "1_jackson_1.wav",
      "b.wav",
    ]]);
    const common = {
      manifestPath: await manifest(dir, files),
      codecId: CODEC,
      storeDir: join(dir, "store"),
      modelsDir: MODELS,
      offline: true,
      quiet: true,
      workers: 1,
    };
    const first = await extractFeatures(common);
    assertEquals([first.summary.computed, first.summary.reencoded], [2, 0]);
    const index = await Deno.readTextFile(join(dir, "store", "index.csv"));
    assertStringIncludes(index.split("\n")[0], "sha256");

    // Same path, new bytes (another recording): the old row must not be reused.
    await Deno.copyFile(files[1], files[0]);
    const second = await extractFeatures(common);
    assertEquals([second.summary.cached, second.summary.computed, second.summary.reencoded], [1, 1, 1]);
    const d = second.u.cols;
    assertNotEquals(Array.from(second.u.data.subarray(0, d)), Array.from(first.u.data.subarray(0, d)));
    // Now a.wav holds b.wav's bytes: their u rows are equal, bit for bit.
    assertEquals(Array.from(second.u.data.subarray(0, d)), Array.from(second.u.data.subarray(d, 2 * d)));

    // Unchanged files: everything cached, nothing re-encoded.
    const third = await extractFeatures(common);
    assertEquals([third.summary.cached, third.summary.computed, third.summary.reencoded], [2, 0, 0]);

    // The cache key holds the content and settings, never machine parallelism (workers, threads).
    const settings = JSON.parse(await Deno.readTextFile(join(dir, "store", "settings.json")));
    assertEquals(Object.keys(settings).sort(), ["codecId", "dCodec", "maxSeconds"]);
    const two = await extractFeatures({ ...common, workers: 2 });
    assertEquals([two.summary.cached, two.summary.computed], [2, 0]);
  });
});
