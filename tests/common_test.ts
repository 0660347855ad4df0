import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { encodeNpy, parseNpy } from "../lib/formats/npy.ts";
import { Rng } from "../lib/common/random.ts";
import { hashJson, stableStringify } from "../lib/common/hash.ts";

Deno.test("npy: float32 2-D round trip keeps shape and values", () => {
  const data = Float32Array.from([1.5, -2, 3.25, 4, 5, 6]);
  const a = parseNpy(encodeNpy(data, [2, 3]));
  assertEquals(a.shape, [2, 3]);
  assertEquals(a.dtype, "<f4");
  assertEquals(Array.from(a.data as Float32Array), Array.from(data));
});

Deno.test("npy: header is 64-byte aligned and 1-D shapes use a trailing comma", () => {
  const bytes = encodeNpy(new Int32Array([7, 8, 9]), [3]);
  const headerLen = new DataView(bytes.buffer).getUint16(8, true);
  assertEquals((10 + headerLen) % 64, 0);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLen));
  assertEquals(header.includes("'shape': (3,)"), true);
  assertEquals(Array.from(parseNpy(bytes).data as Int32Array), [7, 8, 9]);
});

Deno.test("npy: big-endian and Fortran-order arrays are converted", () => {
  const header = "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 2), }";
  const padded = header + " ".repeat(64 - ((10 + header.length + 1) % 64)) + "\n";
  const h = new TextEncoder().encode(padded);
  const bytes = new Uint8Array(10 + h.length + 32);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(bytes.buffer).setUint16(8, h.length, true);
  bytes.set(h, 10);
  const dv = new DataView(bytes.buffer, 10 + h.length);
  // Fortran order of [[1, 2], [3, 4]] is 1, 3, 2, 4.
  [1, 3, 2, 4].forEach((v, i) => dv.setFloat64(i * 8, v, false));
  assertEquals(Array.from(parseNpy(bytes).data as Float64Array), [1, 2, 3, 4]);
});

Deno.test("npy: truncated and foreign files are rejected with the file named", () => {
  assertThrows(() => parseNpy(new Uint8Array([1, 2, 3]), "x.npy"), Error, "x.npy: not a NumPy");
  const full = encodeNpy(new Float32Array(10), [10]);
  assertThrows(() => parseNpy(full.subarray(0, full.length - 4), "y.npy"), Error, "y.npy: truncated data");
});

Deno.test("rng: same seed, same stream; different seed, different stream", () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const xa = Array.from({ length: 5 }, () => a.nextU32());
  assertEquals(xa, Array.from({ length: 5 }, () => b.nextU32()));
  assertEquals(xa.join() === Array.from({ length: 5 }, () => c.nextU32()).join(), false);
});

Deno.test("rng: uniform and normal moments are sane", () => {
  const r = new Rng(1);
  let s = 0, s2 = 0, n = 20000;
  for (let i = 0; i < n; i++) s += r.next();
  assertAlmostEquals(s / n, 0.5, 0.01);
  s = 0;
  for (let i = 0; i < n; i++) {
    const x = r.normal();
    s += x;
    s2 += x * x;
  }
  assertAlmostEquals(s / n, 0, 0.03);
  assertAlmostEquals(s2 / n, 1, 0.03);
  n = 0;
  assertEquals(r.permutation(10).slice().sort().join(), "0,1,2,3,4,5,6,7,8,9");
});

Deno.test("hash: stable JSON ignores key order", async () => {
  assertEquals(stableStringify({ b: 1, a: { d: 2, c: 3 } }), '{"a":{"c":3,"d":2},"b":1}');
  assertEquals(await hashJson({ x: 1, y: 2 }), await hashJson({ y: 2, x: 1 }));
});
