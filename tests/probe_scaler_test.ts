import { assertAlmostEquals, assertEquals } from "@std/assert";
import { matrix } from "../lib/common/matrix.ts";
import { applyScaler, fitScaler } from "../lib/probe/mod.ts";

Deno.test("probe scaler: population mean/std, constant features get scale 1 and map to 0", () => {
  const X = matrix(4, 3, Float32Array.from([1, 5, 0, 2, 5, 0, 3, 5, 0, 4, 5, 0]));
  const s = fitScaler(X);
  assertEquals(Array.from(s.mean), [2.5, 5, 0]);
  assertAlmostEquals(s.scale[0], Math.sqrt(1.25), 1e-12); // ddof = 0
  assertEquals(s.scale[1], 1);
  assertEquals(s.scale[2], 1);
  assertEquals(Array.from(s.constant), [0, 1, 1]);
  const T = applyScaler(s, matrix(1, 3, Float32Array.from([2.5, 7, -1])));
  assertEquals(Array.from(T.data), [0, 2, -1]); // test rows use the training statistics
});

Deno.test("probe scaler: a nearly constant float32 column is constant by scikit-learn's bound", () => {
  const v = 0.1; // not representable: rows are equal float32 values, the float64 mean carries rounding
  const X = matrix(3, 1, Float32Array.from([v, v, v]));
  const s = fitScaler(X);
  assertEquals(s.constant[0], 1);
  assertEquals(s.scale[0], 1);
});
