/**
 * SpeechTokenizer configuration (ZhangXInFD/SpeechTokenizer `config/spt_base_cfg.json` keys). The encoder is
 * SEANet with its SpeechTokenizer defaults: non-causal reflect padding, weight norm, conv shortcuts, a 2-layer
 * BiLSTM, then a k7 conv 2H → D. RVQ: n_q Euclidean codebooks of codebook_size × D, no projections.
 */
import type { SeanetEncoderConfig } from "../nn/seanet.ts";

export interface SpeechTokenizerConfig {
  sampleRate: number;
  encoder: SeanetEncoderConfig;
  codebookSize: number;
  nQ: number;
}

interface SptJson {
  n_filters?: number;
  strides?: number[];
  dimension?: number;
  bidirectional?: boolean;
  dilation_base?: number;
  residual_kernel_size?: number;
  n_residual_layers?: number;
  lstm_layers?: number;
  activation?: string;
  codebook_size?: number;
  n_q?: number;
  sample_rate?: number;
}

/** The published `speechtokenizer_hubert_avg` config (= spt_base_cfg.json). */
export const OFFICIAL_SPT: SptJson = {
  n_filters: 64,
  strides: [8, 5, 4, 2],
  dimension: 1024,
  bidirectional: true,
  dilation_base: 2,
  residual_kernel_size: 3,
  n_residual_layers: 1,
  lstm_layers: 2,
  activation: "ELU",
  codebook_size: 1024,
  n_q: 8,
  sample_rate: 16000,
};

export function configFromJson(json: SptJson, source: string): SpeechTokenizerConfig {
  const j = { ...OFFICIAL_SPT, ...json };
  if (j.activation !== "ELU") {
    throw new Error(
      `${source}: activation ${j.activation} not supported (the Snake checkpoint is not covered)`,
    );
  }
  return {
    sampleRate: j.sample_rate!,
    encoder: {
      channels: 1,
      dimension: j.dimension!,
      nFilters: j.n_filters!,
      nResidualLayers: j.n_residual_layers!,
      ratios: j.strides!,
      kernelSize: 7,
      lastKernelSize: 7,
      residualKernelSize: j.residual_kernel_size!,
      dilationBase: j.dilation_base!,
      causal: false,
      padMode: "reflect",
      trueSkip: false,
      compress: 2,
      lstmLayers: j.lstm_layers!,
      bidirectional: j.bidirectional!,
      eluAlpha: 1,
    },
    codebookSize: j.codebook_size!,
    nQ: j.n_q!,
  };
}

export const OFFICIAL_CONFIG: SpeechTokenizerConfig = configFromJson(OFFICIAL_SPT, "official config");

export function hopLength(cfg: SpeechTokenizerConfig): number {
  return cfg.encoder.ratios.reduce((a, b) => a * b, 1);
}

export function frameRate(cfg: SpeechTokenizerConfig): number {
  return cfg.sampleRate / hopLength(cfg);
}
