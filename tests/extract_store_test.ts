/**
 * The extraction stage on real speech (FSDD recordings, 8 kHz → Lyra's 16 kHz): the feature store matches
 * per-file encoding, does not depend on the number of workers, resumes after a kill without recomputing
 * what was stored, and reports undecodable files explicitly.
 */
import {
  assert,
  assertEquals,
  assertGreater,
  assertLess,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { join } from "node:path";
import { sharedDir } from "../lib/cli/settings.ts";
import { readMatrix } from "../lib/common/matrix.ts";
import { encodeFile, extractFeatures, extractFeatureSets, loadFeatureSet } from "../lib/extract/mod.ts";
import { lockStore } from "../lib/extract/store.ts";
import { meanOverTime, stdOverTime } from "../lib/extract/pooling.ts";
import { HAS_SPEECH } from "./bad_inputs/mod.ts";
import { skipWithout } from "./tools.ts";

const SHARED = sharedDir() ?? "";
const MODELS = Deno.env.get("NAC_SAE_MODELS") ?? join(SHARED, "models");
const FSDD = join(SHARED, "data", "fsdd", "recordings");
const ROOT = new URL("..", import.meta.url).pathname;
const NO_SPEECH = skipWithout(import.meta.url, "../shared data (FSDD, Lyra weights)", !HAS_SPEECH);
const CODEC = "lyra-3.2kbps";

/** A manifest of `n` FSDD recordings (two speakers) plus, optionally, one file that is not audio. */
async function makeManifest(dir: string, n: number, broken: boolean): Promise<string> {
  const header = "utterance_id,path,dataset,speaker_id,accent_narrow,accent_broad,split";
  const lines = [header];
  for (let i = 0; i < n; i++) {
    const spk = i % 2 === 0 ? "jackson" : "nicolas";
    const f = `${i % 10}_${spk}_${Math.floor(i / 10)}.wav`;
    const acc = spk === "jackson" ? "North America,North America" : "Romance,Other";
    lines.push(`${f.replace(".wav", "")},${join(FSDD, f)},tiny,${spk},${acc},train`);
  }
  if (broken) {
    await Deno.writeTextFile(join(dir, "not_audio.wav"), "this is not a wav file");
    lines.splice(3, 0, "broken_1,not_audio.wav,tiny,jackson,North America,North America,train");
  }
  const p = join(dir, "manifest.csv");
  await Deno.writeTextFile(p, lines.join("\n") + "\n");
  return p;
}

Deno.test("extract: store = per-file encoding, same for 1 and 2 workers; failures listed, never silent", {
  ignore: NO_SPEECH,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const manifest = await makeManifest(dir, 8, true);
    const common = { manifestPath: manifest, codecId: CODEC, modelsDir: MODELS, offline: true, quiet: true };
    const one = await extractFeatures({ ...common, storeDir: join(dir, "w1"), workers: 1 });
    const two = await extractFeatures({ ...common, storeDir: join(dir, "w2"), workers: 2 });
    assertEquals(one.u.rows, 8);
    assertEquals(one.u.cols, 64);
    assertEquals(one.ids, two.ids);
    assertEquals(Array.from(one.u.data), Array.from(two.u.data));
    assertEquals(one.summary.failed, 1);
    assertEquals(one.failures.map((f) => f.utterance_id), ["broken_1"]);
    assertStringIncludes(one.failures[0].reason, "not_audio.wav");
    assertStringIncludes(await Deno.readTextFile(join(dir, "w1", "failures.csv")), "broken_1");
    assertEquals(one.ids[0], "0_jackson_0");

    // Row i of the store = u of that file encoded alone.
    const solo = await encodeFile(join(FSDD, "1_nicolas_0.wav"), CODEC, { modelsDir: MODELS, offline: true });
    const i = one.ids.indexOf("1_nicolas_0");
    assertEquals(Array.from(one.u.data.subarray(i * 64, (i + 1) * 64)), Array.from(solo.u));
    // Beside u (the mean, as always in u.npy) the store keeps the std of ê over time (statistics pooling).
    assertEquals(
      Array.from(one.uStd!.data.subarray(i * 64, (i + 1) * 64)),
      Array.from(stdOverTime(solo.frames)),
    );
    assertEquals(Array.from(one.uStd!.data), Array.from(two.uStd!.data));
    assertEquals(Array.from((await readMatrix(join(dir, "w1", "u.npy"))).data), Array.from(one.u.data));

    // loadFeatureSet reads the same thing back; a second run recomputes nothing.
    const loaded = await loadFeatureSet(join(dir, "w1"));
    assertEquals(loaded.ids, one.ids);
    assertEquals(Array.from(loaded.u.data), Array.from(one.u.data));
    assertEquals(Array.from(loaded.uStd!.data), Array.from(one.uStd!.data));
    assertEquals(loaded.failures.length, 1);
    const again = await extractFeatures({ ...common, storeDir: join(dir, "w1"), workers: 1 });
    assertEquals([again.summary.cached, again.summary.computed], [8, 0]);
    assertEquals(Array.from(again.u.data), Array.from(one.u.data));
    // Other preprocessing settings never mix into an existing store.
    await assertRejects(
      () => extractFeatures({ ...common, storeDir: join(dir, "w1"), workers: 1, maxSeconds: 10 }),
      Error,
      "built with maxSeconds = 30, not 10",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extract: Lyra's three bitrates from one encoder pass equal three separate extractions", {
  ignore: NO_SPEECH,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const manifest = await makeManifest(dir, 4, true);
    const common = { manifestPath: manifest, modelsDir: MODELS, offline: true, quiet: true, workers: 2 };
    const ids = ["lyra-3.2kbps", "lyra-6kbps", "lyra-9.2kbps"];
    const together = await extractFeatureSets({
      ...common,
      codecIds: ids,
      storeDirs: ids.map((id) => join(dir, id)),
    });
    for (const [i, id] of ids.entries()) {
      const alone = await extractFeatures({ ...common, codecId: id, storeDir: join(dir, `alone-${id}`) });
      assertEquals(together[i].codecId, id);
      assertEquals(together[i].ids, alone.ids);
      assertEquals(Array.from(together[i].u.data), Array.from(alone.u.data), id);
      assertEquals(Array.from(together[i].uStd!.data), Array.from(alone.uStd!.data), id);
      assertEquals(together[i].failures.map((f) => f.utterance_id), ["broken_1"]);
      assertEquals([together[i].summary.computed, together[i].summary.failed], [4, 1]);
    }
    // Stored rows are not encoded again; a store that lacks rows gets just those.
    await Deno.remove(join(dir, "lyra-6kbps"), { recursive: true });
    const again = await extractFeatureSets({
      ...common,
      codecIds: ids,
      storeDirs: ids.map((id) => join(dir, id)),
    });
    assertEquals(again.map((s) => s.summary.computed), [0, 4, 0]);
    assertEquals(Array.from(again[1].u.data), Array.from(together[1].u.data));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extract: std over time is the population std per dimension; one frame gives 0", () => {
  const e = { rows: 3, cols: 2, data: Float32Array.from([1, 10, 2, 10, 6, 10]) };
  assertEquals(Array.from(meanOverTime(e)), [3, 10]);
  assertEquals(Array.from(stdOverTime(e)), [Math.fround(Math.sqrt(14 / 3)), 0]);
  assertEquals(Array.from(stdOverTime({ rows: 1, cols: 2, data: Float32Array.from([5, -1]) })), [0, 0]);
});

Deno.test("extract: a store written before the std was kept is completed (rows re-encoded, u unchanged)", {
  ignore: NO_SPEECH,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const manifest = await makeManifest(dir, 4, false);
    const common = { manifestPath: manifest, codecId: CODEC, modelsDir: MODELS, offline: true, quiet: true };
    const store = join(dir, "store");
    const fresh = await extractFeatures({ ...common, storeDir: store, workers: 1 });
    // Turn it into the old layout: shards without .std.npy and no `std` in their meta; no u_std.npy.
    for await (const e of Deno.readDir(join(store, "shards"))) {
      const p = join(store, "shards", e.name);
      if (e.name.endsWith(".std.npy")) await Deno.remove(p);
      else if (e.name.endsWith(".json")) {
        const { std: _std, ...meta } = JSON.parse(await Deno.readTextFile(p));
        await Deno.writeTextFile(p, JSON.stringify(meta));
      }
    }
    await Deno.remove(join(store, "u_std.npy"));
    assertEquals((await loadFeatureSet(store)).uStd, undefined);
    const again = await extractFeatures({ ...common, storeDir: store, workers: 1 });
    assertEquals([again.summary.cached, again.summary.computed], [0, 4]);
    assertEquals(Array.from(again.u.data), Array.from(fresh.u.data));
    assertEquals(Array.from(again.uStd!.data), Array.from(fresh.uStd!.data));
    assertEquals(Array.from((await loadFeatureSet(store)).uStd!.data), Array.from(fresh.uStd!.data));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extract: a killed run resumes where it stopped and recomputes nothing stored", {
  ignore: NO_SPEECH,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const manifest = await makeManifest(dir, 120, false);
    const store = join(dir, "store");
    const args = [
      "run",
      "-A",
      "lib/cli/main.ts",
      "extract",
      "--codec",
      CODEC,
      "--manifest",
      manifest,
      "--store",
      store,
      "--models",
      MODELS,
      "--offline",
      "--workers",
      "2",
      "--flush-every",
      "10",
      "--json",
    ];
    const child = new Deno.Command(Deno.execPath(), { args, cwd: ROOT, stdout: "null", stderr: "piped" })
      .spawn();
    const shards = join(store, "shards");
    const deadline = Date.now() + 60_000;
    const committed = async () => {
      try {
        return (await Array.fromAsync(Deno.readDir(shards))).filter((e) => e.name.endsWith(".json")).length;
      } catch {
        return 0;
      }
    };
    while ((await committed()) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    let exited = false;
    try {
      child.kill("SIGKILL");
    } catch {
      exited = true; // finished (or failed) before the kill: reported below
    }
    const st = await child.status;
    if (exited) throw new Error(`first run ended on its own (code ${st.code}) before it could be killed`);
    await child.stderr.cancel();
    assert((await committed()) >= 3, "the first run committed shards before it was killed");

    const r = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT, stdout: "piped", stderr: "piped" })
      .output();
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    const s = JSON.parse(new TextDecoder().decode(r.stdout).trim().split("\n").at(-1)!);
    assertEquals(s.total, 120);
    assertEquals(s.done, 120);
    assertGreater(s.cached, 10);
    assertLess(s.cached, 120);
    assertEquals(s.cached + s.computed, 120, "nothing stored was recomputed");
    // The resumed store equals one built in a single uninterrupted run.
    const clean = await extractFeatures({
      manifestPath: manifest,
      codecId: CODEC,
      storeDir: join(dir, "clean"),
      modelsDir: MODELS,
      offline: true,
      quiet: true,
      workers: 2,
    });
    const resumed = await readMatrix(join(store, "u.npy"));
    assertEquals(Array.from(resumed.data), Array.from(clean.u.data));
    assertEquals((await loadFeatureSet(store)).ids, clean.ids);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extract: one writer per store; the lock of a killed process is released by the OS", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const unlock = await lockStore(dir, true);
    let second = false;
    const waiting = lockStore(dir, true).then((u) => {
      second = true;
      return u;
    });
    await new Promise((r) => setTimeout(r, 300));
    assert(!second, "a second writer must wait while the first holds the lock");
    await unlock();
    await (await waiting)();
    assert(second);
    // A lock file left by a process killed with SIGKILL holds no lock: the next writer gets it at once.
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const f = Deno.openSync(${JSON.stringify(join(dir, "store.lock"))}, {write: true});
        f.lockSync(true); console.log("locked"); setTimeout(() => {}, 60000);`,
      ],
      stdout: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    await reader.read();
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel();
    const t = performance.now();
    await (await lockStore(dir, true))();
    assertLess(performance.now() - t, 2000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
