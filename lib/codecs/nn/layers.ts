/**
 * Graph-building layers for the codec encoders, driven by weights. A `Net` wraps a GraphBuilder whose single
 * float input is the audio [1, 1, L]; every activation is a `Seq` [1, C, T] that knows its length T as a
 * function of L. Length-dependent amounts (the SEANet "extra" padding, reflect pads) are computed in
 * TypeScript per call and fed as small int64 inputs, so one graph serves every input length.
 */
import { DType, float, GraphBuilder, type InitData } from "../../formats/onnx.ts";
import { floatData, getTensor, type TensorMap } from "../../formats/safetensors.ts";

/** An activation [1, channels, T] with T = len(L) for audio of L samples. */
export interface Seq {
  name: string;
  channels: number;
  len: (samples: number) => number;
}

type Feed = { data: InitData; dims: number[] };

export class Net {
  private builder?: GraphBuilder;
  private dynamic: { name: string; fn: (samples: number) => number[] }[] = [];

  constructor(readonly graphName = "codec", opset = 18) {
    this.builder = new GraphBuilder(graphName, opset);
  }

  get g(): GraphBuilder {
    if (!this.builder) throw new Error(`${this.graphName}: graph already finished`);
    return this.builder;
  }

  /** Serializes the model and drops the builder (and its weight copies); `feeds` keeps working. */
  finish(): Uint8Array {
    const bytes = this.g.toBytes();
    this.builder = undefined;
    return bytes;
  }

  /** The audio input [1, 1, L] named "audio". */
  audio(): Seq {
    return { name: this.g.input("audio", [1, 1, "L"]), channels: 1, len: (n) => n };
  }

  /** An int64 1-D input whose values are computed from the audio length at run time. */
  lengthInput(prefix: string, size: number, fn: (samples: number) => number[]): string {
    const name = this.g.fresh(prefix);
    this.g.input(name, [size], DType.INT64);
    this.dynamic.push({ name, fn });
    return name;
  }

