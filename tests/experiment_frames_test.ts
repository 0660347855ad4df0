/**
 * Frame-level SAEs (run config saeInput "frames"): the pooling definitions against a plain computation, the
 * seeded per-recording frame subsample, the planner's resolution (the utterance-level default unchanged), the
 * feature store's frames layout (written beside u in the same pass, u bit-identical, readable as documented),
 * and a tiny real grid on FSDD giving rows with sae_input "frames", identical at 1 and 2 workers.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "node:path";
import pl from "nodejs-polars";
import { sharedDir } from "../lib/cli/settings.ts";
import { broadOf } from "../lib/data/taxonomy.ts";
import { readMatrix } from "../lib/common/matrix.ts";
import { Rng } from "../lib/common/random.ts";
import { cellKeyInput, saeCacheKey } from "../lib/experiment/cache.ts";
import { frameSample, sampledFrames } from "../lib/experiment/cell_frames.ts";
import { validateConfig } from "../lib/experiment/config.ts";
import { frameCodecs, planCells } from "../lib/experiment/plan.ts";
import { runGrid } from "../lib/experiment/run.ts";
import { extractFeatures, loadFeatureSet, meanOverTime } from "../lib/extract/mod.ts";
import { frameFileName, writeFrames } from "../lib/extract/frames.ts";
import { poolFrameCodes } from "../lib/sae/frame_pooling.ts";
import { resultsWithoutTimings } from "./grid_fixture.ts";
import { skipWithout } from "./tools.ts";

const shared = sharedDir();

Deno.test("frame pooling: z = mean code, z_pos = firing rate, z_mag = mean magnitude when firing", () => {
  const rng = new Rng(7);
  const t = 37, dZ = 11;
  // Sparse non-negative codes (TopK-ReLU codes); latent 4 never fires.
  const data = Float32Array.from(
    { length: t * dZ },
    (_, i) => (i % dZ !== 4 && rng.nextU32() % 3 === 0 ? rng.nextU32() / 2 ** 32 : 0),
  );
  const p = poolFrameCodes({ rows: t, cols: dZ, data });
  for (let j = 0; j < dZ; j++) {
    const col = Array.from({ length: t }, (_, r) => data[r * dZ + j]);
    const firing = col.filter((v) => v > 0);
    assertEquals(p.z[j], Math.fround(col.reduce((a, b) => a + b, 0) / t));
    assertEquals(p.zPos[j], Math.fround(firing.length / t));
    assertEquals(
      p.zMag[j],
      firing.length ? Math.fround(firing.reduce((a, b) => a + b, 0) / firing.length) : 0,
    );
  }
  assertEquals(p.zMag[4], 0); // a latent that never fires
  assertThrows(() => poolFrameCodes({ rows: 0, cols: dZ, data: new Float32Array() }), Error, "no frames");
});

Deno.test("frame sample: an offset takes the next frames of the same permutation (monitor and held-out disjoint)", () => {
  const file = "0123456789abcdef.npy";
  const monitor = frameSample(100, 10, 1, file), heldout = frameSample(100, 30, 1, file, 10);
  assertEquals(monitor.length + heldout.length, 40);
  assertEquals([...monitor].filter((t) => heldout.includes(t)), []);
  const all = [...frameSample(100, 40, 1, file)];
  assertEquals([...monitor, ...heldout].sort((x, y) => x - y), all);
  // Fewer frames than the offset: nothing left to hold out from that recording.
  assertEquals([...frameSample(5, 10, 1, file, 10)], []);
});

Deno.test("frame sample: at most cap frames, ascending, seeded by the cell's seed and the recording", () => {
  assertEquals([...frameSample(5, 8, 1, "0123456789abcdef.npy")], [0, 1, 2, 3, 4]);
  const a = frameSample(100, 10, 1, "0123456789abcdef.npy");
  assertEquals(a.length, 10);
  assert(a.every((v, i) => i === 0 || v > a[i - 1]));
  assertEquals(frameSample(100, 10, 1, "0123456789abcdef.npy"), a);
  assert(JSON.stringify(frameSample(100, 10, 2, "0123456789abcdef.npy")) !== JSON.stringify(a));
  assert(JSON.stringify(frameSample(100, 10, 1, "fedcba9876543210.npy")) !== JSON.stringify(a));
});

Deno.test("frame sample: a split's sampled frames stack the chosen rows of each recording, nothing more", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nac-sae-frames-" });
  const d = 3, files: string[] = [];
  for (const [i, t] of [4, 9].entries()) {
    const path = join(dir, await frameFileName(`utt${i}`, `sha${i}`));
    const data = Float32Array.from({ length: t * d }, (_, k) => 100 * i + k);
    await writeFrames(path, { rows: t, cols: d, data });
    files.push(path);
  }
  const m = await sampledFrames(files, d, 5, 3);
  assertEquals(m.rows, 4 + 5);
  assertEquals([...m.data.subarray(0, 12)], Array.from({ length: 12 }, (_, k) => k));
  const picked = frameSample(9, 5, 3, files[1]);
  assertEquals([...m.data.subarray(12, 15)], [0, 1, 2].map((c) => 100 + picked[0] * d + c));
  await assertRejects(() => sampledFrames(files, 4, 5, 3), Error, "expected T × 4");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("plan: saeInput defaults to the utterance level (keys unchanged); frames resolve their sampling", () => {
  const base = {
    datasets: [{ name: "d", manifest: "m.csv" }],
    codecs: ["c"],
    tasks: ["us-vs-uk"],
    grid: { q: [2], s: [0.5] },
    outDir: "out",
  };
  const facts = { supportedTasks: { d: ["us-vs-uk"] }, dCodec: { c: 64 } };
  const [utt] = planCells(validateConfig(base), facts);
  assertEquals(utt.saeInput, "utterance");
  assert(!("framesPerRecording" in utt) && !("monitorFrames" in utt));
  const keyFields = Object.keys(cellKeyInput("v", "h", utt).cell as object);
  assertEquals(keyFields.includes("framesPerRecording") || keyFields.includes("monitorFrames"), false);
  const [fr] = planCells(validateConfig({ ...base, saeInput: "frames" }), facts);
  assertEquals([fr.saeInput, fr.framesPerRecording, fr.monitorFrames, fr.dIn], ["frames", 200, 4096, 64]);
  const [fr50] = planCells(
    validateConfig({ ...base, saeInput: "frames", frames: { perRecording: 50, monitorFrames: 512 } }),
    facts,
  );
  assertEquals([fr50.framesPerRecording, fr50.monitorFrames], [50, 512]);
  assertThrows(
    () => validateConfig({ ...base, saeInput: "frames", pooling: "mean+std" }),
    Error,
    'needs pooling "mean"',
  );
  assertThrows(() => validateConfig({ ...base, saeInput: "frame" }), Error, "saeInput");
});

Deno.test("plan: saeInput as a list runs both; frame-level cells only on frames.codecs × frames.seeds", () => {
  const base = {
    datasets: [{ name: "d", manifest: "m.csv" }],
    codecs: ["a", "b"],
    tasks: ["us-vs-uk", "us-vs-non-us-uk"],
    grid: { q: [2, 20], s: [0.5] },
    seeds: [0, 1, 2],
    outDir: "out",
  };
  const facts = { supportedTasks: { d: ["us-vs-uk", "us-vs-non-us-uk"] }, dCodec: { a: 64, b: 32 } };
  const cells = planCells(
    validateConfig({ ...base, saeInput: ["utterance", "frames"], frames: { codecs: ["b"], seeds: [0] } }),
    facts,
  );
  const utt = cells.filter((c) => c.saeInput === "utterance"),
    fr = cells.filter((c) => c.saeInput === "frames");
  assertEquals(utt.length, 2 * 2 * 2 * 3);
  assertEquals(fr.length, 2 * 2 * 1);
  assert(fr.every((c) => c.codec === "b" && c.seed === 0));
  assertEquals(frameCodecs(validateConfig({ ...base, saeInput: "frames", frames: { codecs: ["b"] } })), [
    "b",
  ]);
  assertEquals(frameCodecs(validateConfig(base)), []);
  assertThrows(
    () => validateConfig({ ...base, saeInput: "frames", frames: { codecs: ["c"] } }),
    Error,
    'frames.codecs: "c" is not one of the run\'s codecs',
  );
  assertThrows(
    () => validateConfig({ ...base, saeInput: "frames", frames: { seeds: [7] } }),
    Error,
    "frames.seeds: 7 is not one of the run's seeds",
  );
  assertThrows(
    () => validateConfig({ ...base, frames: { seeds: [0] } }),
    Error,
    'saeInput does not include "frames"',
  );
});

Deno.test("frame SAE key: the same for every task and probe setting, changed by the SAE's settings or frames", async () => {
  const base = {
    datasets: [{ name: "d", manifest: "m.csv" }],
    codecs: ["c"],
    tasks: ["us-vs-uk", "us-vs-non-us-uk"],
    grid: { q: [2], s: [0.5] },
    saeInput: "frames",
    outDir: "out",
  };
  const facts = { supportedTasks: { d: ["us-vs-uk", "us-vs-non-us-uk"] }, dCodec: { c: 64 } };
  const [a, b] = planCells(validateConfig(base), facts);
  assert(a.task !== b.task);
  assertEquals(await saeCacheKey("v", "f", a), await saeCacheKey("v", "f", b));
  const [c] = planCells(validateConfig({ ...base, probe: { C: 0.5 }, features: ["z"] }), facts);
  assertEquals(await saeCacheKey("v", "f", c), await saeCacheKey("v", "f", a));
  const [d] = planCells(validateConfig({ ...base, frames: { perRecording: 10 } }), facts);
  assert((await saeCacheKey("v", "f", d)) !== (await saeCacheKey("v", "f", a)));
  assert((await saeCacheKey("v", "g", a)) !== (await saeCacheKey("v", "f", a)));
  assert((await saeCacheKey("w", "f", a)) !== (await saeCacheKey("v", "f", a)));
});

/**
 * A manifest of FSDD recordings: `digits` per speaker, two speakers per split; `full`: every manifest column
 * (for extraction alone), else the user-CSV columns a run prepares.
 */
