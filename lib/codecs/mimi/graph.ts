/**
 * Mimi encoder side as one ONNX graph, mirroring moshi v0.2.13 (`models/compression.py`, `modules/seanet.py`,
 * `modules/transformer.py`, `modules/rope.py`, `quantization/vq.py`) in non-streaming eval mode:
 *   causal SEANet (25 Hz) → encoder transformer (pre-norm, RoPE, causal sliding-window attention, LayerScale)
 *   → causal stride-2 conv with replicate left padding (12.5 Hz latent)
 *   → split RVQ: `rvq_first` (semantic, 1 level) and `rvq_rest` (acoustic) both quantize input_proj(latent);
 *     ê = out_first(E⁰[c₀]) + out_rest(Σ_k E^k[c_k]).
 * The RoPE tables and the attention mask depend on the number of frames, so they are graph inputs computed in
 * TypeScript (`mimiAuxFeeds`). Outputs: "latent" [T, D], "ehat" [T, D], "codes" [T, n_q] int64.
 */
import { type MimiConfig, mimiDownsampleStride } from "./config.ts";
import { conv1d, euclideanRvq, loadConv, Net, seanetPadding, type Seq, timeMajor } from "../nn/layers.ts";
import { float } from "../../formats/onnx.ts";
import { seanetEncoder } from "../nn/seanet.ts";
import { floatData, getTensor, type TensorMap } from "../../formats/safetensors.ts";

const SOURCE = "Mimi weights";

function tensor(w: TensorMap, name: string, shape: number[]): Float32Array {
  return floatData(getTensor(w, name, shape, SOURCE), name);
}

/** Row-major [rows, cols] → [cols, rows], so that x · Wᵀ is a MatMul with the transposed constant. */
function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
}

/** x [T, in] · Wᵀ for a torch Linear / 1×1 conv weight W [out, in(, 1)] without bias. */
function linear(net: Net, x: string, w: Float32Array, out: number, inp: number): string {
  return net.g.op("MatMul", [x, net.g.constant("lin_wt", transpose(w, out, inp), [inp, out])]);
}

/** Names of the length-dependent float inputs. */
const ROPE_COS = "rope_cos";
const ROPE_SIN = "rope_sin";
const ATTN_BIAS = "attn_bias";

/** Interleaved-pair RoPE on x [1, H, T, Dh]: (re, im) = (x[2i], x[2i+1]) rotated by t·freq_i. */
function rope(net: Net, x: string, headDim: number): string {
  const g = net.g;
  const pairs = g.op("Reshape", [x, g.ints([1, 0, 0, headDim / 2, 2])], {});
  const [re, im] = g.node("Split", [pairs, g.ints([1, 1])], { axis: 4 }, 2);
  const cos = g.op("Unsqueeze", [ROPE_COS, g.ints([2])]); // [T, Dh/2, 1]
  const sin = g.op("Unsqueeze", [ROPE_SIN, g.ints([2])]);
  const outRe = g.op("Sub", [g.op("Mul", [re, cos]), g.op("Mul", [im, sin])]);
  const outIm = g.op("Add", [g.op("Mul", [re, sin]), g.op("Mul", [im, cos])]);
  return g.op("Reshape", [g.op("Concat", [outRe, outIm], { axis: 4 }), g.ints([1, 0, 0, headDim])]);
}

