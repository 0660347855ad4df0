/**
 * The SEANet encoder (EnCodec's `modules/seanet.py`, reused by SpeechTokenizer and Mimi) as graph layers.
 * `encoder.model` is an nn.Sequential; the state-dict index of each module is reproduced exactly:
 * 0 conv, then per stride [ResBlock × n_residual_layers, ELU, strided conv], then [SLSTM], ELU, final conv.
 */
import {
  add,
  concatChannels,
  conv1d,
  elu,
  loadConv,
  loadLstm,
  lstm,
  type Net,
  type PadMode,
  type Seq,
} from "./layers.ts";
import { seanetPadding } from "./layers.ts";
import type { TensorMap } from "../../formats/safetensors.ts";

export interface SeanetEncoderConfig {
  channels: number;
  dimension: number;
  nFilters: number;
  nResidualLayers: number;
  /** Decoder-order ratios as in the configs ([8, 5, 4, 2]); the encoder walks them reversed. */
  ratios: number[];
  kernelSize: number;
  lastKernelSize: number;
  residualKernelSize: number;
  dilationBase: number;
  causal: boolean;
  padMode: PadMode;
  /** Identity skip in residual blocks (Mimi) instead of a k1 conv shortcut (EnCodec, SpeechTokenizer). */
  trueSkip: boolean;
  compress: number;
  /** Number of LSTM layers in the SLSTM block (0: none). */
  lstmLayers: number;
  /** BiLSTM (SpeechTokenizer): output 2C channels, skip = cat([x, x]). */
  bidirectional: boolean;
  eluAlpha: number;
}

/** The encoder's hop: the product of the ratios. */
export function seanetHop(cfg: Pick<SeanetEncoderConfig, "ratios">): number {
  return cfg.ratios.reduce((a, b) => a * b, 1);
}

/** Builds `prefix.model.*` (e.g. prefix "encoder") on x [1, channels, L]; returns the latent [1, dimension, T]. */
export function seanetEncoder(net: Net, x: Seq, w: TensorMap, prefix: string, cfg: SeanetEncoderConfig): Seq {
  const source = `${prefix} weights`;
  let i = 0;
  const conv = (h: Seq, idx: number | string, kernel: number, stride = 1, dilation = 1) =>
    conv1d(net, h, loadConv(w, `${prefix}.model.${idx}.conv.conv`, source), {
      stride,
      dilation,
      padding: seanetPadding({ kernel, stride, dilation, causal: cfg.causal, mode: cfg.padMode }),
    });
  let mult = 1;
  let h = conv(x, i++, cfg.kernelSize);
  if (h.channels !== cfg.nFilters) {
    throw new Error(`${source}: first conv has ${h.channels} outputs, expected ${cfg.nFilters}`);
  }
  for (const ratio of [...cfg.ratios].reverse()) {
    for (let j = 0; j < cfg.nResidualLayers; j++) {
      const idx = i++;
      const dilation = cfg.dilationBase ** j;
      let y = elu(net, h, cfg.eluAlpha);
      y = conv(y, `${idx}.block.1`, cfg.residualKernelSize, 1, dilation);
      y = elu(net, y, cfg.eluAlpha);
      y = conv(y, `${idx}.block.3`, 1);
      const skip = cfg.trueSkip ? h : conv(h, `${idx}.shortcut`, 1);
      h = add(net, skip, y);
    }
    h = elu(net, h, cfg.eluAlpha);
    i++;
    h = conv(h, i++, ratio * 2, ratio);
    mult *= 2;
    if (h.channels !== mult * cfg.nFilters) {
      throw new Error(`${source}: conv ${i - 1} has ${h.channels} outputs, expected ${mult * cfg.nFilters}`);
    }
  }
  if (cfg.lstmLayers > 0) {
    const lw = loadLstm(w, `${prefix}.model.${i++}.lstm`, cfg.lstmLayers, cfg.bidirectional, source);
    const y = lstm(net, h, lw, h.channels);
    h = add(net, y, cfg.bidirectional ? concatChannels(net, [h, h]) : h);
  }
  h = elu(net, h, cfg.eluAlpha);
  i++;
  h = conv(h, i++, cfg.lastKernelSize);
  if (h.channels !== cfg.dimension) {
    throw new Error(`${source}: final conv has ${h.channels} outputs, expected dimension ${cfg.dimension}`);
  }
  return h;
}

/**
 * Random weights (official names, weight-norm spelling) for a SEANet encoder built from `cfg`, plus `nq`
 * codebooks of `bins` × dimension: a random-init model of any size without a download (tests, benchmarks).
 */
export function randomSeanetWeights(cfg: SeanetEncoderConfig, nq: number, bins: number, seed = 0): TensorMap {
  const out: TensorMap = new Map();
  const put = (name: string, shape: number[], lo: number, hi: number) =>
    out.set(name, {
      dtype: "F32",
      shape,
      data: uniform(`${seed}:${name}`, shape.reduce((a, b) => a * b, 1), lo, hi),
    });
  const conv = (prefix: string, cin: number, cout: number, k: number) => {
    put(`${prefix}.conv.conv.weight_v`, [cout, cin, k], -1, 1);
    put(`${prefix}.conv.conv.weight_g`, [cout, 1, 1], 0.8, 1.2);
    put(`${prefix}.conv.conv.bias`, [cout], -0.01, 0.01);
  };
  let i = 0;
  let c = cfg.nFilters;
  conv(`encoder.model.${i++}`, cfg.channels, c, cfg.kernelSize);
  for (const ratio of [...cfg.ratios].reverse()) {
    for (let j = 0; j < cfg.nResidualLayers; j++) {
      const idx = i++;
      conv(`encoder.model.${idx}.block.1`, c, c / cfg.compress, cfg.residualKernelSize);
      conv(`encoder.model.${idx}.block.3`, c / cfg.compress, c, 1);
      if (!cfg.trueSkip) conv(`encoder.model.${idx}.shortcut`, c, c, 1);
    }
    i++;
    conv(`encoder.model.${i++}`, c, 2 * c, 2 * ratio);
    c *= 2;
  }
  if (cfg.lstmLayers > 0) {
    const prefix = `encoder.model.${i++}.lstm`;
    const b = 1 / Math.sqrt(c);
    const dirs = cfg.bidirectional ? ["", "_reverse"] : [""];
    for (let l = 0; l < cfg.lstmLayers; l++) {
      const input = l === 0 ? c : c * dirs.length;
      for (const d of dirs) {
        put(`${prefix}.weight_ih_l${l}${d}`, [4 * c, input], -b, b);
        put(`${prefix}.weight_hh_l${l}${d}`, [4 * c, c], -b, b);
        put(`${prefix}.bias_ih_l${l}${d}`, [4 * c], -b, b);
        put(`${prefix}.bias_hh_l${l}${d}`, [4 * c], -b, b);
      }
    }
    if (cfg.bidirectional) c *= 2;
  }
  i++;
  conv(`encoder.model.${i++}`, c, cfg.dimension, cfg.lastKernelSize);
  for (let q = 0; q < nq; q++) {
    put(`quantizer.vq.layers.${q}._codebook.embed`, [bins, cfg.dimension], -0.3, 0.3);
  }
  return out;
}

/** Deterministic U[lo, hi) values from a string seed (fnv1a + murmur3 finalizer), fast enough for 100 M values. */
function uniform(key: string, n: number, lo: number, hi: number): Float32Array {
  let seed = 0x811c9dc5;
  for (const b of new TextEncoder().encode(key)) seed = Math.imul(seed ^ b, 0x01000193) >>> 0;
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
