/**
 * External test sets: a dataset's testManifest is only ever scored; a speaker or audio file in both the
 * development and the test manifest is refused before any work, naming it.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { encodeWav } from "../lib/audio/wav.ts";
import { manifestRows, readManifest } from "../lib/data/manifest.ts";
import { withExternalTest } from "../lib/experiment/datasets.ts";
import { checkBothClasses } from "../lib/experiment/task_data.ts";

const HEADER = "utterance_id,path,dataset,speaker_id,accent_narrow,accent_broad,split";

async function corpus(dir: string) {
  let f = 0;
  const row = async (id: string, speaker: string, accent: string, broad: string, split: string) => {
    const freq = 0.01 * (++f + 3);
    const tone = new Float32Array(8000).map((_, i) => 0.2 * Math.sin(i * freq));
    const path = join(dir, `${id}.wav`);
    await Deno.writeFile(path, encodeWav([tone], 16000));
    return `${id},${path},ds,${speaker},${accent},${broad},${split}`;
  };
  const dev = [HEADER], test = [HEADER];
  for (const s of ["a", "b", "c", "d"]) {
    dev.push(await row(`${s}1`, s, "North America", "North America", s < "c" ? "train" : "validation"));
    dev.push(await row(`${s}2`, `${s}x`, "English", "British Isles", s < "c" ? "train" : "validation"));
  }
  // The external rows say "validation": they are scored all the same.
  test.push(await row("t1", "t", "North America", "North America", "validation"));
  test.push(await row("u1", "u", "English", "British Isles", "test"));
  const write = async (name: string, lines: string[]) => {
    await Deno.writeTextFile(join(dir, name), lines.join("\n") + "\n");
    return join(dir, name);
  };
  return {
    dev: await write("dev.csv", dev),
    test: await write("test.csv", test),
    write,
    devLines: dev,
    testLines: test,
  };
}

Deno.test("external test: its rows are all scored (split test), the development rows keep their splits", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = await corpus(dir);
    const out = await withExternalTest(
      { path: c.dev, manifest: await readManifest(c.dev) },
      c.test,
      join(dir, "run", "m.csv"),
    );
    const rows = manifestRows(await readManifest(out));
    assertEquals(rows.filter((r) => r.split === "test").map((r) => r.utterance_id).sort(), ["t1", "u1"]);
    assertEquals(rows.length, 10);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("external test: a shared speaker, a shared file, or test rows in the development manifest are refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = await corpus(dir);
    const dev = { path: c.dev, manifest: await readManifest(c.dev) };
    // The same speaker under another recording.
    const speaker = await c.write("t_speaker.csv", [
      ...c.testLines,
      c.testLines[1].replace("t1,", "t9,").replace(",t,", ",a,"),
    ]);
    const e1 = await assertRejects(() => withExternalTest(dev, speaker, join(dir, "o1.csv")));
    assertStringIncludes((e1 as Error).message, "speakers: a");
    // A development file scored again under another id and speaker.
    const file = await c.write("t_file.csv", [
      ...c.testLines,
      c.devLines[1].replace("a1,", "z1,").replace(",a,", ",z,").replace(",train", ",test"),
    ]);
    const e2 = await assertRejects(() => withExternalTest(dev, file, join(dir, "o2.csv")));
    assertStringIncludes((e2 as Error).message, "a1.wav");
    const devWithTest = await c.write("dev_test.csv", [
      ...c.devLines,
      c.devLines[8].replace(",validation", ",test").replace("d2,", "d3,").replace("d2.wav", "d3.wav").replace(
        ",dx,",
        ",dz,",
      ),
    ]);
    await Deno.copyFile(join(dir, "d2.wav"), join(dir, "d3.wav"));
    const withTest = await readManifest(devWithTest, { duplicateAudio: "allow" });
    const e3 = await assertRejects(() =>
      withExternalTest(
        { path: devWithTest, manifest: withTest },
        c.test,
        join(dir, "o3.csv"),
      )
    );
    assert(/split "test"/.test((e3 as Error).message), (e3 as Error).message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("task data: a probe split left with one class after failed recordings is refused, saying how many failed", () => {
  const row = (id: string, label: 0 | 1) => ({ utterance_id: id, path: `/${id}.wav`, speaker_id: id, label });
  const rows = [row("a", 0), row("b", 1), row("c", 0), row("d", 0)];
  // c and d are scored (fold 0); both are class 0.
  const e = (() => {
    try {
      checkBothClasses(rows, Int32Array.from([-1, -1, 0, 0]), { what: "saa/lyra/us-vs-uk", excluded: 2 });
    } catch (e) {
      return e as Error;
    }
  })();
  assert(e, "accepted");
  assertStringIncludes(
    e.message,
    "saa/lyra/us-vs-uk: the scored rows hold 2 of class 0 and 0 of class 1 after 2 recording(s)",
  );
  checkBothClasses([...rows, row("e", 1)], Int32Array.from([-1, -1, 0, 0, 0]), { what: "x", excluded: 0 });
});
