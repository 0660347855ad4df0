/**
 * The SAE's training memory: one WebAssembly memory holding every array a training step streams through — the
 * parameters, their gradients, Adam's moments and the batch workspaces — and the SIMD kernels (kernels.wat,
 * float32 like the reference's torch ops) that work in it. JavaScript sees each array as an ordinary
 * Float32Array view and onnxruntime reads and writes the same views zero-copy.
 *
 * Why: the sparse backward and the dense Adam update over 2·d_z·d parameters are the training step's hot loops
 * beside the encoder GEMM; as SIMD kernels they run several times faster than scalar JavaScript (BENCHMARKS.md
 * "SAE engine"). The memory is sized once for a config and never grows, since growing detaches every view.
 */
import { decodeBase64 } from "../common/base64.ts";
import { KERNELS_WASM_BASE64 } from "./kernels_wasm.ts";
import type { SaeConfig } from "./config.ts";

interface KernelExports {
  dot(pa: number, pb: number, n: number): number;
  axpy(alpha: number, px: number, py: number, n: number): void;
  divide(px: number, s: number, n: number): void;
  adam(
    pp: number,
    pg: number,
    pm: number,
    pv: number,
    n: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    step: number,
    bc2: number,
    eps: number,
  ): void;
}

const PAGE = 65536;
/** wasm32's limit: 65536 pages of 64 KiB. */
const MAX_PAGES = 65536;
/** Bytes 0–15 are the adam kernel's zero vector; arrays start 16-byte aligned after them. */
const RESERVED = 16;
const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

let compiled: WebAssembly.Module | undefined;

/** Bytes of everything training `cfg` keeps in the memory, each array 16-byte aligned. */
function trainingBytes(cfg: SaeConfig): number {
  const { dZ, dIn: d, batchSize } = cfg;
  const matrices = 8; // W_enc, W_decᵀ, their gradients and both Adam moments of each
  const vectors = 4; // b_pre, its gradient and moments
  const workspaces = 4; // the batch's centred inputs, dL/dû, dL/dx and AuxK's per-sample buffers
  return RESERVED + matrices * align16(4 * dZ * d) + vectors * align16(4 * d) +
    workspaces * align16(4 * batchSize * d) + 4 * align16(4 * d); // + per-sample vectors
}

/** A bump allocator over one fixed-size wasm memory, with the kernels bound to it. */
export class TrainingMemory {
  private next = RESERVED;
  private constructor(private readonly memory: WebAssembly.Memory, private readonly k: KernelExports) {}

  /** A memory large enough to train `cfg` (parameters, gradients, moments, batch workspaces). */
  static forTraining(cfg: SaeConfig): TrainingMemory {
    const bytes = trainingBytes(cfg);
    const pages = Math.ceil(bytes / PAGE);
    if (pages > MAX_PAGES) {
      throw new Error(
        `SAE d_z=${cfg.dZ} × d=${cfg.dIn} needs ${(bytes / 2 ** 30).toFixed(1)} GiB of training memory; ` +
          `the training kernels address at most 4 GiB (d_z·d up to ~120 M parameters per matrix)`,
      );
    }
    compiled ??= new WebAssembly.Module(decodeBase64(KERNELS_WASM_BASE64));
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const k = new WebAssembly.Instance(compiled, { env: { mem: memory } })
      .exports as unknown as KernelExports;
    return new TrainingMemory(memory, k);
  }

  /** A zeroed float32 array of length n in the memory. */
  alloc(n: number): Float32Array {
    const byte = this.next;
    const end = byte + align16(4 * n);
    if (end > this.memory.buffer.byteLength) {
      throw new Error(`SAE training memory exhausted (${n} floats more)`);
    }
    this.next = end;
    return new Float32Array(this.memory.buffer, byte, n);
  }

  /** A copy of `a` in the memory (a itself when it already lives there). */
  adopt(a: Float32Array): Float32Array {
    if (this.holds(a)) return a;
    const out = this.alloc(a.length);
    out.set(a);
    return out;
  }

  holds(a: Float32Array): boolean {
    return a.buffer === this.memory.buffer;
  }

  /** Σ a[ao + i]·b[bo + i] over i < n, in float32 (fixed summation order). */
  dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
    return this.k.dot(a.byteOffset + 4 * ao, b.byteOffset + 4 * bo, n);
  }

  /** y[yo + i] += alpha·x[xo + i] over i < n. */
  axpy(alpha: number, x: Float32Array, xo: number, y: Float32Array, yo: number, n: number): void {
    this.k.axpy(alpha, x.byteOffset + 4 * xo, y.byteOffset + 4 * yo, n);
  }

  /** Rescales x[o, o + n) to unit norm: divides by the float32 norm, as torch's `w /= w.norm()`. */
  normalize(x: Float32Array, o: number, n: number): void {
    const p = x.byteOffset + 4 * o;
    this.k.divide(p, Math.fround(Math.sqrt(this.k.dot(p, p, n))), n);
  }

  /**
   * One Adam step (torch semantics, float32) on elements [o, o + n) of a parameter; `g` null = a zero
   * gradient (the moments decay and the parameter still moves, exactly as torch's dense update does).
   */
  adam(a: AdamArrays, g: Float32Array | null, o: number, n: number, s: AdamStepScalars): void {
    const b = 4 * o;
    this.k.adam(
      a.p.byteOffset + b,
      g === null ? -1 : g.byteOffset + b,
      a.m.byteOffset + b,
      a.v.byteOffset + b,
      n,
      s.beta1,
      1 - s.beta1,
      s.beta2,
      1 - s.beta2,
      s.stepSize,
      s.bc2Sqrt,
      s.eps,
    );
  }
}

/** A parameter and its Adam moments, all in one TrainingMemory. */
export interface AdamArrays {
  p: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** The scalars of Adam step t: stepSize = lr / (1 − β1ᵗ), bc2Sqrt = √(1 − β2ᵗ). */
export interface AdamStepScalars {
  beta1: number;
  beta2: number;
  eps: number;
  stepSize: number;
  bc2Sqrt: number;
}
