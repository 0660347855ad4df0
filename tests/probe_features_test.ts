import { assertEquals, assertThrows } from "@std/assert";
import { matrix } from "../lib/common/matrix.ts";
import { magnitudeFeatures, positionFeatures } from "../lib/probe/mod.ts";

const z = matrix(
  3,
  5,
  Float32Array.from([
    0,
    2.5,
    0,
    1,
    0, // two active
    0.5,
    0,
    3,
    0,
    0.25, // three active
    0,
    0,
    0,
    0,
    0, // none active
  ]),
);

Deno.test("probe features: z_pos marks active latents (z > 0) with 1, everything else 0", () => {
  const p = positionFeatures(matrix(1, 4, Float32Array.from([0, 2, -1, 1e-30])));
  assertEquals(Array.from(p.data), [0, 1, 0, 1]);
  const q = positionFeatures(z);
  assertEquals([q.rows, q.cols], [3, 5]);
  assertEquals(Array.from(q.data), [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0]);
});

Deno.test("probe features: z_mag sorts magnitudes descending, drops positions, zero-fills fewer than k", () => {
  const m = magnitudeFeatures(z, 3);
  assertEquals([m.rows, m.cols], [3, 3]);
  assertEquals(Array.from(m.data), [2.5, 1, 0, 3, 0.5, 0.25, 0, 0, 0]);
  // Permuting latent positions leaves z_mag unchanged.
  const perm = matrix(1, 5, Float32Array.from([0.25, 3, 0, 0, 0.5]));
  assertEquals(Array.from(magnitudeFeatures(perm, 3).data), [3, 0.5, 0.25]);
});

Deno.test("probe features: z_mag keeps the k largest when more than k are positive; negatives are inactive", () => {
  const m = magnitudeFeatures(matrix(1, 6, Float32Array.from([1, -5, 4, 2, 3, -0.5])), 2);
  assertEquals(Array.from(m.data), [4, 3]);
  const neg = magnitudeFeatures(matrix(1, 3, Float32Array.from([-1, -2, 0.5])), 3);
  assertEquals(Array.from(neg.data), [0.5, 0, 0]);
});

Deno.test("probe features: z_mag rejects a bad k", () => {
  assertThrows(() => magnitudeFeatures(z, 0), Error, "positive integer");
  assertThrows(() => magnitudeFeatures(z, 2.5), Error, "positive integer");
  assertThrows(() => magnitudeFeatures(z, 6), Error, "exceeds the 5 latents");
});
