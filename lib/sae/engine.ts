/**
 * The SAE's compute engines: forward + backward of one batch, producing the loss, the top-k activations and
 * the gradients of W_enc, W_dec (as W_decᵀ rows) and b_pre with the reference's loss (mean over batch and
 * features). Both run the encoder matmul in onnxruntime-node (MLAS SGEMM, the fastest npm-installable CPU
 * GEMM here, ~85–99 GFLOP/s on 2 threads), with the weights passed zero-copy as input tensors.
 *
 * Why two engines (measured, see BENCHMARKS.md "SAE engine"): TopK makes everything after the encoder touch
 * only k of d_z latents per sample.
 * - "sparse": ORT runs Gemm + TopK; the decoder, dW_dec, dW_enc and the b_pre gradient are ~5·B·k·d
 *   multiply-adds over the active latents only, in the training memory's SIMD kernels (kernels.ts), latent by
 *   latent so each weight row is read once per batch. Wins when k/d_z is small: at d=1024, q=20, s=0.05 it
 *   does 1 dense GEMM where autograd does 6.
 * - "dense": one ORT graph with the full dense forward/backward (6 GEMMs, like autograd). Wins when
 *   k/d_z is large (q=2, s=0.5: k/d_z = 0.25), where the sparse loops would do more work than fast GEMMs.
 * "auto" picks sparse when k/d_z ≤ SPARSE_MAX_DENSITY (the crossover measured on this machine).
 *
 * Results do not depend on the thread count (see ort_threads.ts): every GEMM either has its K dimension summed
 * in blocks that MLAS fixes whatever the threads (TransA, or K ≤ 128), or runs with only as many threads as keep
 * each thread's slice of N at least K wide; everything else reduces in a fixed order (JS loops, or the training
 * memory's SIMD kernels, whose sums never depend on anything but their inputs).
 */
import * as ort from "onnxruntime-node";
import { DType as ELEM, onnxModel } from "../formats/onnx.ts";
import type { SaeModel } from "./model.ts";
import { denseThreads, gemmThreads } from "./ort_threads.ts";
import { TrainingMemory } from "./kernels.ts";

/** Crossover of the two engines in k/d_z, measured at d = 1024 and d = 64 (BENCHMARKS.md "Engine choice"). */
export const SPARSE_MAX_DENSITY = 0.04;

export interface BatchResult {
  /** Σ‖u − û‖² over the batch (float64 accumulation). */
  sse: number;
  /** Top-k pre-activations per row (rows × k, before ReLU) and their latent indices. */
  vals: Float32Array;
  idx: Int32Array;
  /** AuxK's loss term for the batch (already scaled by its coefficient), when AuxK is on. */
  auxLoss?: number;
}

export interface Grads {
  wEnc: Float32Array;
  wDecT: Float32Array;
  bPre: Float32Array;
  /** Latent rows whose gradient may be nonzero after the last batch; null = all rows. */
  touched: Uint8Array | null;
}

export interface Engine {
  readonly kind: "sparse" | "dense";
  readonly grads: Grads;
  /** AuxK only: per latent, training samples seen since it last fired (part of the training state). */
  readonly deadStats?: Float64Array | null;
  /** Forward + backward on `rows` samples (row-major rows × d), writing `grads` (overwritten, not summed). */
  step(u: Float32Array, rows: number): Promise<BatchResult>;
  /** Forward only (top-k, for encoding / validation). */
  encode(u: Float32Array, rows: number): Promise<{ vals: Float32Array; idx: Int32Array }>;
  release(): Promise<void>;
}

function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    // Off: ORT's basic fusions rewrite our TransA Gemms + Transpose back into NoTrans Gemms whose K blocking
    // depends on the thread count (see gemmThreads); these small graphs gain nothing measurable from them.
    graphOptimizationLevel: "disabled",
  };
}

/** Default intra-op threads for ORT: 2 (the machine's cores and the benchmarks' setting); callers pass theirs. */
export function engineThreads(): number {
  return Math.min(2, navigator.hardwareConcurrency || 2);
}

/**
 * Gemm + TopK; with `kAux` also AuxK's top-kAux over dead latents: `dead_bias` is 0 for dead latents and
 * −1e30 for live ones, so live latents only fill the list when fewer than kAux are dead, and ReLU drops them.
 */
