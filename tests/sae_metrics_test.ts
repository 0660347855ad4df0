import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { computeMetrics, totalSumSquares } from "../lib/sae/metrics.ts";
import { kFor, paperEpochs, paperGrid, saeConfig } from "../lib/sae/config.ts";
import { matrix } from "../lib/common/matrix.ts";

Deno.test("sae metrics: MSE, mean-centred NMSE, explained variance, L0, dead, density by hand", () => {
  const U = matrix(3, 2, Float32Array.from([1, 0, 3, 1, 2, 2]));
  const Uhat = matrix(3, 2, Float32Array.from([1, 1, 2, 1, 2, 2]));
  const Z = matrix(3, 4, Float32Array.from([0, 2, 0, 0, 1, 0, 0, 0, 3, 0.5, 0, 0]));
  // mean = (2, 1); deviations: (-1,-1), (1,0), (0,1) → SST = 2 + 1 + 1 = 4
  assertAlmostEquals(totalSumSquares(U), 4, 1e-12);
  const m = computeMetrics(U, Uhat, Z);
  // errors: (0,-1), (1,0), (0,0) → SSE = 2; MSE = 2 / (3·2)
  assertAlmostEquals(m.mse, 2 / 6, 1e-12);
  assertAlmostEquals(m.nmse, 2 / 4, 1e-12);
  assertAlmostEquals(m.explainedVariance, 0.5, 1e-12);
  // active counts per row: 1, 1, 2 → L0 = 4/3; latents 2 and 3 never active
  assertAlmostEquals(m.l0, 4 / 3, 1e-12);
  assertEquals(m.deadLatents, 2);
  assertEquals(Array.from(m.density), [2 / 3, 2 / 3, 0, 0].map(Math.fround));
});

Deno.test("sae metrics: NMSE is mean-centred (a constant offset in U does not change it)", () => {
  const U = matrix(2, 1, Float32Array.from([10, 12]));
  const Uhat = matrix(2, 1, Float32Array.from([11, 11]));
  const Z = matrix(2, 1, Float32Array.from([1, 1]));
  // SSE = 2, SST = 2 (not Σu² = 244)
  assertAlmostEquals(computeMetrics(U, Uhat, Z).nmse, 1, 1e-12);
  assertThrows(() => computeMetrics(U, matrix(1, 1), Z), Error, "shapes disagree");
});

Deno.test("sae config: k = ceil(s·d), d_z = round(q·d), paper epochs and the 16-config grid", () => {
  assertEquals(kFor(0.05, 1024), 52);
  assertEquals(kFor(0.05, 20), 1); // 0.05·20 = 1.0000000000000002 in floating point
  assertEquals(kFor(0.1, 30), 3);
  const c = saeConfig(20, 0.05, 1024);
  assertEquals([c.dZ, c.k, c.epochs, c.batchSize, c.lr, c.adamEps], [20480, 52, 200, 1024, 1e-5, 6.25e-10]);
  assertEquals(paperEpochs(2, 0.1), 500);
  assertEquals(paperEpochs(5, 0.05), 500);
  assertEquals(paperEpochs(10, 0.05), 200);
  assertEquals(paperEpochs(2, 0.25), 200);
  const grid = paperGrid(64);
  assertEquals(grid.length, 16);
  assertEquals(grid.filter((g) => g.epochs === 500).length, 4);
  assertEquals(new Set(grid.map((g) => `${g.q},${g.s}`)).size, 16);
  assertThrows(() => saeConfig(1, 1, 8), Error, "must be smaller than d_z");
  assertThrows(() => saeConfig(2, 0.5, 8, { epochs: -1 }), Error, "epochs");
});
