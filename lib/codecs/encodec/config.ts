/**
 * EnCodec 24 kHz configuration (facebookresearch/encodec `EncodecModel.encodec_model_24khz`). The structural
 * sizes (n_filters, dimension, LSTM layers, codebook count and size) are read from the weights, so the same
 * code runs the official model, the scaled-down fixtures and any checkpoint of this family.
 */
import type { SeanetEncoderConfig } from "../nn/seanet.ts";
import { getTensor, type TensorMap } from "../../formats/safetensors.ts";

export interface EncodecConfig {
  sampleRate: number;
  encoder: SeanetEncoderConfig;
  /** Codebook entries (1024 official). */
  bins: number;
  /** Codebooks available in the weights (32 official). */
  nQ: number;
  /** Bandwidths (kbps) the model accepts (`set_target_bandwidth` asserts membership). */
  targetBandwidths: number[];
}

/** The official 24 kHz model (`encodec_model_24khz`: causal, weight norm, reflect padding, no normalisation). */
export const OFFICIAL_24KHZ: EncodecConfig = {
  sampleRate: 24000,
  encoder: {
    channels: 1,
    dimension: 128,
    nFilters: 32,
    nResidualLayers: 1,
    ratios: [8, 5, 4, 2],
    kernelSize: 7,
    lastKernelSize: 7,
    residualKernelSize: 3,
    dilationBase: 2,
    causal: true,
    padMode: "reflect",
    trueSkip: false,
    compress: 2,
    lstmLayers: 2,
    bidirectional: false,
    eluAlpha: 1,
  },
  bins: 1024,
  nQ: 32,
  targetBandwidths: [1.5, 3, 6, 12, 24],
};

export function hopLength(cfg: EncodecConfig): number {
  return cfg.encoder.ratios.reduce((a, b) => a * b, 1);
}

/** ceil(sample_rate / hop): 75 Hz. */
export function frameRate(cfg: EncodecConfig): number {
  return Math.ceil(cfg.sampleRate / hopLength(cfg));
}

/** n_q = max(1, floor(bw·1000 / (log2(bins)·frame_rate))), as `ResidualVectorQuantizer.get_num_quantizers_for_bandwidth`. */
export function nqForBandwidth(cfg: EncodecConfig, kbps: number): number {
  if (!cfg.targetBandwidths.includes(kbps)) {
    throw new Error(
      `EnCodec: bandwidth ${kbps} kbps not in the model's target bandwidths [${cfg.targetBandwidths}]`,
    );
  }
  const nq = Math.max(1, Math.floor((kbps * 1000) / (Math.log2(cfg.bins) * frameRate(cfg))));
  if (nq > cfg.nQ) throw new Error(`EnCodec: ${kbps} kbps needs ${nq} codebooks, the weights hold ${cfg.nQ}`);
  return nq;
}

interface EncoderJson {
  channels?: number;
  dimension?: number;
  n_filters?: number;
  n_residual_layers?: number;
  ratios?: number[];
  activation?: string;
  activation_params?: { alpha?: number };
  norm?: string;
  kernel_size?: number;
  last_kernel_size?: number;
  residual_kernel_size?: number;
  dilation_base?: number;
  causal?: boolean;
  pad_mode?: string;
  true_skip?: boolean;
  compress?: number;
  lstm?: number;
}

/**
 * Reads a config.json in the fixture layout ({encoder, quantizer, model} = the official constructor
 * arguments). Missing keys keep the official values; unsupported choices are an error.
 */
export function configFromJson(json: Record<string, unknown>, source: string): EncodecConfig {
  const e = (json.encoder ?? {}) as EncoderJson;
  const q = (json.quantizer ?? {}) as { n_q?: number; bins?: number; dimension?: number };
  const m = (json.model ?? {}) as {
    target_bandwidths?: number[];
    sample_rate?: number;
    normalize?: boolean;
    segment?: unknown;
  };
  if (e.activation && e.activation !== "ELU") {
    throw new Error(`${source}: activation ${e.activation} not supported (ELU only)`);
  }
  if (e.norm && e.norm !== "weight_norm" && e.norm !== "none") {
    throw new Error(
      `${source}: norm ${e.norm} not supported (weight_norm or none; time_group_norm is the 48 kHz model)`,
    );
  }
  if (m.normalize || (m.segment !== undefined && m.segment !== null)) {
    throw new Error(`${source}: segmented/normalized EnCodec (the 48 kHz model) is not supported`);
  }
  const o = OFFICIAL_24KHZ.encoder;
  return {
    sampleRate: m.sample_rate ?? OFFICIAL_24KHZ.sampleRate,
    encoder: {
      channels: e.channels ?? o.channels,
      dimension: e.dimension ?? o.dimension,
      nFilters: e.n_filters ?? o.nFilters,
      nResidualLayers: e.n_residual_layers ?? o.nResidualLayers,
      ratios: e.ratios ?? o.ratios,
      kernelSize: e.kernel_size ?? o.kernelSize,
      lastKernelSize: e.last_kernel_size ?? o.lastKernelSize,
      residualKernelSize: e.residual_kernel_size ?? o.residualKernelSize,
      dilationBase: e.dilation_base ?? o.dilationBase,
      causal: e.causal ?? o.causal,
      padMode: (e.pad_mode ?? o.padMode) as SeanetEncoderConfig["padMode"],
      trueSkip: e.true_skip ?? o.trueSkip,
      compress: e.compress ?? o.compress,
      lstmLayers: e.lstm ?? o.lstmLayers,
      bidirectional: false,
      eluAlpha: e.activation_params?.alpha ?? 1,
    },
    bins: q.bins ?? OFFICIAL_24KHZ.bins,
    nQ: q.n_q ?? OFFICIAL_24KHZ.nQ,
    targetBandwidths: m.target_bandwidths ?? OFFICIAL_24KHZ.targetBandwidths,
  };
}

/** Takes the structural sizes from the weights (official names), checking what the config says. */
export function configFromWeights(base: EncodecConfig, w: TensorMap, source: string): EncodecConfig {
  const first = getTensor(w, "encoder.model.0.conv.conv.weight_v", undefined, source).shape;
  let nQ = 0;
  while (w.has(`quantizer.vq.layers.${nQ}._codebook.embed`)) nQ++;
  if (nQ === 0) throw new Error(`${source}: no codebooks (quantizer.vq.layers.0._codebook.embed missing)`);
  const [bins, dim] = getTensor(w, "quantizer.vq.layers.0._codebook.embed", undefined, source).shape;
  let lstm = 0;
  const lstmIdx = 1 + 3 * base.encoder.ratios.length * 1; // after conv0 and per-ratio (res, ELU, conv) triples
  while (w.has(`encoder.model.${lstmIdx}.lstm.weight_ih_l${lstm}`)) lstm++;
  const cfg: EncodecConfig = {
    ...base,
    encoder: { ...base.encoder, nFilters: first[0], dimension: dim, lstmLayers: lstm },
    bins,
    nQ,
  };
  return cfg;
}