function encoderGraph(d: number, dZ: number, k: number, kAux = 0): Uint8Array {
  const topk = { axis: 1, largest: 1, sorted: 1 };
  return onnxModel("sae_encoder", [
    { op: "Gemm", inputs: ["x", "w_enc"], outputs: ["pre"], attrs: { transB: 1 } },
    { op: "TopK", inputs: ["pre", "k"], outputs: ["vals", "idx"], attrs: topk },
    ...(kAux > 0
      ? [
        { op: "Add", inputs: ["pre", "dead_bias"], outputs: ["pre_dead"] },
        { op: "TopK", inputs: ["pre_dead", "k_aux"], outputs: ["aux_vals", "aux_idx"], attrs: topk },
      ]
      : []),
  ], [
    { name: "x", elem: ELEM.FLOAT, shape: ["B", d] },
    { name: "w_enc", elem: ELEM.FLOAT, shape: [dZ, d] },
    { name: "k", elem: ELEM.INT64, shape: [1] },
    ...(kAux > 0
      ? [
        { name: "dead_bias", elem: ELEM.FLOAT, shape: [dZ] },
        { name: "k_aux", elem: ELEM.INT64, shape: [1] },
      ]
      : []),
  ], [
    { name: "vals", elem: ELEM.FLOAT, shape: ["B", k] },
    { name: "idx", elem: ELEM.INT64, shape: ["B", k] },
    ...(kAux > 0
      ? [
        { name: "aux_vals", elem: ELEM.FLOAT, shape: ["B", kAux] },
        { name: "aux_idx", elem: ELEM.INT64, shape: ["B", kAux] },
      ]
      : []),
  ]);
}

/**
 * Full dense forward/backward; `c` = 2/(B·d) is dL/dû per residual unit for the mean-squared loss. Every Gemm is
 * NoTrans, MLAS's fastest form here (threads: `denseThreads`).
 */
function denseGraph(d: number, dZ: number, k: number): Uint8Array {
  return onnxModel("sae_dense_step", [
    { op: "Sub", inputs: ["u", "b_pre"], outputs: ["x"] },
    { op: "Gemm", inputs: ["x", "w_enc"], outputs: ["pre"], attrs: { transB: 1 } },
    // Unsorted: nothing downstream depends on the order within a row (ORT's selection is deterministic).
    { op: "TopK", inputs: ["pre", "k"], outputs: ["vals", "idx"], attrs: { axis: 1, largest: 1, sorted: 0 } },
    { op: "Relu", inputs: ["vals"], outputs: ["zv"] },
    { op: "Shape", inputs: ["pre"], outputs: ["pre_shape"] },
    { op: "ConstantOfShape", inputs: ["pre_shape"], outputs: ["zeros"] },
    { op: "ScatterElements", inputs: ["zeros", "idx", "zv"], outputs: ["z"], attrs: { axis: 1 } },
    { op: "Gemm", inputs: ["z", "w_dec_t"], outputs: ["zd"] },
    { op: "Add", inputs: ["zd", "b_pre"], outputs: ["u_hat"] },
    { op: "Sub", inputs: ["u_hat", "u"], outputs: ["r"] },
    { op: "Mul", inputs: ["r", "r"], outputs: ["r2"] },
    { op: "ReduceSum", inputs: ["r2"], outputs: ["sse"], attrs: { keepdims: 0 } },
    { op: "Mul", inputs: ["r", "c"], outputs: ["du"] },
    { op: "Gemm", inputs: ["du", "w_dec_t"], outputs: ["dz"], attrs: { transB: 1 } },
    { op: "Greater", inputs: ["z", "zero"], outputs: ["on"] },
    { op: "Cast", inputs: ["on"], outputs: ["on_f"], attrs: { to: ELEM.FLOAT } },
    { op: "Mul", inputs: ["dz", "on_f"], outputs: ["dpre"] },
    // The d_z × d gradients as the transposes of (d × B)·(B × d_z) products: MLAS runs that form ~25 % faster.
    { op: "Transpose", inputs: ["x"], outputs: ["x_t"], attrs: { perm: [1, 0] } },
    { op: "Gemm", inputs: ["x_t", "dpre"], outputs: ["g_w_enc_t"] },
    { op: "Transpose", inputs: ["g_w_enc_t"], outputs: ["g_w_enc"], attrs: { perm: [1, 0] } },
    { op: "Transpose", inputs: ["du"], outputs: ["du_t"], attrs: { perm: [1, 0] } },
    { op: "Gemm", inputs: ["du_t", "z"], outputs: ["g_w_dec"] },
    { op: "Transpose", inputs: ["g_w_dec"], outputs: ["g_w_dec_t"], attrs: { perm: [1, 0] } },
    { op: "Gemm", inputs: ["dpre", "w_enc"], outputs: ["dx"] },
    { op: "Sub", inputs: ["du", "dx"], outputs: ["db"] },
    { op: "ReduceSum", inputs: ["db", "axis0"], outputs: ["g_b_pre"], attrs: { keepdims: 0 } },
  ], [
    { name: "u", elem: ELEM.FLOAT, shape: ["B", d] },
    { name: "b_pre", elem: ELEM.FLOAT, shape: [d] },
    { name: "w_enc", elem: ELEM.FLOAT, shape: [dZ, d] },
    { name: "w_dec_t", elem: ELEM.FLOAT, shape: [dZ, d] },
    { name: "k", elem: ELEM.INT64, shape: [1] },
    { name: "c", elem: ELEM.FLOAT, shape: [] },
    { name: "zero", elem: ELEM.FLOAT, shape: [] },
    { name: "axis0", elem: ELEM.INT64, shape: [1] },
  ], [
    { name: "sse", elem: ELEM.FLOAT, shape: [] },
    { name: "vals", elem: ELEM.FLOAT, shape: ["B", k] },
    { name: "idx", elem: ELEM.INT64, shape: ["B", k] },
    { name: "g_w_enc", elem: ELEM.FLOAT, shape: [dZ, d] },
    { name: "g_w_dec_t", elem: ELEM.FLOAT, shape: [dZ, d] },
    { name: "g_b_pre", elem: ELEM.FLOAT, shape: [d] },
  ]);
}

