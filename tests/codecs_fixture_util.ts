/** Shared helpers for the codec parity tests (not a test file itself). */
import { assert, assertLessOrEqual } from "@std/assert";
import { sharedDir } from "../lib/cli/settings.ts";
import { readNpy } from "../lib/formats/npy.ts";
import type { TensorMap } from "../lib/formats/safetensors.ts";

export const CODEC_FIXTURES = sharedDir() && `${sharedDir()}/fixtures/codecs`;

export async function npyF32(path: string): Promise<{ data: Float32Array; shape: number[] }> {
  const a = await readNpy(path);
  return {
    data: a.data instanceof Float32Array ? a.data : Float32Array.from(a.data as Float64Array),
    shape: a.shape,
  };
}

export async function npyInt(path: string): Promise<{ data: Int32Array; shape: number[] }> {
  const a = await readNpy(path);
  return { data: Int32Array.from(a.data as BigInt64Array, (v) => Number(v)), shape: a.shape };
}

/** max |a − b| over rows not in `skipRows` (row width `cols`), and the reference scale max |b|. */
export function maxDiff(a: Float32Array, b: Float32Array, cols = 1, skipRows = new Set<number>()) {
  assert(a.length === b.length, `length ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    if (skipRows.has(Math.floor(i / cols))) continue;
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { diff, scale };
}

/** Asserts max|a − b| ≤ rel · max|b| (float32 parity, "1e-4 relative"); returns the relative error. */
export function assertClose(
  what: string,
  a: Float32Array,
  b: Float32Array,
  rel = 1e-4,
  cols = 1,
  skip?: Set<number>,
) {
  const { diff, scale } = maxDiff(a, b, cols, skip);
  assertLessOrEqual(diff, rel * Math.max(scale, 1e-12), `${what}: max|Δ| ${diff} > ${rel} × ${scale}`);
  return diff / Math.max(scale, 1e-12);
}

/**
 * Codes (n_q × T) must be equal, except where the reference's best-vs-second margin is below `tie`: there a flip
 * is a near-tie, and that frame's later codebooks (and its ê row) are not compared. Returns the skipped frames.
 */
export function assertCodes(
  what: string,
  got: Int32Array,
  expected: Int32Array,
  nq: number,
  margin?: Float32Array,
  tie = 1e-5,
): Set<number> {
  assert(got.length === expected.length, `${what}: ${got.length} codes vs ${expected.length}`);
  const T = expected.length / nq;
  const skipped = new Set<number>();
  for (let t = 0; t < T; t++) {
    for (let q = 0; q < nq; q++) {
      const i = q * T + t;
      if (got[i] === expected[i]) continue;
      if (margin && margin[i] < tie) {
        skipped.add(t);
        break;
      }
      throw new Error(`${what}: code mismatch at codebook ${q}, frame ${t}: ${got[i]} vs ${expected[i]}`);
    }
  }
  return skipped;
}

// ----- the EnCodec supplement's weight rule (README "Weight rule"; port of check_rule.mjs) -----

function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

export function hashUniform(name: string, n: number, lo: number, hi: number): Float32Array {
  const seed = fnv1a32(name);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let x = (seed + Math.imul(i, 0x9e3779b9)) >>> 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x7feb352d) >>> 0;
    x ^= x >>> 15;
    x = Math.imul(x, 0x846ca68b) >>> 0;
    x ^= x >>> 16;
    out[i] = lo + (hi - lo) * ((x >>> 8) / 16777216);
  }
  return out;
}

export function ruleTensor(name: string, shape: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (name.endsWith(".weight_v")) return hashUniform(name, n, -1, 1);
  if (name.endsWith(".weight_g")) return hashUniform(name, n, 0.8, 1.4);
  if (name.includes(".lstm.")) {
    const bound = 1 / Math.sqrt(shape[0] / 4);
    return hashUniform(name, n, -bound, bound);
  }
  if (name.endsWith(".bias")) return hashUniform(name, n, -0.01, 0.01);
  const cb = name.match(/^quantizer\.vq\.layers\.(\d+)\._codebook\.(embed|embed_avg)$/);
  if (cb) {
    const s = 0.3 / (1 + 0.1 * Number(cb[1]));
    return hashUniform(name.replace(/embed_avg$/, "embed"), n, -s, s);
  }
  if (/\._codebook\.(inited|cluster_size)$/.test(name)) return new Float32Array(n).fill(1);
  throw new Error(`no rule for ${name}`);
}

/** Full-size EnCodec weights rebuilt by the rule: encoder + codebooks (what ê needs), names/shapes from weights_check.json. */
export async function ruleWeights(
  checkJson: string,
  filter = /^(encoder\.|quantizer\..*\.embed$)/,
): Promise<TensorMap> {
  const checks = JSON.parse(await Deno.readTextFile(checkJson)) as Record<
    string,
    { shape: number[]; sha256: string }
  >;
  const out: TensorMap = new Map();
  for (const [name, c] of Object.entries(checks)) {
    if (!filter.test(name)) continue;
    out.set(name, { dtype: "F32", shape: c.shape, data: ruleTensor(name, c.shape) });
  }
  return out;
}
