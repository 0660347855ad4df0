import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "node:path";
import { readMatrix, writeMatrix } from "../lib/common/matrix.ts";
import { parseSafetensors, readSafetensors } from "../lib/formats/safetensors.ts";
import { encodeSafetensors } from "../lib/formats/safetensors.ts";
import { saeConfig } from "../lib/sae/config.ts";
import { geometricMedian } from "../lib/sae/model.ts";
import { loadCheckpoint, saveCheckpoint, transpose } from "../lib/sae/checkpoint.ts";
import { encodeSae, evaluate } from "../lib/sae/evaluate.ts";
import { trainSae } from "../lib/sae/train.ts";
import { main } from "../lib/cli/main.ts";
import { plantedData } from "../testdata/sae_data.ts";

const X = plantedData(700, 24, 5);
const cfg = saeConfig(4, 0.25, 24, { epochs: 6, batchSize: 128, seed: 11, lr: 1e-3 }); // d_z 96, k 6

function same(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

Deno.test("safetensors: round trip of tensors and metadata, 8-byte aligned, clear errors", () => {
  const bytes = encodeSafetensors({
    a: { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    b: { shape: [2], data: BigInt64Array.from([7n, -8n]) },
  }, { config: '{"x":1}' });
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals((8 + headerLen) % 8, 0);
  const f = parseSafetensors(bytes);
  assertEquals(f.metadata, { config: '{"x":1}' });
  assertEquals(f.tensors.a.shape, [2, 3]);
  assertEquals(Array.from(f.tensors.a.data as Float32Array), [1, 2, 3, 4, 5, 6]);
  assertEquals(Array.from(f.tensors.b.data as BigInt64Array), [7n, -8n]);
  assertThrows(() => parseSafetensors(bytes.subarray(0, 20), "x.safetensors"), Error, "x.safetensors");
});

Deno.test("sae init: Weiszfeld geometric median ignores an outlier the mean follows", () => {
  const pts = { rows: 5, cols: 1, data: Float32Array.from([0, 1, 2, 3, 1000]) };
  const med = geometricMedian(pts, [0, 1, 2, 3, 4]);
  assertAlmostEquals(med[0], 2, 1e-3);
});

Deno.test("sae train: seeded runs are bit-for-bit reproducible; training lowers the loss; unit decoder columns", async () => {
  const a = await trainSae(X, cfg, { quiet: true });
  const b = await trainSae(X, cfg, { quiet: true });
  assert(
    same(a.model.wEnc, b.model.wEnc) && same(a.model.wDecT, b.model.wDecT) &&
      same(a.model.bPre, b.model.bPre),
  );
  assertEquals(
    a.history,
    b.history.map((r, i) => ({ ...r, seconds: a.history[i].seconds, samplesPerS: a.history[i].samplesPerS })),
  );
  assert(a.history[5].trainLoss < a.history[0].trainLoss, "loss did not decrease");
  for (let j = 0; j < cfg.dZ; j++) {
    let ss = 0;
    for (let i = 0; i < cfg.dIn; i++) ss += a.model.wDecT[j * cfg.dIn + i] ** 2;
    assertAlmostEquals(ss, 1, 1e-5);
  }
  const c = await trainSae(X, { ...cfg, seed: 12 }, { quiet: true });
  assert(!same(a.model.wEnc, c.model.wEnc), "a different seed gave the same model");
});

Deno.test("sae train: resuming from a checkpoint equals the uninterrupted run; loaded checkpoint encodes identically", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sae_resume_" });
  try {
    const variants = [
      { ...cfg, engine: "sparse" as const },
      { ...cfg, engine: "dense" as const },
      // AuxK's dead-latent window is training state too (saved beside the Adam moments).
      { ...cfg, engine: "sparse" as const, auxK: { kAux: 8, coef: 1 / 32, deadSamples: 200 } },
    ];
    for (const c of variants) {
      const engine = c.auxK ? "auxk" : c.engine;
      const full = await trainSae(X, c, { quiet: true });
      const half = await trainSae(X, { ...c, epochs: 3 }, { quiet: true });
      await saveCheckpoint(join(dir, engine), half);
      const loaded = await loadCheckpoint(join(dir, engine));
      assertEquals(loaded.optimizer.step, half.optimizer.step);
      const resumed = await trainSae(X, c, { quiet: true, resume: loaded });
      assert(same(full.model.wEnc, resumed.model.wEnc), `${engine}: W_enc differs after resume`);
      assert(same(full.model.wDecT, resumed.model.wDecT), `${engine}: W_dec differs after resume`);
      assert(same(full.model.bPre, resumed.model.bPre), `${engine}: b_pre differs after resume`);
      assertEquals(resumed.history.map((r) => r.trainLoss), full.history.map((r) => r.trainLoss));
      if (c.auxK) {
        assert(full.history.every((r) => r.auxLoss !== undefined && r.auxLoss > 0), "AuxK loss not recorded");
        assert(loaded.deadStats !== undefined, "AuxK dead-latent window not checkpointed");
      }

      await saveCheckpoint(join(dir, "final"), full);
      const back = await loadCheckpoint(join(dir, "final"));
      const z1 = await encodeSae(full.model, X), z2 = await encodeSae(back.model, X);
      assert(same(z1.data, z2.data), "loaded checkpoint encodes differently");
    }
    // The stored layout is the contract's: W_enc d_z × d, W_dec d × d_z, b_pre d, metadata JSON strings.
    const f = await readSafetensors(join(dir, "final", "model.safetensors"));
    assertEquals(f.tensors.W_enc.shape, [cfg.dZ, cfg.dIn]);
    assertEquals(f.tensors.W_dec.shape, [cfg.dIn, cfg.dZ]);
    assertEquals(f.tensors.b_pre.shape, [cfg.dIn]);
    assertEquals(JSON.parse(f.metadata.config).k, cfg.k);
    assertEquals(JSON.parse(f.metadata.metrics).epoch, cfg.epochs);
    // Metadata JSON keys are snake_case, like every other JSON the toolkit writes.
    const meta = JSON.parse(f.metadata.config);
    assertEquals([meta.d_in, meta.d_z, meta.batch_size, meta.adam_eps], [
      cfg.dIn,
      cfg.dZ,
      cfg.batchSize,
      cfg.adamEps,
    ]);
    assert(!("dZ" in meta), "camelCase key in checkpoint metadata");
    assert(
      "train_loss" in JSON.parse(f.metadata.metrics) && "samples_per_s" in JSON.parse(f.metadata.history)[0],
    );
    assertEquals(Array.from(transpose(Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 3)), [1, 4, 2, 5, 3, 6]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sae encode/evaluate: z has at most k positive entries per row and metrics agree with z", async () => {
  const r = await trainSae(X, { ...cfg, epochs: 2 }, { quiet: true, val: plantedData(100, 24, 6) });
  assert(r.history.every((h) => h.valLoss !== null && h.valLoss > 0));
  const z = await encodeSae(r.model, X);
  assertEquals([z.rows, z.cols], [X.rows, cfg.dZ]);
  let active = 0;
  for (let i = 0; i < X.rows; i++) {
    let n = 0;
    for (let j = 0; j < cfg.dZ; j++) if (z.data[i * cfg.dZ + j] > 0) n++;
    assert(n <= cfg.k);
    active += n;
  }
  const m = await evaluate(r.model, X);
  assertAlmostEquals(m.l0, active / X.rows, 1e-12);
  assertAlmostEquals(m.explainedVariance, 1 - m.nmse, 1e-12);
});

Deno.test("sae errors: empty input, NaN, wrong dimension, k ≥ d_z", async () => {
  await assertRejects(
    () => trainSae({ rows: 0, cols: 24, data: new Float32Array(0) }, cfg, { quiet: true }),
    Error,
    "no samples",
  );
  const bad = { rows: 2, cols: 24, data: new Float32Array(48) };
  bad.data[30] = NaN;
  await assertRejects(() => trainSae(bad, cfg, { quiet: true }), Error, "row 1, column 6");
  await assertRejects(() => trainSae(plantedData(10, 8, 1), cfg, { quiet: true }), Error, "dimension 8");
  assertThrows(() => saeConfig(1, 1, 24), Error, "k = 24 must be smaller than d_z = 24");
});

Deno.test("sae CLI: train → encode round trip, JSON summary, and clear errors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sae_cli_" });
  const orig = console.log;
  const lines: string[] = [];
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  const origErr = console.error;
  const errs: string[] = [];
  console.error = (...a: unknown[]) => errs.push(a.join(" "));
  try {
    const xp = join(dir, "X.npy"), vp = join(dir, "V.npy");
    await writeMatrix(xp, X);
    await writeMatrix(vp, plantedData(50, 24, 9));
    const out = join(dir, "ckpt");
    assertEquals(
      await main([
        "sae",
        "train",
        "--features",
        xp,
        "--val",
        vp,
        "--q",
        "4",
        "--s",
        "0.25",
        "--epochs",
        "2",
        "--seed",
        "1",
        "--out",
        out,
        "--json",
      ]),
      0,
    );
    const summary = JSON.parse(lines.at(-1)!);
    for (
      const key of [
        "final_loss",
        "nmse",
        "l0",
        "dead_latents",
        "samples_per_s",
        "seconds",
        "k",
        "d_z",
        "val_loss",
      ]
    ) {
      assert(summary[key] !== undefined && summary[key] !== null, `summary lacks ${key}`);
    }
    assertEquals([summary.k, summary.d_z], [6, 96]);
    assert(errs.some((e) => e.includes("epoch 2/2") && e.includes("samples/s") && e.includes("ETA")));
    const zp = join(dir, "Z.npy");
    assertEquals(
      await main(["sae", "encode", "--checkpoint", out, "--features", xp, "--out", zp, "--json"]),
      0,
    );
    const z = await readMatrix(zp);
    assertEquals([z.rows, z.cols], [700, 96]);

    errs.length = 0;
    await writeMatrix(join(dir, "W.npy"), plantedData(5, 10, 1));
    assertEquals(
      await main(["sae", "encode", "--checkpoint", out, "--features", join(dir, "W.npy"), "--out", zp]),
      1,
    );
    assert(
      errs.some((e) => e.includes("W.npy") && e.includes("dimension 10 does not match")),
      errs.join("\n"),
    );
    errs.length = 0;
    assertEquals(await main(["sae", "train", "--features", xp, "--q", "1", "--s", "1", "--out", out]), 1);
    assert(errs.some((e) => e.includes("must be smaller than d_z")), errs.join("\n"));
    errs.length = 0;
    const nan = plantedData(5, 24, 1);
    nan.data[3] = Infinity;
    await writeMatrix(join(dir, "N.npy"), nan);
    assertEquals(
      await main(["sae", "train", "--features", join(dir, "N.npy"), "--q", "2", "--s", "0.5", "--out", out]),
      1,
    );
    assert(errs.some((e) => e.includes("N.npy") && e.includes("non-finite")), errs.join("\n"));
  } finally {
    console.log = orig;
    console.error = origErr;
    await Deno.remove(dir, { recursive: true });
  }
});
