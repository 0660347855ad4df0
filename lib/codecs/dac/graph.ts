/**
 * DAC encoder + factorised residual vector quantizer as one ONNX graph (built from config + weights, run by
 * onnxruntime). Mirrors `dac/model/dac.py` and `dac/nn/quantize.py` of descript-audio-codec in eval mode:
 *   encoder = conv7 → per stride [RU(d=1), RU(d=3), RU(d=9), Snake, strided conv] → Snake → conv3,
 *   RU(x) = x + conv1(Snake(conv7_dilated(Snake(x)))), every conv weight-normed with symmetric zero padding;
 *   RVQ stage i on each frame: z_e = in_proj(r), nearest code by cosine (L2-normalised z_e and codebook),
 *   out = out_proj(z_e + (c − z_e)) (the straight-through form), ê += out, r −= out.
 * Outputs: "latent" [T, D] (encoder output), "ehat" [T, D], "codes" [T, n_q] int64, and "projLatents"
 * [T, n_q·codebook_dim] (the per-stage in_proj outputs z_e, the official `latents`, for debugging).
 */
import type { DacConfig } from "./config.ts";
import {
  add,
  conv1d,
  type ConvWeights,
  loadConv,
  Net,
  type Seq,
  snake,
  symmetricPadding,
  timeMajor,
} from "../nn/layers.ts";
import { floatData, getTensor, type TensorMap } from "../../formats/safetensors.ts";

const SOURCE = "DAC weights";

function alpha(w: TensorMap, name: string, channels: number): Float32Array {
  return floatData(getTensor(w, name, [1, channels, 1], SOURCE), name);
}