/** Output buffers for a batch size, reused across steps (ORT writes into them). */
class TopKBuffers {
  private cache = new Map<number, { vals: Float32Array; idx64: BigInt64Array; idx: Int32Array }>();
  constructor(private readonly k: number) {}
  get(rows: number) {
    let b = this.cache.get(rows);
    if (!b) {
      const idx64 = new BigInt64Array(rows * this.k);
      b = { vals: new Float32Array(rows * this.k), idx64, idx: new Int32Array(rows * this.k) };
      this.cache.set(rows, b);
    }
    return b;
  }
  /** Narrows ORT's int64 indices to int32 (latent indices are < 2³¹). */
  narrow(b: { idx64: BigInt64Array; idx: Int32Array }): void {
    const lo = new Int32Array(b.idx64.buffer, b.idx64.byteOffset, b.idx64.length * 2);
    for (let i = 0; i < b.idx.length; i++) b.idx[i] = lo[2 * i];
  }
}

/** Runs the encoder graph (Gemm + TopK) on x = u − b_pre. Shared by both engines for forward-only use. */
class Encoder {
  private readonly buffers: TopKBuffers;
  private readonly auxBuffers: TopKBuffers | null;
  private readonly xbuf: Map<number, Float32Array> = new Map();
  /** AuxK only: 0 for dead latents, −1e30 for live ones (set by the engine before each step). */
  readonly deadBias: Float32Array | null;
  /** AuxK only: the last call's top-kAux over dead latents. */
  aux: { vals: Float32Array; idx: Int32Array } | null = null;
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly model: SaeModel,
    private readonly kAux: number,
    private readonly workspace: Float32Array | null,
  ) {
    this.buffers = new TopKBuffers(model.config.k);
    this.auxBuffers = kAux > 0 ? new TopKBuffers(kAux) : null;
    this.deadBias = kAux > 0 ? new Float32Array(model.config.dZ) : null;
  }
  /** `workspace` (batchSize × d, in the training memory) holds the centred inputs the sparse backward reads. */
  static async create(
    model: SaeModel,
    threads: number,
    kAux = 0,
    workspace: Float32Array | null = null,
  ): Promise<Encoder> {
    const { dIn, dZ, k } = model.config;
    const session = await ort.InferenceSession.create(
      encoderGraph(dIn, dZ, k, kAux),
      sessionOptions(gemmThreads(dZ, dIn, threads)),
    );
    return new Encoder(session, model, kAux, workspace);
  }
  /** Centred inputs x = u − b_pre of the last call (rows × d). */
  centred(rows: number): Float32Array {
    const n = rows * this.model.config.dIn;
    if (this.workspace && n <= this.workspace.length) return this.workspace.subarray(0, n);
    let x = this.xbuf.get(rows);
    if (!x) this.xbuf.set(rows, x = new Float32Array(rows * this.model.config.dIn));
    return x;
  }
  async run(
    u: Float32Array,
    rows: number,
  ): Promise<{ vals: Float32Array; idx: Int32Array; x: Float32Array }> {
    const { dIn: d, dZ, k } = this.model.config;
    const b = this.model.bPre;
    const x = this.centred(rows);
    for (let r = 0; r < rows; r++) {
      const o = r * d;
      for (let i = 0; i < d; i++) x[o + i] = u[o + i] - b[i];
    }
    const out = this.buffers.get(rows);
    const feeds: Record<string, ort.Tensor> = {
      x: new ort.Tensor("float32", x, [rows, d]),
      w_enc: new ort.Tensor("float32", this.model.wEnc, [dZ, d]),
      k: new ort.Tensor("int64", BigInt64Array.of(BigInt(k)), [1]),
    };
    const fetches: Record<string, ort.Tensor> = {
      vals: new ort.Tensor("float32", out.vals, [rows, k]),
      idx: new ort.Tensor("int64", out.idx64, [rows, k]),
    };
    const aux = this.auxBuffers?.get(rows);
    if (aux) {
      feeds.dead_bias = new ort.Tensor("float32", this.deadBias!, [dZ]);
      feeds.k_aux = new ort.Tensor("int64", BigInt64Array.of(BigInt(this.kAux)), [1]);
      fetches.aux_vals = new ort.Tensor("float32", aux.vals, [rows, this.kAux]);
      fetches.aux_idx = new ort.Tensor("int64", aux.idx64, [rows, this.kAux]);
    }
    await this.session.run(feeds, fetches);
    this.buffers.narrow(out);
    if (aux) {
      this.auxBuffers!.narrow(aux);
      this.aux = { vals: aux.vals, idx: aux.idx };
    }
    return { vals: out.vals, idx: out.idx, x };
  }
  release(): Promise<void> {
    return this.session.release();
  }
}

