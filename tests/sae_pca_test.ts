/**
 * The PCA-k yardstick: the eigen-solver against its defining property, and explained variances (in-sample and
 * held-out, d×d scatter and N×N Gram paths) against numpy's SVD when /usr/bin/python3 has numpy.
 */
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { join } from "node:path";
import { type Matrix, writeMatrix } from "../lib/common/matrix.ts";
import { Rng } from "../lib/common/random.ts";
import { fitPca, pcaExplainedVariance, symmetricEigen } from "../lib/sae/pca.ts";
import { skipWithout } from "./tools.ts";

/** Rows with a decaying spectrum (column j scaled by 1/(1+j)) and an offset, so the mean matters. */
function lowRankish(n: number, d: number, seed: number): Matrix {
  const rng = new Rng(seed);
  const data = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) data[r * d + j] = 3 + rng.normal() / (1 + j) + 0.3 * rng.normal() * (j % 3);
  }
  return { rows: n, cols: d, data };
}

Deno.test("symmetricEigen: A v = λ v, orthonormal vectors, decreasing values", () => {
  const n = 12, rng = new Rng(5);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  }
  const { values, vectors } = symmetricEigen(a, n);
  for (let c = 0; c < n; c++) {
    if (c > 0) assert(values[c] <= values[c - 1]);
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let j = 0; j < n; j++) av += a[i * n + j] * vectors[c * n + j];
      assertAlmostEquals(av, values[c] * vectors[c * n + i], 1e-10);
    }
    for (let c2 = 0; c2 < n; c2++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += vectors[c * n + i] * vectors[c2 * n + i];
      assertAlmostEquals(dot, c === c2 ? 1 : 0, 1e-10);
    }
  }
});

Deno.test("PCA-k: in-sample EV is the top-k share of the spectrum; k = rank explains everything", () => {
  const X = lowRankish(80, 10, 1);
  const fit = fitPca(X);
  assertEquals(fit.rank, 10);
  const total = fit.variances.reduce((a, b) => a + b, 0);
  for (const k of [1, 3, 7]) {
    const share = fit.variances.slice(0, k).reduce((a, b) => a + b, 0) / total;
    assertAlmostEquals(pcaExplainedVariance(fit, X, k), share, 1e-9);
  }
  assertAlmostEquals(pcaExplainedVariance(fit, X, 10), 1, 1e-9);
  assertAlmostEquals(pcaExplainedVariance(fit, X, 0), 0, 1e-12);
});

async function numpyAvailable(): Promise<boolean> {
  try {
    const p = await new Deno.Command("/usr/bin/python3", { args: ["-c", "import numpy"], stderr: "null" })
      .output();
    return p.success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "PCA-k: in-sample and held-out EV match numpy's SVD (scatter path N > d and Gram path N < d)",
  ignore: skipWithout(import.meta.url, "python3 + numpy", !(await numpyAvailable())),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sae_pca_" });
    try {
      const cases = [
        { name: "tall", train: lowRankish(200, 16, 2), test: lowRankish(60, 16, 3), ks: [1, 4, 8] },
        { name: "wide", train: lowRankish(30, 64, 4), test: lowRankish(25, 64, 5), ks: [2, 7, 29, 40] },
      ];
      for (const c of cases) {
        await writeMatrix(join(dir, `${c.name}_train.npy`), c.train);
        await writeMatrix(join(dir, `${c.name}_test.npy`), c.test);
      }
      const script = `
import json, sys, numpy as np
out = {}
for name, ks in json.loads(sys.argv[2]).items():
    A = np.load(f"{sys.argv[1]}/{name}_train.npy").astype(np.float64)
    B = np.load(f"{sys.argv[1]}/{name}_test.npy").astype(np.float64)
    mu = A.mean(0); _, sv, vt = np.linalg.svd(A - mu, full_matrices=False)
    rank = int((sv > sv[0] * 1e-10).sum())  # axes past the rank are arbitrary null-space directions
    def ev(M, k):
        P = vt[:min(k, rank)].T; R = mu + (M - mu) @ P @ P.T
        return 1 - ((M - R) ** 2).sum() / ((M - M.mean(0)) ** 2).sum()
    out[name] = {str(k): [ev(A, k), ev(B, k)] for k in ks}
print(json.dumps(out))`;
      const ks = Object.fromEntries(cases.map((c) => [c.name, c.ks]));
      const p = await new Deno.Command("/usr/bin/python3", {
        args: ["-c", script, dir, JSON.stringify(ks)],
        stderr: "inherit",
      }).output();
      assert(p.success, "numpy reference failed");
      const ref = JSON.parse(new TextDecoder().decode(p.stdout));
      for (const c of cases) {
        const fit = fitPca(c.train);
        for (const k of c.ks) {
          const [inSample, heldOut] = ref[c.name][String(k)];
          assertAlmostEquals(pcaExplainedVariance(fit, c.train, k), inSample, 1e-9, `${c.name} k=${k}`);
          assertAlmostEquals(pcaExplainedVariance(fit, c.test, k), heldOut, 1e-9, `${c.name} k=${k}`);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
