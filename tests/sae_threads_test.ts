/**
 * The SAE's arithmetic does not depend on the thread count: one training step and one encoding give
 * bit-identical losses, top-k and gradients with 1, 2, 3 and 4 compute threads, for both engines, across
 * shapes where onnxruntime's GEMM would otherwise change its K blocking with the threads (few rows, K = d_z
 * or d above 128), and for a 1-row batch. The rule behind it is `gemmThreads` (engine.ts).
 */
import { assert, assertEquals } from "@std/assert";
import { saeConfig } from "../lib/sae/config.ts";
import { initModel } from "../lib/sae/model.ts";
import { createEncoder, createEngine } from "../lib/sae/engine.ts";
import { ortVersion, threadRuleVerified } from "../lib/sae/ort_threads.ts";
import { plantedData } from "../testdata/sae_data.ts";

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

const SHAPES = [
  // rows, d, q, s, engine
  { rows: 20, d: 64, q: 5, s: 0.25 }, // dense; the tiny-corpus case that flipped a ΔF1 sign
  { rows: 20, d: 64, q: 5, s: 0.1 }, // sparse
  { rows: 300, d: 64, q: 20, s: 0.5 }, // sparse (k/d_z = 0.025), demo-sized
  { rows: 300, d: 64, q: 2, s: 0.5 }, // dense, demo-sized: rows ≥ d, Gemms split along M
  { rows: 300, d: 160, q: 2, s: 0.5 }, // dense, rows ≥ d > 128
  { rows: 24, d: 160, q: 5, s: 0.5 }, // dense, K = d > 128 on the NoTrans Gemms
  { rows: 24, d: 160, q: 5, s: 0.02 }, // sparse, K = d > 128
  { rows: 1, d: 160, q: 5, s: 0.5 }, // a 1-row batch (MLAS's M = 1 kernel)
  { rows: 40, d: 256, q: 2, s: 0.25 }, // N slice exactly K at 2 threads
  { rows: 24, d: 160, q: 0.75, s: 0.25 }, // d_z = 120 < K = 160: gemmThreads keeps 1 thread
];

Deno.test("sae engine: one step and one encoding are bit-identical with 1, 2, 3 and 4 threads", async () => {
  for (const { rows, d, q, s } of SHAPES) {
    const X = plantedData(Math.max(rows, 8), d, 3);
    const cfg = saeConfig(q, s, d, { epochs: 1, batchSize: 1024, seed: 3, lr: 1e-3 });
    const u = X.data.subarray(0, rows * d);
    let first: Float32Array[] | null = null;
    let firstKind = "";
    for (const threads of [1, 2, 3, 4]) {
      const model = initModel(X, cfg);
      const engine = await createEngine(model, threads);
      const step = await engine.step(u, rows);
      const out = [
        Float32Array.of(step.sse),
        step.vals.slice(),
        Float32Array.from(step.idx),
        engine.grads.wEnc.slice(),
        engine.grads.wDecT.slice(),
        engine.grads.bPre.slice(),
      ];
      await engine.release();
      const enc = await createEncoder(model, threads);
      const e = await enc.encode(u, rows);
      out.push(e.vals.slice(), Float32Array.from(e.idx));
      await enc.release();
      const label = `rows ${rows}, d ${d}, q ${q}, s ${s} (${engine.kind}), ${threads} threads`;
      if (first === null) {
        first = out;
        firstKind = engine.kind;
        continue;
      }
      assertEquals(engine.kind, firstKind);
      const names = [
        "sse",
        "vals",
        "idx",
        "grad W_enc",
        "grad W_dec",
        "grad b_pre",
        "encode vals",
        "encode idx",
      ];
      for (let i = 0; i < out.length; i++) {
        assert(sameBits(first[i], out[i]), `${label}: ${names[i]} differs from 1 thread`);
      }
    }
  }
});

Deno.test("sae engine: the thread rule runs only on a verified onnxruntime; another version falls back to one thread", () => {
  assertEquals(ortVersion(), "1.30.0");
  assertEquals(threadRuleVerified("1.30.0"), true);
  assertEquals(threadRuleVerified("1.31.0"), false);
  assertEquals(threadRuleVerified("unknown"), false);
});