/** One `StreamingTransformerLayer` on time-major x [T, C]. */
function transformerLayer(net: Net, x: string, w: TensorMap, p: string, cfg: MimiConfig): string {
  const g = net.g;
  const { dModel: C, numHeads: H, dimFeedforward: F } = cfg.transformer;
  const Dh = C / H;
  const layerNorm = (h: string, n: string) =>
    g.op("LayerNormalization", [
      h,
      g.constant("ln_w", tensor(w, `${p}.${n}.weight`, [C]), [C]),
      g.constant("ln_b", tensor(w, `${p}.${n}.bias`, [C]), [C]),
    ], { axis: -1, epsilon: float(1e-5) });
  const scale = (h: string, n: string) =>
    g.op("Mul", [h, g.constant("ls", tensor(w, `${p}.${n}.scale`, [C]), [C])]);

  // Self-attention: in_proj rows are (q | k | v) × head × head_dim.
  const qkv = linear(
    net,
    layerNorm(x, "norm1"),
    tensor(w, `${p}.self_attn.in_proj_weight`, [3 * C, C]),
    3 * C,
    C,
  );
  const heads = g.op("Transpose", [g.op("Reshape", [qkv, g.ints([0, 3, H, Dh])])], { perm: [1, 2, 0, 3] });
  const [q, k, v] = g.node("Split", [heads, g.ints([1, 1, 1])], { axis: 0 }, 3); // each [1, H, T, Dh]
  const scores = g.op("Mul", [
    g.op("MatMul", [rope(net, q, Dh), g.op("Transpose", [rope(net, k, Dh)], { perm: [0, 1, 3, 2] })]),
    g.constant("inv_sqrt_dh", new Float32Array([1 / Math.sqrt(Dh)]), [1]),
  ]);
  const attn = g.op("Softmax", [g.op("Add", [scores, ATTN_BIAS])], { axis: -1 });
  const ctx = g.op("Reshape", [
    g.op("Transpose", [g.op("MatMul", [attn, v])], { perm: [0, 2, 1, 3] }),
    g.ints([-1, C]),
  ]);
  const sa = linear(net, ctx, tensor(w, `${p}.self_attn.out_proj.weight`, [C, C]), C, C);
  x = g.op("Add", [x, scale(sa, "layer_scale_1")]);

  // Feed-forward: linear2(GELU(linear1(LN2(x)))), exact erf GELU, no biases.
  const h1 = linear(net, layerNorm(x, "norm2"), tensor(w, `${p}.linear1.weight`, [F, C]), F, C);
  const erf = g.op("Erf", [g.op("Mul", [h1, g.constant("rsqrt2", new Float32Array([Math.SQRT1_2]), [1])])]);
  const gelu = g.op("Mul", [
    g.op("Mul", [h1, g.constant("half", new Float32Array([0.5]), [1])]),
    g.op("Add", [erf, g.constant("one", new Float32Array([1]), [1])]),
  ]);
  const ff = linear(net, gelu, tensor(w, `${p}.linear2.weight`, [C, F]), C, F);
  return g.op("Add", [x, scale(ff, "layer_scale_2")]);
}

/** `encoder_transformer` (conv layout in and out): [1, C, T'] → [1, C, T']. */
export function mimiTransformer(net: Net, x: Seq, w: TensorMap, cfg: MimiConfig): Seq {
  const g = net.g;
  let h = timeMajor(net, x);
  for (let i = 0; i < cfg.transformer.numLayers; i++) {
    h = transformerLayer(net, h, w, `encoder_transformer.transformer.layers.${i}`, cfg);
  }
  const name = g.op("Transpose", [g.op("Unsqueeze", [h, g.ints([0])])], { perm: [0, 2, 1] });
  return { ...x, name };
}

