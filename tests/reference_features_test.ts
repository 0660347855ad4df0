/**
 * The representations between codec and probe against plain references (testdata/reference/features.ts):
 * mean and std pooling over time, z_pos and z_mag from z, and PCA's explained variance (in-sample and held-out,
 * both the scatter-matrix and the Gram-matrix paths). Seeded data, no Python, no ../shared.
 */
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { Rng } from "../lib/common/random.ts";
import { meanOverTime, stdOverTime } from "../lib/extract/pooling.ts";
import { magnitudeFeatures, positionFeatures } from "../lib/probe/features.ts";
import { fitPca, pcaExplainedVariance } from "../lib/sae/pca.ts";
import {
  refMagnitudes,
  refMean,
  refPcaExplainedVariance,
  refPcaHeldout,
  refPositions,
  refStd,
} from "../testdata/reference/features.ts";

function close(got: ArrayLike<number>, want: number[], tol: number, what: string) {
  assertEquals(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert(
      Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])),
      `${what}[${i}]: ${got[i]} vs ${want[i]}`,
    );
  }
}

Deno.test("reference features: mean and std pooling over time (T × d, per dimension, population std)", () => {
  const rng = new Rng(1);
  for (const [t, d, offset] of [[1, 4, 0], [7, 5, 0], [50, 3, 100], [9, 12, -3]]) {
    // Each dimension its own scale and offset, so a transposed or wrong-axis pooling cannot pass.
    const e = Float32Array.from({ length: t * d }, (_, i) => offset + (i % d + 1) * rng.normal() + (i % d));
    const m = { rows: t, cols: d, data: e };
    close(meanOverTime(m), refMean(e, t, d), 1e-6, `mean ${t}×${d}`);
    close(stdOverTime(m), refStd(e, t, d), 1e-5, `std ${t}×${d}`);
  }
});

Deno.test("reference features: z_pos marks the active latents, z_mag their sorted magnitudes padded to k", () => {
  const rng = new Rng(2);
  const rows = 6, dZ = 20, k = 4;
  const z = new Float32Array(rows * dZ);
  for (let r = 0; r < rows; r++) {
    // Row r has min(r, 5) active latents at random positions (fewer than, equal to and more than k).
    for (let a = 0; a < Math.min(r, 5); a++) z[r * dZ + rng.int(dZ)] = Math.fround(0.1 + rng.next());
  }
  const m = { rows, cols: dZ, data: z };
  const pos = positionFeatures(m), mag = magnitudeFeatures(m, k);
  assertEquals([pos.rows, pos.cols, mag.rows, mag.cols], [rows, dZ, rows, k]);
  for (let r = 0; r < rows; r++) {
    const zr = Array.from(z.subarray(r * dZ, (r + 1) * dZ));
    close(pos.data.subarray(r * dZ, (r + 1) * dZ), refPositions(zr), 0, `z_pos row ${r}`);
    close(mag.data.subarray(r * k, (r + 1) * k), refMagnitudes(zr, k), 0, `z_mag row ${r}`);
  }
});

Deno.test("reference features: PCA explained variance equals power iteration on the covariance", () => {
  const rng = new Rng(3);
  // Anisotropic data: column j has scale 1/(j + 1), plus correlation through a shared factor; an offset.
  const make = (n: number, d: number) =>
    Array.from({ length: n }, () => {
      const f = rng.normal();
      return Array.from({ length: d }, (_, j) => 5 + rng.normal() / (j + 1) + 0.5 * f * Math.cos(j));
    });
  for (const [n, d] of [[60, 8], [6, 10]]) { // scatter path (n ≥ d) and Gram path (n < d)
    const X = make(n, d), Y = make(40, d);
    const mat = (rows: number[][]) => ({ rows: rows.length, cols: d, data: Float32Array.from(rows.flat()) });
    // Float32 as the library stores rows; the reference sees the same rounded values.
    const Xr = X.map((r) => r.map(Math.fround)), Yr = Y.map((r) => r.map(Math.fround));
    const fit = fitPca(mat(X));
    for (const k of [1, 2, 4]) {
      assertAlmostEquals(
        pcaExplainedVariance(fit, mat(X), k),
        refPcaExplainedVariance(Xr, k),
        1e-6,
        `n ${n} k ${k}`,
      );
      assertAlmostEquals(
        pcaExplainedVariance(fit, mat(Y), k),
        refPcaHeldout(Xr, Yr, k),
        1e-6,
        `held-out n ${n} k ${k}`,
      );
    }
  }
});