  /** The feeds for one clip: the audio plus every length-dependent input. */
  feeds(audio: Float32Array): Record<string, Feed> {
    const out: Record<string, Feed> = { audio: { data: audio, dims: [1, 1, audio.length] } };
    for (const d of this.dynamic) {
      const v = d.fn(audio.length);
      out[d.name] = { data: BigInt64Array.from(v.map((x) => BigInt(x))), dims: [v.length] };
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Weights

/** Conv weights in PyTorch layout [out, in/groups, k], weight norm already folded. */
export interface ConvWeights {
  weight: Float32Array;
  shape: [number, number, number];
  bias?: Float32Array;
}

/**
 * torch.nn.utils.weight_norm with dim=0: w = g · v / ‖v‖, the L2 norm over all axes except 0, no epsilon.
 * (For a ConvTranspose1d, axis 0 is the input channel.) Computed in float64, rounded once to float32.
 */
export function foldWeightNorm(g: Float32Array, v: Float32Array, vShape: number[]): Float32Array {
  const rows = vShape[0];
  const per = v.length / rows;
  if (g.length !== rows || !Number.isInteger(per)) {
    throw new Error(`weight norm: g has ${g.length} values for v of shape [${vShape}]`);
  }
  const out = new Float32Array(v.length);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < per; j++) ss += v[r * per + j] * v[r * per + j];
    const scale = g[r] / Math.sqrt(ss);
    for (let j = 0; j < per; j++) out[r * per + j] = v[r * per + j] * scale;
  }
  return out;
}

/**
 * Reads a conv from a state dict: `prefix.weight_g` + `prefix.weight_v` (torch weight_norm), or the
 * parametrization spelling `prefix.parametrizations.weight.original0/1`, or a plain `prefix.weight`;
 * plus `prefix.bias` when present.
 */
export function loadConv(map: TensorMap, prefix: string, source = "weights"): ConvWeights {
  const pick = (...names: string[]) => names.find((n) => map.has(n));
  const gName = pick(`${prefix}.weight_g`, `${prefix}.parametrizations.weight.original0`);
  const vName = pick(`${prefix}.weight_v`, `${prefix}.parametrizations.weight.original1`);
  let weight: Float32Array;
  let shape: number[];
  if (gName && vName) {
    const v = getTensor(map, vName, undefined, source);
    const g = getTensor(map, gName, undefined, source);
    weight = foldWeightNorm(floatData(g, gName), floatData(v, vName), v.shape);
    shape = v.shape;
  } else {
    const w = getTensor(map, `${prefix}.weight`, undefined, source);
    weight = floatData(w, `${prefix}.weight`);
    shape = w.shape;
  }
  if (shape.length !== 3) {
    throw new Error(`${source}: conv '${prefix}' weight has shape [${shape}], expected 3-D`);
  }
  const b = map.get(`${prefix}.bias`);
  return {
    weight,
    shape: shape as [number, number, number],
    bias: b ? floatData(b, `${prefix}.bias`) : undefined,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Convolution and padding

export type PadMode = "constant" | "reflect" | "edge";

/** Left/right padding of a conv input: fixed numbers or functions of the input length T. */
export interface Padding {
  mode: PadMode;
  left: number | ((t: number) => number);
  right: number | ((t: number) => number);
}

const at = (p: number | ((t: number) => number), t: number) => (typeof p === "number" ? p : p(t));

/**
 * EnCodec / SpeechTokenizer / Mimi `SConv1d` padding: pad_total = k_eff − stride and "extra" right padding
 * so the last window is full (output length ceil(T / stride) for k = 2·stride). Causal puts pad_total on the
 * left; non-causal splits it with right = pad_total // 2.
 */
export function seanetPadding(opts: {
  kernel: number;
  stride?: number;
  dilation?: number;
  causal: boolean;
  mode: PadMode;
}): Padding {
  const stride = opts.stride ?? 1;
  const kEff = (opts.kernel - 1) * (opts.dilation ?? 1) + 1;
  const padTotal = kEff - stride;
  const extra = (t: number) => {
    // ideal_length = (ceil((t − k_eff + pad_total)/stride + 1) − 1)·stride + (k_eff − pad_total); numerator ≥ −stride+1
    const nFrames = Math.ceil((t - kEff + padTotal) / stride + 1);
    return (nFrames - 1) * stride + (kEff - padTotal) - t;
  };
  if (opts.causal) return { mode: opts.mode, left: padTotal, right: extra };
  const right = Math.floor(padTotal / 2);
  return { mode: opts.mode, left: padTotal - right, right: (t) => right + extra(t) };
}

/** Zero padding of p on both sides (plain PyTorch Conv1d padding=p). */
export function symmetricPadding(p: number): Padding {
  return { mode: "constant", left: p, right: p };
}

/** Pads the time axis of `x`. Reflect follows torch's `pad1d`: inputs not longer than the pad are zero-extended first. */
export function pad1d(net: Net, x: Seq, p: Padding): Seq {
  const g = net.g;
  const len = (n: number) => {
    const t = x.len(n);
    return t + at(p.left, t) + at(p.right, t);
  };
  if (p.mode !== "reflect") {
    const pads = typeof p.left === "number" && typeof p.right === "number"
      ? g.ints([0, 0, p.left, 0, 0, p.right])
      : net.lengthInput("pads", 6, (n) => {
        const t = x.len(n);
        return [0, 0, at(p.left, t), 0, 0, at(p.right, t)];
      });
    return { name: g.op("Pad", [x.name, pads], { mode: p.mode }), channels: x.channels, len };
  }
  // torch's pad1d: if T <= max(left, right), append (max − T + 1) zeros, reflect, then drop that many from the
  // end. Only very short inputs reach that branch, so an If node keeps the common path to a single Pad.
  const maxPad = (t: number) => Math.max(at(p.left, t), at(p.right, t));
  const rPads = net.lengthInput("rpads", 6, (n) => {
    const t = x.len(n);
    return [0, 0, at(p.left, t), 0, 0, at(p.right, t)];
  });
  const isShort = net.lengthInput("rshort", 1, (n) => [x.len(n) <= maxPad(x.len(n)) ? 1 : 0]);
  const plain = g.subgraph(g.fresh("reflect"));
  plain.output(plain.op("Pad", [x.name, rPads], { mode: "reflect" }), plain.fresh("reflect_out"));
  const safe = g.subgraph(g.fresh("reflect_short"));
  const zPads = net.lengthInput(
    "zpads",
    6,
    (n) => [0, 0, 0, 0, 0, Math.max(0, maxPad(x.len(n)) - x.len(n) + 1)],
  );
  const ends = net.lengthInput("rend", 1, (n) => [len(n)]);
  const z = safe.op("Pad", [x.name, zPads], { mode: "constant" });
  const r = safe.op("Pad", [z, rPads], { mode: "reflect" });
  safe.output(safe.op("Slice", [r, safe.ints([0]), ends, safe.ints([2])]), safe.fresh("reflect_short_out"));
  const cond = g.op("Cast", [isShort], { to: DType.BOOL });
  const [y] = g.node("If", [cond], { then_branch: { graph: safe }, else_branch: { graph: plain } });
  return { name: y, channels: x.channels, len };
}

export interface ConvOptions {
  stride?: number;
  dilation?: number;
  groups?: number;
  padding?: Padding;
}

/** Conv1d (PyTorch cross-correlation) with the given padding applied first. */
export function conv1d(net: Net, x: Seq, w: ConvWeights, opts: ConvOptions = {}): Seq {
  const g = net.g;
  const [out, inPerGroup, k] = w.shape;
  const stride = opts.stride ?? 1;
  const dilation = opts.dilation ?? 1;
  const groups = opts.groups ?? 1;
  if (inPerGroup * groups !== x.channels) {
    throw new Error(
      `conv1d: weight [${w.shape}] (groups ${groups}) does not fit ${x.channels} input channels`,
    );
  }
  let input = x;
  let convPads = [0, 0];
  const p = opts.padding;
  if (p && p.mode === "constant" && typeof p.left === "number" && typeof p.right === "number") {
    convPads = [p.left, p.right]; // static zero padding: let the Conv do it
  } else if (p) {
    input = pad1d(net, x, p);
  }
  const inputs = [input.name, g.constant("conv_w", w.weight, [out, inPerGroup, k])];
  if (w.bias) inputs.push(g.constant("conv_b", w.bias, [out]));
  const y = g.op("Conv", inputs, {
    kernel_shape: [k],
    strides: [stride],
    dilations: [dilation],
    group: groups,
    pads: convPads,
  });
  const kEff = (k - 1) * dilation + 1;
  return {
    name: y,
    channels: out,
    len: (n) => Math.floor((input.len(n) + convPads[0] + convPads[1] - kEff) / stride) + 1,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Activations and arithmetic

export function elu(net: Net, x: Seq, alpha = 1): Seq {
  return { ...x, name: net.g.op("Elu", [x.name], { alpha: float(alpha) }) };
}

/** DAC Snake: x + (α + 1e-9)⁻¹ · sin(α x)², α per channel (shape [1, C, 1]); reciprocal taken in float32. */
export function snake(net: Net, x: Seq, alpha: Float32Array): Seq {
  if (alpha.length !== x.channels) {
    throw new Error(`snake: ${alpha.length} alphas for ${x.channels} channels`);
  }
  const g = net.g;
  const inv = new Float32Array(alpha.length);
  for (let i = 0; i < alpha.length; i++) inv[i] = 1 / Math.fround(alpha[i] + 1e-9);
  const a = g.constant("snake_a", alpha, [1, alpha.length, 1]);
  const r = g.constant("snake_inv", inv, [1, alpha.length, 1]);
  const s = g.op("Sin", [g.op("Mul", [x.name, a])]);
  const y = g.op("Add", [x.name, g.op("Mul", [r, g.op("Mul", [s, s])])]);
  return { ...x, name: y };
}

export function add(net: Net, a: Seq, b: Seq): Seq {
  if (a.channels !== b.channels) throw new Error(`add: ${a.channels} vs ${b.channels} channels`);
  return { ...a, name: net.g.op("Add", [a.name, b.name]) };
}

/** [1, C, T] → [T, C] (time-major rows, as the fixtures store ê). */
export function timeMajor(net: Net, x: Seq): string {
  const g = net.g;
  return g.op("Reshape", [g.op("Transpose", [x.name], { perm: [0, 2, 1] }), g.ints([-1, x.channels])]);
}

// ---------------------------------------------------------------------------------------------------------
// LSTM

/** One PyTorch LSTM layer direction: weight_ih [4H, in], weight_hh [4H, H], bias_ih/bias_hh [4H], gates i,f,g,o. */
export interface LstmDirection {
  wIh: Float32Array;
  wHh: Float32Array;
  bIh: Float32Array;
  bHh: Float32Array;
}

/** Reads `prefix.{weight_ih,weight_hh,bias_ih,bias_hh}_l{layer}[_reverse]`. */
export function loadLstm(
  map: TensorMap,
  prefix: string,
  layers: number,
  bidirectional: boolean,
  source = "weights",
): LstmDirection[][] {
  const out: LstmDirection[][] = [];
  for (let l = 0; l < layers; l++) {
    const dirs: LstmDirection[] = [];
    for (const suffix of bidirectional ? ["", "_reverse"] : [""]) {
      const get = (n: string) =>
        floatData(getTensor(map, `${prefix}.${n}_l${l}${suffix}`, undefined, source), n);
      dirs.push({ wIh: get("weight_ih"), wHh: get("weight_hh"), bIh: get("bias_ih"), bHh: get("bias_hh") });
    }
    out.push(dirs);
  }
  return out;
}

/** PyTorch gate blocks (i, f, g, o) → ONNX (i, o, f, c). */
function reorderGates(w: Float32Array, hidden: number): Float32Array {
  const block = w.length / 4;
  const out = new Float32Array(w.length);
  [0, 3, 1, 2].forEach((src, dst) => out.set(w.subarray(src * block, (src + 1) * block), dst * block));
  if (block % hidden !== 0) {
    throw new Error(`lstm: tensor of ${w.length} values does not hold 4 gates of ${hidden}`);
  }
  return out;
}

/**
 * A stacked (Bi)LSTM over the time axis of x, zero initial state, as torch.nn.LSTM(num_layers = weights.length,
 * bidirectional). The output has H (or 2H: [forward, backward]) channels.
 */
export function lstm(net: Net, x: Seq, weights: LstmDirection[][], hidden: number): Seq {
  const g = net.g;
  let h = g.op("Transpose", [x.name], { perm: [2, 0, 1] }); // [T, 1, C]
  let inSize = x.channels;
  for (const dirs of weights) {
    const nd = dirs.length;
    const W = new Float32Array(nd * 4 * hidden * inSize);
    const R = new Float32Array(nd * 4 * hidden * hidden);
    const B = new Float32Array(nd * 8 * hidden);
    dirs.forEach((d, i) => {
      if (d.wIh.length !== 4 * hidden * inSize || d.wHh.length !== 4 * hidden * hidden) {
        throw new Error(`lstm: weights do not match input ${inSize}, hidden ${hidden}`);
      }
      W.set(reorderGates(d.wIh, hidden), i * 4 * hidden * inSize);
      R.set(reorderGates(d.wHh, hidden), i * 4 * hidden * hidden);
      B.set(reorderGates(d.bIh, hidden), i * 8 * hidden);
      B.set(reorderGates(d.bHh, hidden), i * 8 * hidden + 4 * hidden);
    });
    const [y] = g.node(
      "LSTM",
      [
        h,
        g.constant("lstm_W", W, [nd, 4 * hidden, inSize]),
        g.constant("lstm_R", R, [nd, 4 * hidden, hidden]),
        g.constant("lstm_B", B, [nd, 8 * hidden]),
      ],
      { hidden_size: hidden, direction: nd === 2 ? "bidirectional" : "forward" },
      1,
    );
    // Y: [T, dirs, 1, H] → [T, 1, dirs·H] with the forward half first (PyTorch's layout).
    const yt = nd === 2 ? g.op("Transpose", [y], { perm: [0, 2, 1, 3] }) : y;
    h = g.op("Reshape", [yt, g.ints([0, 0, -1])]);
    inSize = nd * hidden;
  }
  return { name: g.op("Transpose", [h], { perm: [1, 2, 0] }), channels: inSize, len: x.len };
}

/** Concatenates activations along channels (e.g. SpeechTokenizer's BiLSTM skip `x.repeat(1, 1, 2)`). */
export function concatChannels(net: Net, parts: Seq[]): Seq {
  return {
    name: net.g.op("Concat", parts.map((p) => p.name), { axis: 1 }),
    channels: parts.reduce((a, p) => a + p.channels, 0),
    len: parts[0].len,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Euclidean residual vector quantizer

/**
 * EnCodec / SpeechTokenizer RVQ on a time-major latent [T, D]: at each stage
 * code = argmax −(‖r‖² − 2 r·E_k + ‖E_k‖²) (the official expression, evaluated in that order), q = E[code],
 * r ← r − q, ê = ((0 + q₀) + q₁) + …. Returns the names of codes [T, n_q] (int64) and ê [T, D].
 */
export function euclideanRvq(net: Net, latentTD: string, codebooks: Float32Array[], dim: number): {
  codes: string;
  ehat: string;
} {
  const g = net.g;
  let r = latentTD;
  let ehat = "";
  const codes: string[] = [];
  for (const E of codebooks) {
    const K = E.length / dim;
    if (!Number.isInteger(K)) throw new Error(`rvq: codebook of ${E.length} values is not K × ${dim}`);
    const Et = new Float32Array(E.length);
    const e2 = new Float32Array(K);
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let d = 0; d < dim; d++) {
        const v = E[k * dim + d];
        Et[d * K + k] = v;
        s = Math.fround(s + Math.fround(v * v));
      }
      e2[k] = s;
    }
    const r2 = g.op("ReduceSum", [g.op("Mul", [r, r]), g.ints([1])], { keepdims: 1 });
    const dot = g.op("MatMul", [r, g.constant("rvq_Et", Et, [dim, K])]);
    const twoDot = g.op("Mul", [dot, g.constant("two", new Float32Array([2]), [1])]);
    const dist = g.op("Neg", [g.op("Add", [g.op("Sub", [r2, twoDot]), g.constant("rvq_e2", e2, [1, K])])]);
    const code = g.op("ArgMax", [dist], { axis: 1, keepdims: 1 }); // [T, 1], first index on ties
    codes.push(code);
    const q = g.op("Gather", [g.constant("rvq_E", E, [K, dim]), g.op("Squeeze", [code, g.ints([1])])], {
      axis: 0,
    });
    r = g.op("Sub", [r, q]);
    ehat = ehat ? g.op("Add", [ehat, q]) : q;
  }
  return { codes: codes.length === 1 ? codes[0] : g.op("Concat", codes, { axis: 1 }), ehat };
}