/**
 * Gemm + TopK in ORT, then the sparse decoder and backward over the active latents in the training memory's
 * kernels (+ AuxK if configured).
 */
class SparseEngine implements Engine {
  readonly kind = "sparse" as const;
  readonly grads: Grads;
  readonly deadStats: Float64Array | null;
  private readonly touchedList: Int32Array;
  private nTouched = 0;
  /** û, then dL/dû, per sample (batchSize × d). */
  private readonly du: Float32Array;
  /** û − u per sample (AuxK's target). */
  private readonly res: Float32Array;
  /** dL/dx per sample, x = u − b_pre. */
  private readonly dx: Float32Array;
  private readonly eHat: Float32Array;
  /** The batch's active (sample, slot) pairs grouped by latent: pairStart[j] .. pairStart[j + 1] in pairs. */
  private readonly pairStart: Int32Array;
  private readonly pairs: Int32Array;
  /** groupByLatent's write positions (reused: no allocation per step). */
  private readonly pairNext: Int32Array;
  /** `x` is the encoder's workspace: the batch's centred inputs, in `mem`. */
  constructor(
    private readonly model: SaeModel,
    private readonly encoder: Encoder,
    private readonly mem: TrainingMemory,
    private readonly x: Float32Array,
    deadStats?: Float64Array,
  ) {
    const { dIn: d, dZ, batchSize, k } = model.config;
    this.grads = {
      wEnc: mem.alloc(dZ * d),
      wDecT: mem.alloc(dZ * d),
      bPre: mem.alloc(d),
      touched: new Uint8Array(dZ),
    };
    this.touchedList = new Int32Array(dZ);
    this.du = mem.alloc(batchSize * d);
    this.res = mem.alloc(batchSize * d);
    this.dx = mem.alloc(batchSize * d);
    this.eHat = mem.alloc(d);
    this.pairStart = new Int32Array(dZ + 1);
    this.pairs = new Int32Array(batchSize * k);
    this.pairNext = new Int32Array(dZ);
    this.deadStats = model.config.auxK
      ? (deadStats ? Float64Array.from(deadStats) : new Float64Array(dZ))
      : null;
  }