function checkConv(c: ConvWeights, prefix: string, shape: [number, number, number]): ConvWeights {
  if (c.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${SOURCE}: conv '${prefix}' has weight shape [${c.shape}], expected [${shape}]`);
  }
  return c;
}

/** Smallest |α| for which Snake is folded into the neighbouring convs (the 1e-9 of the official form is negligible). */
const FOLD_MIN_ALPHA = 1e-3;

/** Per-channel scaling of a conv's output channels (weights and bias) or input channels (weights). */
function scaleConv(c: ConvWeights, out?: Float32Array, inp?: Float32Array): ConvWeights {
  const [o, i, k] = c.shape;
  const weight = new Float32Array(c.weight.length);
  for (let a = 0; a < o; a++) {
    for (let b = 0; b < i; b++) {
      const f = (out ? out[a] : 1) * (inp ? inp[b] : 1);
      for (let j = 0; j < k; j++) weight[(a * i + b) * k + j] = c.weight[(a * i + b) * k + j] * f;
    }
  }
  const bias = c.bias && out ? c.bias.map((v, a) => v * out[a]) : c.bias;
  return { weight, shape: c.shape, bias };
}

/**
 * Snake, y = x + (α + 1e-9)⁻¹ · sin²(αx), is evaluated as y = (α + 1e-9)⁻¹ ⊙ v with v = u + sin²(u), u = αx:
 * the per-channel factor (α + 1e-9)⁻¹ goes into the next conv's input channels (exact under zero padding), and
 * when x comes straight from a conv the factor α goes into that conv's output channels. That saves two of the
 * five elementwise passes Snake otherwise costs (a fifth of DAC's time). Layers with some |α| < 1e-3 keep the
 * official form, where the 1e-9 matters.
 */
function canFold(alpha: Float32Array): boolean {
  return alpha.every((a) => Math.abs(a) >= FOLD_MIN_ALPHA);
}

function reciprocal(alpha: Float32Array): Float32Array {
  return alpha.map((a) => 1 / Math.fround(a + 1e-9));
}

/** v = u + sin²(u) (the folded Snake's core). */
function snakeCore(net: Net, u: Seq): Seq {
  const g = net.g;
  const s = g.op("Sin", [u.name]);
  return { ...u, name: g.op("Add", [u.name, g.op("Mul", [s, s])]) };
}

/** Folded Snake on x followed by `conv`: returns v and the conv with the 1/α input scaling. */
function foldedSnakeBefore(
  net: Net,
  x: Seq,
  alpha: Float32Array,
  conv: ConvWeights,
): { h: Seq; conv: ConvWeights } {
  const u = net.g.op("Mul", [x.name, net.g.constant("snake_a", alpha, [1, alpha.length, 1])]);
  return { h: snakeCore(net, { ...x, name: u }), conv: scaleConv(conv, undefined, reciprocal(alpha)) };
}

/** The encoder on the (hop-padded) audio [1, 1, L]; returns the latent [1, D, L/hop]. */
export function dacEncoder(net: Net, x: Seq, w: TensorMap, cfg: DacConfig, fold = true): Seq {
  const foldable = (alpha: Float32Array) => fold && canFold(alpha);
  const snakeBefore = (h: Seq, alpha: Float32Array, conv: ConvWeights) =>
    foldable(alpha) ? foldedSnakeBefore(net, h, alpha, conv) : { h: snake(net, h, alpha), conv };
  const load = (prefix: string, cout: number, cin: number, k: number) =>
    checkConv(loadConv(w, prefix, SOURCE), prefix, [cout, cin, k]);
  const run = (h: Seq, c: ConvWeights, o: { stride?: number; dilation?: number; pad: number }) =>
    conv1d(net, h, c, { stride: o.stride, dilation: o.dilation, padding: symmetricPadding(o.pad) });
  let c = cfg.encoderDim;
  let h = run(x, load("encoder.block.0", c, 1, 7), { pad: 3 });
  cfg.encoderRates.forEach((stride, b) => {
    const block = `encoder.block.${b + 1}.block`;
    [1, 3, 9].forEach((dilation, j) => {
      const ru = `${block}.${j}.block`;
      const a1 = alpha(w, `${ru}.0.alpha`, c);
      const a2 = alpha(w, `${ru}.2.alpha`, c);
      const first = snakeBefore(h, a1, load(`${ru}.1`, c, c, 7));
      let y: Seq;
      let last = load(`${ru}.3`, c, c, 1);
      if (foldable(a2)) {
        // α₂ folded into the dilated conv's outputs, 1/α₂ into the 1×1 conv's inputs.
        y = snakeCore(net, run(first.h, scaleConv(first.conv, a2), { dilation, pad: 3 * dilation }));
        last = scaleConv(last, undefined, reciprocal(a2));
      } else {
        y = snake(net, run(first.h, first.conv, { dilation, pad: 3 * dilation }), a2);
      }
      y = run(y, last, { pad: 0 });
      h = add(net, h, y); // lengths are preserved, so the official centre crop never applies
    });
    const down = snakeBefore(
      h,
      alpha(w, `${block}.3.alpha`, c),
      load(`${block}.4`, 2 * c, c, 2 * stride),
    );
    h = run(down.h, down.conv, { stride, pad: Math.ceil(stride / 2) });
    c *= 2;
  });
  const last = cfg.encoderRates.length + 1;
  const out = snakeBefore(
    h,
    alpha(w, `encoder.block.${last}.alpha`, c),
    load(`encoder.block.${last + 1}`, cfg.latentDim, c, 3),
  );
  return run(out.h, out.conv, { pad: 1 });
}

/** A 1×1 conv as a right-multiplication on time-major rows: [T, in] · Wᵀ + b. */
function pointwise(net: Net, x: string, c: ConvWeights): string {
  const g = net.g;
  const [out, inp] = c.shape;
  const wt = new Float32Array(inp * out);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) wt[i * out + o] = c.weight[o * inp + i];
  const y = g.op("MatMul", [x, g.constant("pw_w", wt, [inp, out])]);
  return c.bias ? g.op("Add", [y, g.constant("pw_b", c.bias, [out])]) : y;
}

/** Rows divided by max(‖row‖₂, 1e-12), as `F.normalize` (float32 arithmetic). */
function normalizeRows(data: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < data.length / dim; r++) {
    let ss = 0;
    for (let d = 0; d < dim; d++) ss = Math.fround(ss + Math.fround(data[r * dim + d] ** 2));
    const n = Math.max(Math.fround(Math.sqrt(ss)), 1e-12);
    for (let d = 0; d < dim; d++) out[r * dim + d] = Math.fround(data[r * dim + d] / n);
  }
  return out;
}

/**
 * The first `nQ` stages of the factorised RVQ on the time-major latent [T, D]. Distances follow the official
 * expression ‖e‖² − 2 e·ĉ + ‖ĉ‖² (argmax of its negation, first index on ties).
 */
export function dacQuantizer(net: Net, latentTD: string, w: TensorMap, cfg: DacConfig, nQ: number): {
  codes: string;
  ehat: string;
  projLatents: string;
} {
  const g = net.g;
  const D = cfg.latentDim;
  const d = cfg.codebookDim;
  const K = cfg.codebookSize;
  const eps = g.constant("eps", new Float32Array([1e-12]), [1]);
  const two = g.constant("two", new Float32Array([2]), [1]);
  const axis1 = g.ints([1]);
  let r = latentTD;
  let ehat = "";
  const codes: string[] = [];
  const projected: string[] = [];
  for (let i = 0; i < nQ; i++) {
    const p = `quantizer.quantizers.${i}`;
    const inProj = checkConv(loadConv(w, `${p}.in_proj`, SOURCE), `${p}.in_proj`, [d, D, 1]);
    const outProj = checkConv(loadConv(w, `${p}.out_proj`, SOURCE), `${p}.out_proj`, [D, d, 1]);
    const book = floatData(getTensor(w, `${p}.codebook.weight`, [K, d], SOURCE), `${p}.codebook.weight`);
    const unit = normalizeRows(book, d);
    const unitT = new Float32Array(K * d);
    const unit2 = new Float32Array(K);
    for (let k = 0; k < K; k++) {
      let ss = 0;
      for (let j = 0; j < d; j++) {
        unitT[j * K + k] = unit[k * d + j];
        ss = Math.fround(ss + Math.fround(unit[k * d + j] ** 2));
      }
      unit2[k] = ss;
    }
    const ze = pointwise(net, r, inProj);
    projected.push(ze);
    const norm = g.op("Sqrt", [g.op("ReduceSum", [g.op("Mul", [ze, ze]), axis1], { keepdims: 1 })]);
    const e = g.op("Div", [ze, g.op("Max", [norm, eps])]);
    const e2 = g.op("ReduceSum", [g.op("Mul", [e, e]), axis1], { keepdims: 1 });
    const dot = g.op("Mul", [g.op("MatMul", [e, g.constant("cb_unit_t", unitT, [d, K])]), two]);
    const dist = g.op("Add", [g.op("Sub", [e2, dot]), g.constant("cb_unit2", unit2, [1, K])]);
    const code = g.op("ArgMax", [g.op("Neg", [dist])], { axis: 1, keepdims: 1 });
    codes.push(code);
    const zq = g.op("Gather", [g.constant("cb", book, [K, d]), g.op("Squeeze", [code, axis1])], { axis: 0 });
    const st = g.op("Add", [ze, g.op("Sub", [zq, ze])]);
    const out = pointwise(net, st, outProj);
    ehat = ehat ? g.op("Add", [ehat, out]) : out;
    r = g.op("Sub", [r, out]);
  }
  const concat = (parts: string[]) => parts.length === 1 ? parts[0] : g.op("Concat", parts, { axis: 1 });
  return { codes: concat(codes), ehat, projLatents: concat(projected) };
}

/** The whole ê graph: audio [1, 1, L] (L a multiple of the hop) → latent, ehat [T, D], codes [T, nQ]. */
export function buildDacGraph(
  w: TensorMap,
  cfg: DacConfig,
  nQ: number,
  opts: { foldSnake?: boolean } = {},
): Net {
  if (!Number.isInteger(nQ) || nQ < 1 || nQ > cfg.nCodebooks) {
    throw new Error(`DAC: n_quantizers must be 1..${cfg.nCodebooks}, got ${nQ}`);
  }
  const net = new Net("dac");
  const latent = dacEncoder(net, net.audio(), w, cfg, opts.foldSnake ?? true);
  const latentTD = timeMajor(net, latent);
  const { codes, ehat, projLatents } = dacQuantizer(net, latentTD, w, cfg, nQ);
  net.g.output(latentTD, "latent");
  net.g.output(ehat, "ehat");
  net.g.output(codes, "codes", undefined, 7);
  net.g.output(projLatents, "projLatents");
  return net;
}
