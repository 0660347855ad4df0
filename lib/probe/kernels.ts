/**
 * The solver's dense-column kernels (kernels.wat, WebAssembly SIMD, float64 arithmetic) and the linear memory
 * they work in: the raw float32 dense columns followed by float64 per-sample vectors. Typed-array views of
 * the vectors let the rest of the solver (sparse columns, line search) use them as ordinary arrays.
 */
import { decodeBase64 } from "../common/base64.ts";
import { KERNELS_WASM_BASE64 } from "./kernels_wasm.ts";

interface KernelExports {
  /** Σᵢ col[i]·a[i]·b[i]. */
  dot3(colByte: number, aByte: number, bByte: number, n: number): number;
  /** out[i] += alpha·col[i]. */
  axpy(colByte: number, alpha: number, outByte: number, n: number): void;
  /** out = [Σ v·g, Σ v·D, Σ v²·D]. */
  sums(colByte: number, gByte: number, dByte: number, n: number, outByte: number): void;
}

let shared: { memory: WebAssembly.Memory; k: KernelExports } | undefined;

const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;
const PAGE = 65536;

/**
 * One fit's view of the kernels' memory. The memory is shared by all fits and grown on demand (fits are
 * synchronous, so two workspaces are never in use at once): allocating a fresh wasm memory per fit would
 * cost a large address-space reservation each time.
 */
export class DenseWorkspace {
  readonly k: KernelExports;
  /** Float64 vectors of length n, zeroed, views into the linear memory. */
  readonly vectors: Float64Array[];
  /** Byte offsets of `vectors`. */
  readonly vectorBytes: number[];
  /** Three float64 results of `sums`. */
  readonly out: Float64Array;
  readonly outByte: number;

  /** Copies the dense columns (column j's values at byte 4·offset) in and lays out `nVectors` vectors. */
  constructor(denseVals: Float32Array, n: number, nVectors: number) {
    const colBytes = align16(denseVals.byteLength), vecBytes = align16(n * 8);
    const total = colBytes + nVectors * vecBytes + 32;
    if (!shared) {
      const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(total / PAGE)) });
      const module = new WebAssembly.Module(decodeBase64(KERNELS_WASM_BASE64));
      const k = new WebAssembly.Instance(module, { env: { mem: memory } })
        .exports as unknown as KernelExports;
      shared = { memory, k };
    }
    const { memory } = shared;
    const missing = Math.ceil(total / PAGE) - memory.buffer.byteLength / PAGE;
    if (missing > 0) memory.grow(missing);
    this.k = shared.k;
    new Float32Array(memory.buffer, 0, denseVals.length).set(denseVals);
    this.vectors = [];
    this.vectorBytes = [];
    for (let v = 0; v < nVectors; v++) {
      const byte = colBytes + v * vecBytes;
      this.vectorBytes.push(byte);
      this.vectors.push(new Float64Array(memory.buffer, byte, n).fill(0));
    }
    this.outByte = colBytes + nVectors * vecBytes;
    this.out = new Float64Array(memory.buffer, this.outByte, 3);
  }
}