  encode(u: Float32Array, rows: number) {
    return this.encoder.run(u, rows);
  }

  private touch(j: number): void {
    const touched = this.grads.touched!;
    if (touched[j] === 0) {
      touched[j] = 1;
      this.touchedList[this.nTouched++] = j;
    }
  }

  /** Zeroes the gradient rows the previous batch wrote. */
  private clearGrads(): void {
    const d = this.model.config.dIn, g = this.grads;
    for (let t = 0; t < this.nTouched; t++) {
      const j = this.touchedList[t], o = j * d;
      g.wEnc.fill(0, o, o + d);
      g.wDecT.fill(0, o, o + d);
      g.touched![j] = 0;
    }
    this.nTouched = 0;
  }

  /** Counting sort of the active pairs (z = ReLU(pre) > 0) by latent into pairStart / pairs. */
  private groupByLatent(vals: Float32Array, idx: Int32Array, n: number): void {
    const start = this.pairStart, pairs = this.pairs;
    start.fill(0);
    for (let a = 0; a < n; a++) if (vals[a] > 0) start[idx[a] + 1]++;
    for (let j = 1; j < start.length; j++) start[j] += start[j - 1];
    const next = this.pairNext;
    next.set(start.subarray(0, next.length));
    for (let a = 0; a < n; a++) if (vals[a] > 0) pairs[next[idx[a]]++] = a;
  }

  /**
   * Backward of latent j at sample r with activation zj > 0 and upstream gradient `up` at `uo` (dL/dû or
   * dL/dê, d values): dz_j = up · W_dec[:, j]; dW_dec[:, j] += z_j up; dW_enc[j] += dz_j x_r; dx_r += dz_j W_enc[j].
   */
  private latentBackward(j: number, zj: number, up: Float32Array, uo: number, ro: number): void {
    const d = this.model.config.dIn, mem = this.mem, wo = j * d, x = this.x;
    const dz = mem.dot(up, uo, this.model.wDecT, wo, d); // dpre_j = dz_j (ReLU passes, z_j > 0)
    mem.axpy(zj, up, uo, this.grads.wDecT, wo, d);
    mem.axpy(dz, x, ro, this.grads.wEnc, wo, d);
    mem.axpy(dz, this.model.wEnc, wo, this.dx, ro, d);
  }

  async step(u: Float32Array, rows: number): Promise<BatchResult> {
    const { dIn: d, dZ, k } = this.model.config;
    const aux = this.model.config.auxK;
    const { wDecT, bPre } = this.model;
    const mem = this.mem, du = this.du, res = this.res, dx = this.dx;
    this.clearGrads();
    const stats = this.deadStats;
    if (aux && stats) {
      const bias = this.encoder.deadBias!;
      for (let j = 0; j < dZ; j++) bias[j] = stats[j] >= aux.deadSamples ? 0 : -1e30;
    }
    const { vals, idx } = await this.encoder.run(u, rows);
    this.groupByLatent(vals, idx, rows * k);
    const start = this.pairStart, pairs = this.pairs;
    // û = W_dec z + b_pre over the active latents only, latent by latent (each atom read once).
    for (let r = 0; r < rows; r++) du.set(bPre, r * d);
    for (let j = 0; j < dZ; j++) {
      for (let p = start[j]; p < start[j + 1]; p++) {
        const a = pairs[p];
        mem.axpy(vals[a], wDecT, j * d, du, ((a / k) | 0) * d, d);
      }
    }
    // residual û − u, then dL/dû = c·(û − u) in place, c = d(mean squared error)/dû
    const c = 2 / (rows * d);
    let sse = 0;
    for (let i = 0; i < rows * d; i++) {
      const e = (res[i] = du[i] - u[i]);
      sse += e * e;
      du[i] = c * e;
    }
    dx.fill(0, 0, rows * d);
    for (let j = 0; j < dZ; j++) {
      if (start[j] === start[j + 1]) continue;
      this.touch(j);
      for (let p = start[j]; p < start[j + 1]; p++) {
        const a = pairs[p], ro = ((a / k) | 0) * d;
        this.latentBackward(j, vals[a], du, ro, ro);
      }
    }
    let auxLoss = 0;
    if (aux) { for (let r = 0; r < rows; r++) auxLoss += this.auxBackward(r, rows); }
    // b_pre enters û directly (+) and the encoder through x = u − b_pre (−).
    const gb = new Float64Array(d);
    for (let r = 0; r < rows; r++) {
      const ro = r * d;
      for (let i = 0; i < d; i++) gb[i] += du[ro + i] - dx[ro + i];
    }
    this.grads.bPre.set(gb);
    if (stats) {
      for (let j = 0; j < dZ; j++) stats[j] += rows;
      for (let a = 0; a < rows * k; a++) if (vals[a] > 0) stats[idx[a]] = 0;
    }
    return { sse, vals, idx, auxLoss: aux ? auxLoss : undefined };
  }

