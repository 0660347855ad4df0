/**
 * Reliability: the one safetensors reader (lib/formats/safetensors.ts) checks the whole header, so a damaged
 * file is refused with its name and the tensor, never read as wrong weights.
 */
import { assertEquals, assertThrows } from "@std/assert";
import { encodeSafetensors, parseSafetensors, parseTensorMap } from "../lib/formats/safetensors.ts";

/** A valid file with three F32 tensors (a: 2×3, b: 4, c: 1×2) and metadata. */
function valid(): Uint8Array {
  return encodeSafetensors({
    a: { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    b: { shape: [4], data: Float32Array.from([7, 8, 9, 10]) },
    c: { shape: [1, 2], data: Float32Array.from([11, 12]) },
  }, { step: "3" });
}

/** The same data bytes under an edited header. */
function withHeader(edit: (h: Record<string, Record<string, unknown>>) => unknown, extra = 0): Uint8Array {
  const bytes = valid();
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const h = new TextEncoder().encode(JSON.stringify(edit(header)));
  const out = new Uint8Array(8 + h.length + bytes.length - 8 - n + extra);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(bytes.subarray(8 + n), 8 + h.length);
  return out;
}

const KINDS: [string, Uint8Array, string][] = [
  ["header null", withHeader(() => null), "header must be a JSON object, got null"],
  ["header an array", withHeader(() => []), "header must be a JSON object, got an array"],
  ["entry null", withHeader((h) => ({ ...h, b: null })), "tensor 'b' must be an object"],
  [
    "overlapping offsets",
    withHeader((h) => ({ ...h, b: { ...h.b, data_offsets: [0, 16] } })),
    "overlap",
  ],
  [
    "negative offset",
    withHeader((h) => ({ ...h, a: { ...h.a, data_offsets: [-4, 20] } })),
    "data_offsets must be two non-negative integers, got [-4,20]",
  ],
  [
    "fractional offset",
    withHeader((h) => ({ ...h, a: { ...h.a, data_offsets: [0.5, 24.5] } })),
    "data_offsets must be two non-negative integers",
  ],
  [
    "offsets backwards",
    withHeader((h) => ({ ...h, c: { ...h.c, data_offsets: [48, 40] } })),
    "run backwards",
  ],
  [
    "gap between tensors",
    withHeader((h) => ({ ...h, c: { ...h.c, shape: [1, 1], data_offsets: [44, 48] } })),
    "gap of 4 bytes before tensor 'c'",
  ],
  [
    "offsets past the data",
    withHeader((h) => ({ ...h, c: { ...h.c, shape: [1, 4], data_offsets: [40, 56] } })),
    "run past the data",
  ],
  [
    "negative shape",
    withHeader((h) => ({ ...h, b: { ...h.b, shape: [-4] } })),
    "shape must be a list of non-negative integers, got [-4]",
  ],
  [
    "fractional shape",
    withHeader((h) => ({ ...h, b: { ...h.b, shape: [2.5] } })),
    "shape must be a list of non-negative integers",
  ],
  [
    "dtype × shape ≠ byte length",
    withHeader((h) => ({ ...h, a: { ...h.a, shape: [3, 3] } })),
    "hold 24 bytes, but F32 × [3,3] needs 36",
  ],
  ["unknown dtype", withHeader((h) => ({ ...h, a: { ...h.a, dtype: "F128" } })), 'unsupported dtype "F128"'],
  ["metadata not strings", withHeader((h) => ({ ...h, __metadata__: { step: 3 } })), "__metadata__.step"],
  ["trailing bytes", withHeader((h) => h, 8), "8 bytes after the last tensor are not indexed"],
  ["header length past the end", valid().slice(0, 12), "does not fit the file"],
];

for (const [kind, bytes, message] of KINDS) {
  Deno.test(`reliability/safetensors: ${kind} → error naming the file`, () => {
    // Both views (codec weights, checkpoints) go through the one header parser.
    assertThrows(
      () => parseTensorMap(bytes, "w.safetensors"),
      Error,
      `w.safetensors: invalid safetensors file:`,
    );
    assertThrows(() => parseSafetensors(bytes, "ck.safetensors"), Error, message);
  });
}

Deno.test("reliability/safetensors: a valid file (any key order in the header) reads exactly", () => {
  const reordered = withHeader((h) => ({ c: h.c, __metadata__: h.__metadata__, a: h.a, b: h.b }));
  for (const bytes of [valid(), reordered]) {
    const f = parseSafetensors(bytes, "ok.safetensors");
    assertEquals(Array.from(f.tensors.b.data as Float32Array), [7, 8, 9, 10]);
    assertEquals(f.tensors.a.shape, [2, 3]);
    assertEquals(f.metadata, { step: "3" });
  }
});
