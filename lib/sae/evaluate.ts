/** Forward-only use of a trained SAE: activations z, reconstructions and metrics over a whole matrix. */
import type { Matrix } from "../common/matrix.ts";
import { createEncoder, engineThreads } from "./engine.ts";
import { checkFeatures, type SaeModel } from "./model.ts";
import { MetricsAccumulator, type SaeMetrics, totalSumSquares } from "./metrics.ts";

interface TopKRunner {
  encode(u: Float32Array, rows: number): Promise<{ vals: Float32Array; idx: Int32Array }>;
}

/** Runs `visit` on the top-k activations of X in batches (of the config's batch size). */
async function forEachBatch(
  model: SaeModel,
  X: Matrix,
  visit: (start: number, rows: number, vals: Float32Array, idx: Int32Array) => void,
  runner?: TopKRunner,
  threads = engineThreads(),
): Promise<void> {
  const own = runner ? null : await createEncoder(model, threads);
  const encoder = runner ?? own!;
  try {
    const d = X.cols, bs = model.config.batchSize;
    for (let start = 0; start < X.rows; start += bs) {
      const rows = Math.min(bs, X.rows - start);
      const { vals, idx } = await encoder.encode(X.data.subarray(start * d, (start + rows) * d), rows);
      visit(start, rows, vals, idx);
    }
  } finally {
    await own?.release();
  }
}

/** û = W_dec z + b_pre for one sample given its top-k (ReLU applied), into `out`. */
function decodeRow(
  model: SaeModel,
  vals: Float32Array,
  idx: Int32Array,
  ko: number,
  out: Float32Array,
): void {
  const { dIn: d, k } = model.config;
  out.set(model.bPre);
  for (let a = 0; a < k; a++) {
    const zj = vals[ko + a];
    if (!(zj > 0)) continue;
    const wo = idx[ko + a] * d;
    for (let i = 0; i < d; i++) out[i] += zj * model.wDecT[wo + i];
  }
}

/** z = ReLU(TopK(W_enc (u − b_pre), k)) for every row of X: N × d_z float32 (`threads`: compute threads). */
export async function encodeSae(model: SaeModel, X: Matrix, threads?: number): Promise<Matrix> {
  checkFeatures(X, model.config.dIn, "features");
  const { dZ, k } = model.config;
  const z = new Float32Array(X.rows * dZ);
  await forEachBatch(
    model,
    X,
    (start, rows, vals, idx) => {
      for (let r = 0; r < rows; r++) {
        const zo = (start + r) * dZ;
        for (let a = 0; a < k; a++) {
          const v = vals[r * k + a];
          if (v > 0) z[zo + idx[r * k + a]] = v;
        }
      }
    },
    undefined,
    threads,
  );
  return { rows: X.rows, cols: dZ, data: z };
}

/** Reconstruction and activation metrics of `model` on X (see metrics.ts for the formulas). */
export async function evaluate(
  model: SaeModel,
  X: Matrix,
  runner?: { engine?: TopKRunner },
): Promise<SaeMetrics> {
  checkFeatures(X, model.config.dIn, "features");
  const { dIn: d, dZ, k } = model.config;
  const acc = new MetricsAccumulator(d, dZ);
  const uHat = new Float32Array(d);
  await forEachBatch(model, X, (start, rows, vals, idx) => {
    let sse = 0;
    for (let r = 0; r < rows; r++) {
      decodeRow(model, vals, idx, r * k, uHat);
      const o = (start + r) * d;
      for (let i = 0; i < d; i++) sse += (X.data[o + i] - uHat[i]) ** 2;
    }
    acc.addError(sse, rows);
    acc.addTopK(vals, idx, rows * k);
  }, runner?.engine);
  return acc.finish(totalSumSquares(X));
}

/** The contract's name for `evaluate`. */
export function saeMetrics(model: SaeModel, X: Matrix): Promise<SaeMetrics> {
  return evaluate(model, X);
}