  /**
   * AuxK for sample r: ê = W_dec z_aux over the top-kAux dead latents reconstructs e = u − û (detached);
   * loss coef/B · Σ(ê − e)² / Σ(e + b_pre)². Adds its gradients; returns this sample's loss term.
   */
  private auxBackward(r: number, rows: number): number {
    const { dIn: d } = this.model.config;
    const { kAux, coef } = this.model.config.auxK!;
    const { wDecT, bPre } = this.model;
    const mem = this.mem, eHat = this.eHat, res = this.res, ro = r * d;
    const av = this.encoder.aux!.vals, ai = this.encoder.aux!.idx, ko = r * kAux;
    eHat.fill(0);
    let any = false;
    for (let a = 0; a < kAux; a++) {
      const zj = av[ko + a];
      if (!(zj > 0)) continue;
      any = true;
      mem.axpy(zj, wDecT, ai[ko + a] * d, eHat, 0, d);
    }
    let num = 0, den = 0;
    for (let i = 0; i < d; i++) {
      const e = -res[ro + i]; // u − û
      num += (eHat[i] - e) ** 2;
      den += (e + bPre[i]) ** 2;
    }
    if (!(den > 0)) return 0; // degenerate target: the reference's nan_to_num(0)
    if (!any) return (coef * num) / den / rows; // no dead latent fired: a constant term, no gradient
    const scale = (2 * coef) / (rows * den);
    for (let i = 0; i < d; i++) eHat[i] = scale * (eHat[i] + res[ro + i]); // dL_aux/dê = scale · (ê − e)
    for (let a = 0; a < kAux; a++) {
      const zj = av[ko + a];
      if (!(zj > 0)) continue;
      this.touch(ai[ko + a]);
      this.latentBackward(ai[ko + a], zj, eHat, 0, ro);
    }
    return (coef * num) / den / rows;
  }

  release(): Promise<void> {
    return this.encoder.release();
  }
}

/** The whole dense forward/backward as one ORT graph; gradients land directly in our buffers. */
class DenseEngine implements Engine {
  readonly kind = "dense" as const;
  readonly grads: Grads;
  private readonly buffers: TopKBuffers;
  private readonly sse = new Float32Array(1);
  private constructor(
    private readonly model: SaeModel,
    private readonly session: ort.InferenceSession,
    private readonly encoder: Encoder,
    mem: TrainingMemory,
  ) {
    const { dIn: d, dZ, k } = model.config;
    this.grads = { wEnc: mem.alloc(dZ * d), wDecT: mem.alloc(dZ * d), bPre: mem.alloc(d), touched: null };
    this.buffers = new TopKBuffers(k);
  }
  static async create(
    model: SaeModel,
    threads: number,
    encoder: Encoder,
    mem: TrainingMemory,
  ): Promise<DenseEngine> {
    const { dIn, dZ, k } = model.config;
    // Threads: see denseThreads.
    const session = await ort.InferenceSession.create(
      denseGraph(dIn, dZ, k),
      sessionOptions(denseThreads(dIn, dZ, model.config.batchSize, threads)),
    );
    return new DenseEngine(model, session, encoder, mem);
  }