async function fsddManifest(dir: string, digits: number, full = false): Promise<string> {
  const speakers: Record<string, [string, string]> = {
    nicolas: ["Romance", "train"],
    george: ["Other", "train"],
    jackson: ["North America", "validation"],
    lucas: ["Germanic", "validation"],
    theo: ["North America", "test"],
    yweweler: ["Germanic", "test"],
  };
  const lines = [`${full ? "utterance_id,dataset,accent_broad," : ""}path,speaker_id,accent_narrow,split`];
  for (const [speaker, [accent, split]] of Object.entries(speakers)) {
    for (let digit = 0; digit < digits; digit++) {
      const id = full ? `${speaker}_${digit},fsdd,${broadOf(accent)},` : "";
      lines.push(
        `${id}${shared}/data/fsdd/recordings/${digit}_${speaker}_${digit}.wav,${speaker},${accent},${split}`,
      );
    }
  }
  const manifest = join(dir, "manifest.csv");
  await Deno.writeTextFile(manifest, lines.join("\n") + "\n");
  return manifest;
}

Deno.test({
  name:
    "feature store: frames kept on request in the documented layout; rows without frames re-encoded, u unchanged",
  ignore: skipWithout(import.meta.url, "../shared data", !shared),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-frames-store-" });
    const manifestPath = await fsddManifest(dir, 2, true);
    const opts = {
      manifestPath,
      codecId: "lyra-3.2kbps",
      storeDir: join(dir, "store"),
      modelsDir: `${shared}/models`,
      cacheDir: join(dir, "cache"),
      workers: 2,
      quiet: true,
    };
    const plain = await extractFeatures(opts);
    assertEquals(plain.frameFiles, undefined);
    const withFrames = await extractFeatures({ ...opts, keepFrames: true });
    assertEquals(withFrames.summary.computed, 0); // stored rows re-encoded only for their frames
    assertEquals(withFrames.ids, plain.ids);
    assertEquals(withFrames.u.data, plain.u.data); // u bit-identical
    // The documented layout: frames/index.csv (utterance_id, file, frames), one T × d float32 .npy each.
    const index = pl.readCSV(await Deno.readTextFile(join(dir, "store", "frames", "index.csv")));
    assertEquals(index.columns, ["utterance_id", "file", "frames"]);
    assertEquals(index.getColumn("utterance_id").toArray(), plain.ids);
    for (const [i, r] of index.toRecords().entries()) {
      assert(/^[0-9a-f]{16}\.npy$/.test(String(r.file)));
      const e = await readMatrix(join(dir, "store", "frames", String(r.file)));
      assertEquals([e.rows, e.cols], [Number(r.frames), plain.u.cols]);
      // u is the mean of exactly these frames.
      assertEquals(meanOverTime(e), plain.u.data.slice(i * e.cols, (i + 1) * e.cols));
    }
    assertEquals(withFrames.frameFiles!.length, plain.ids.length);
    // A store that keeps frames from its first extraction holds the same u, and reads back with its frames.
    const fresh = await extractFeatures({ ...opts, storeDir: join(dir, "fresh"), keepFrames: true });
    assertEquals(fresh.summary.computed, plain.ids.length);
    assertEquals(fresh.u.data, plain.u.data);
    const loaded = await loadFeatureSet(join(dir, "fresh"));
    assertEquals(loaded.frameFiles, fresh.frameFiles);
    assertEquals((await loadFeatureSet(join(dir, "store"))).frameFiles?.length, plain.ids.length);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name:
    "grid: frame-level cells share one SAE across tasks (sae_key), finite F1, identical at 1 and 2 workers",
  ignore: skipWithout(import.meta.url, "../shared data", !shared),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-frames-grid-" });
    const manifest = await fsddManifest(dir, 6);
    // A second task over the same recordings (a column task), so the two tasks' cells can share SAEs.
    const other = {
      name: "other-vs-na",
      column: "accent_broad",
      positive: broadOf("Germanic"),
      negative: broadOf("North America"),
    };
    const run = async (name: string, workers: number) => {
      const config = validateConfig(
        {
          name,
          datasets: [{ name: manifest }],
          codecs: ["lyra-3.2kbps"],
          tasks: ["us-vs-non-us-uk", other],
          grid: { q: [2], s: [0.25, 0.1] },
          epochs: { convergent: { maxSteps: 300, window: 50 } },
          sae: { batchSize: 64 },
          saeInput: "frames",
          frames: { perRecording: 20, monitorFrames: 40 },
          outDir: join(dir, name),
          featureDir: join(dir, "features"),
          modelsDir: `${shared}/models`,
          workers,
          bootstrap: 20,
          probe: { permutations: 0 },
        },
        name,
        dir,
      );
      const summary = await runGrid(config, { cacheDir: join(dir, "cache"), quiet: true });
      assertEquals(summary.cells.computed, 4);
      // One stored SAE per config, not per task.
      const saes = [...Deno.readDirSync(join(dir, name, "cells"))].filter((e) => e.name.startsWith("sae-"));
      assertEquals(saes.length, 2);
      return await resultsWithoutTimings(join(dir, name));
    };
    const base = await run("w1", 1);
    assertEquals(base.length, 2 + 2 * 2 * 3);
    for (const r of base) {
      assertEquals(r.sae_input, r.feature === "u" ? "utterance" : "frames");
      assert(Number.isFinite(r.f1 as number), JSON.stringify(r));
    }
    const sae = base.filter((r) => r.feature === "z");
    assert(sae.every((r) => (r.explained_variance as number) > 0), "frame-level SAEs did not train");
    // Each config's two tasks: one sae_key and the same fit numbers; the two configs: different keys.
    for (const s of [0.25, 0.1]) {
      const pair = sae.filter((r) => r.s === s);
      assertEquals(pair.map((r) => r.task).sort(), ["other-vs-na", "us-vs-non-us-uk"]);
      assertEquals(pair[0].sae_key, pair[1].sae_key);
      for (const f of ["explained_variance", "ev_heldout", "ev_pca_k_heldout", "sae_steps", "n_sae_train"]) {
        assertEquals(pair[0][f], pair[1][f], f);
      }
    }
    assert(sae[0].sae_key !== sae.find((r) => r.s !== sae[0].s)!.sae_key);
    // Every train recording's frames (2 speakers × 6 digits, ≤ 20 frames each).
    assert((sae[0].n_sae_train as number) > 12 && (sae[0].n_sae_train as number) <= 12 * 20);
    assertEquals(await run("w2", 2), base);
    await Deno.remove(dir, { recursive: true });
  },
});