/** The split RVQ on the time-major latent [T, D] with `nQ` levels in all (1 semantic + nQ − 1 acoustic). */
export function mimiQuantizer(net: Net, latentTD: string, w: TensorMap, cfg: MimiConfig, nQ: number): {
  codes: string;
  ehat: string;
} {
  const g = net.g;
  const { dimension: d, bins, inputDimension: D, outputDimension: Dout, nQSemantic } = cfg.quantizer;
  const branch = (name: string, levels: number) => {
    const p = `quantizer.${name}`;
    const books: Float32Array[] = [];
    for (let l = 0; l < levels; l++) {
      const c = `${p}.vq.layers.${l}._codebook`;
      const sum = tensor(w, `${c}.embedding_sum`, [bins, d]);
      const usage = tensor(w, `${c}.cluster_usage`, [bins]);
      // E = embedding_sum / cluster_usage.clamp(min=1e-5), in float32 (a double quotient rounded once is exact).
      books.push(sum.map((v, i) => Math.fround(v / Math.max(usage[Math.floor(i / d)], Math.fround(1e-5)))));
    }
    const r = linear(net, latentTD, tensor(w, `${p}.input_proj.weight`, [d, D, 1]), d, D);
    const { codes, ehat } = euclideanRvq(net, r, books, d);
    return { codes, ehat: linear(net, ehat, tensor(w, `${p}.output_proj.weight`, [Dout, d, 1]), Dout, d) };
  };
  const first = branch("rvq_first", nQSemantic);
  if (nQ === nQSemantic) return first;
  const rest = branch("rvq_rest", nQ - nQSemantic);
  return {
    codes: g.op("Concat", [first.codes, rest.codes], { axis: 1 }),
    ehat: g.op("Add", [first.ehat, rest.ehat]),
  };
}

/** The whole ê graph: audio [1, 1, L] (L a multiple of the frame hop) → latent, ehat [T, D], codes [T, nQ]. */
export function buildMimiGraph(w: TensorMap, cfg: MimiConfig, nQ: number): Net {
  if (!Number.isInteger(nQ) || nQ < cfg.quantizer.nQSemantic || nQ > cfg.quantizer.nQ) {
    throw new Error(
      `Mimi: number of codebooks must be ${cfg.quantizer.nQSemantic}..${cfg.quantizer.nQ}, got ${nQ}`,
    );
  }
  const net = new Net("mimi");
  const g = net.g;
  const { dModel, numHeads } = cfg.transformer;
  g.input(ROPE_COS, ["T25", dModel / numHeads / 2]);
  g.input(ROPE_SIN, ["T25", dModel / numHeads / 2]);
  g.input(ATTN_BIAS, ["T25", "T25"]);
  let h = seanetEncoder(net, net.audio(), w, "encoder", cfg.seanet);
  h = mimiTransformer(net, h, w, cfg);
  const stride = mimiDownsampleStride(cfg);
  if (stride > 1) {
    const prefix = "downsample.conv.conv.conv";
    const conv = loadConv(w, prefix, SOURCE);
    h = conv1d(net, h, conv, {
      stride,
      padding: seanetPadding({ kernel: conv.shape[2], stride, causal: true, mode: "edge" }),
    });
  }
  const latentTD = timeMajor(net, h);
  const { codes, ehat } = mimiQuantizer(net, latentTD, w, cfg, nQ);
  g.output(latentTD, "latent");
  g.output(ehat, "ehat");
  g.output(codes, "codes", undefined, 7);
  return net;
}

/** RoPE tables [T', Dh/2] and the sliding-window causal mask [T', T'] for T' encoder frames (float32 as torch). */
export function mimiAuxFeeds(
  cfg: MimiConfig,
  frames: number,
): Record<string, { data: Float32Array; dims: number[] }> {
  const { dModel, numHeads, context, maxPeriod } = cfg.transformer;
  const half = dModel / numHeads / 2;
  const f = Math.fround;
  const step = f((-Math.log(maxPeriod) * 2) / (2 * half));
  const cos = new Float32Array(frames * half);
  const sin = new Float32Array(frames * half);
  for (let i = 0; i < half; i++) {
    const freq = f(Math.exp(f(i * step)));
    for (let t = 0; t < frames; t++) {
      const angle = f(freq * t);
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = Math.sin(angle);
    }
  }
  const bias = new Float32Array(frames * frames).fill(-Infinity);
  for (let i = 0; i < frames; i++) {
    for (let j = Math.max(0, i - context + 1); j <= i; j++) bias[i * frames + j] = 0;
  }
  return {
    [ROPE_COS]: { data: cos, dims: [frames, half] },
    [ROPE_SIN]: { data: sin, dims: [frames, half] },
    [ATTN_BIAS]: { data: bias, dims: [frames, frames] },
  };
}