  encode(u: Float32Array, rows: number) {
    return this.encoder.run(u, rows);
  }

  async step(u: Float32Array, rows: number): Promise<BatchResult> {
    const { dIn: d, dZ, k } = this.model.config;
    const out = this.buffers.get(rows);
    await this.session.run({
      u: new ort.Tensor("float32", u, [rows, d]),
      b_pre: new ort.Tensor("float32", this.model.bPre, [d]),
      w_enc: new ort.Tensor("float32", this.model.wEnc, [dZ, d]),
      w_dec_t: new ort.Tensor("float32", this.model.wDecT, [dZ, d]),
      k: new ort.Tensor("int64", BigInt64Array.of(BigInt(k)), [1]),
      c: new ort.Tensor("float32", Float32Array.of(2 / (rows * d)), []),
      zero: new ort.Tensor("float32", Float32Array.of(0), []),
      axis0: new ort.Tensor("int64", BigInt64Array.of(0n), [1]),
    }, {
      sse: new ort.Tensor("float32", this.sse, []),
      vals: new ort.Tensor("float32", out.vals, [rows, k]),
      idx: new ort.Tensor("int64", out.idx64, [rows, k]),
      g_w_enc: new ort.Tensor("float32", this.grads.wEnc, [dZ, d]),
      g_w_dec_t: new ort.Tensor("float32", this.grads.wDecT, [dZ, d]),
      g_b_pre: new ort.Tensor("float32", this.grads.bPre, [d]),
    });
    this.buffers.narrow(out);
    return { sse: this.sse[0], vals: out.vals, idx: out.idx };
  }

  async release(): Promise<void> {
    await this.session.release();
    await this.encoder.release();
  }
}

export function chooseEngine(model: SaeModel): "sparse" | "dense" {
  const { k, dZ, engine } = model.config;
  if (engine === "sparse" || engine === "dense") return engine;
  if (model.config.auxK) return "sparse"; // AuxK is implemented by the sparse engine only
  return k / dZ <= SPARSE_MAX_DENSITY ? "sparse" : "dense";
}

/**
 * An engine bound to `model`'s parameter arrays (which it reads in place on every call). The parameters must
 * live in the training memory `mem` its gradients and workspaces are allocated from; without one, a memory
 * sized for the model is made and the model's parameters are moved into it (see bindModel).
 */
export async function createEngine(
  model: SaeModel,
  threads = engineThreads(),
  deadStats?: Float64Array,
  mem?: TrainingMemory,
): Promise<Engine> {
  if (!mem) {
    mem = TrainingMemory.forTraining(model.config);
    bindModel(model, mem);
  }
  if (!mem.holds(model.wEnc) || !mem.holds(model.wDecT) || !mem.holds(model.bPre)) {
    throw new Error(
      "createEngine: the model's parameters are not in the engine's training memory (bindModel)",
    );
  }
  const kind = chooseEngine(model);
  const { batchSize, dIn } = model.config;
  if (kind === "dense") {
    return await DenseEngine.create(model, threads, await Encoder.create(model, threads), mem);
  }
  const x = mem.alloc(batchSize * dIn);
  const encoder = await Encoder.create(model, threads, model.config.auxK?.kAux ?? 0, x);
  return new SparseEngine(model, encoder, mem, x, deadStats);
}

/** Moves the model's parameters into `mem` (their values copied; the model's fields then point there). */
export function bindModel(model: SaeModel, mem: TrainingMemory): void {
  model.wEnc = mem.adopt(model.wEnc);
  model.wDecT = mem.adopt(model.wDecT);
  model.bPre = mem.adopt(model.bPre);
}

/** A forward-only encoder over `model` (no gradient buffers): for encoding and evaluation. */
export async function createEncoder(model: SaeModel, threads = engineThreads()) {
  const encoder = await Encoder.create(model, threads);
  return {
    encode: (u: Float32Array, rows: number) => encoder.run(u, rows),
    release: () => encoder.release(),
  };
}
