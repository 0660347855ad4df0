/**
 * Mimi (Kyutai) model configuration in the official `mimi_config` layout of `moshi/models/loaders.py`
 * (`seanet`, `transformer`, `quantizer` sections), reduced to what the encoder side needs and validated at the
 * boundary: only the variant the official checkpoint uses (causal SEANet, layer-norm transformer with RoPE and
 * no gating, conv downsampling, split RVQ with one semantic level) is accepted.
 */
import type { SeanetEncoderConfig } from "../nn/seanet.ts";

export interface MimiTransformerConfig {
  dModel: number;
  numHeads: number;
  numLayers: number;
  dimFeedforward: number;
  /** Causal sliding window: query i sees keys i − context < j ≤ i. */
  context: number;
  maxPeriod: number;
}

export interface MimiConfig {
  sampleRate: number;
  /** ê frames per second (12.5). */
  frameRate: number;
  seanet: SeanetEncoderConfig;
  transformer: MimiTransformerConfig;
  quantizer: {
    /** Codebook vector size (256). */
    dimension: number;
    nQ: number;
    bins: number;
    inputDimension: number;
    outputDimension: number;
    /** Levels in the semantic branch `rvq_first` (1). */
    nQSemantic: number;
  };
}

/** `_seanet_kwargs`, `_transformer_kwargs` and `_quantizer_kwargs` of moshi v0.2.13 `loaders.py`. */
export const MIMI_OFFICIAL_CONFIG: Record<string, unknown> = {
  sample_rate: 24000,
  channels: 1,
  frame_rate: 12.5,
  seanet: {
    channels: 1,
    dimension: 512,
    causal: true,
    n_filters: 64,
    n_residual_layers: 1,
    activation: "ELU",
    compress: 2,
    dilation_base: 2,
    disable_norm_outer_blocks: 0,
    kernel_size: 7,
    residual_kernel_size: 3,
    last_kernel_size: 3,
    norm: "none",
    pad_mode: "constant",
    ratios: [8, 6, 5, 4],
    true_skip: true,
  },
  quantizer: { dimension: 256, n_q: 32, bins: 2048, input_dimension: 512, output_dimension: 512 },
  transformer: {
    d_model: 512,
    num_heads: 8,
    num_layers: 8,
    causal: true,
    layer_scale: 0.01,
    context: 250,
    conv_layout: true,
    max_period: 10000,
    gating: "none",
    norm: "layer_norm",
    positional_embedding: "rope",
    dim_feedforward: 2048,
    input_dimension: 512,
    output_dimensions: [512],
  },
};

type Obj = Record<string, unknown>;

function section(o: Obj, key: string, source: string): Obj {
  const v = o[key];
  if (!v || typeof v !== "object" || Array.isArray(v)) {
    throw new Error(`${source}: Mimi config lacks '${key}'`);
  }
  return v as Obj;
}

function num(o: Obj, key: string, where: string, integer = true): number {
  const v = o[key];
  if (typeof v !== "number" || !(v > 0) || (integer && !Number.isInteger(v))) {
    throw new Error(
      `${where}.${key} must be a positive ${integer ? "integer" : "number"}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function expect(o: Obj, key: string, want: unknown, where: string): void {
  if (key in o && JSON.stringify(o[key]) !== JSON.stringify(want)) {
    throw new Error(
      `${where}.${key} = ${JSON.stringify(o[key])} is not supported (only ${JSON.stringify(want)})`,
    );
  }
}

/** Parses a `mimi_config` object (as in the fixtures' config.json or `loaders.py`). */
export function mimiConfigFrom(raw: Obj, source: string): MimiConfig {
  const s = section(raw, "seanet", source);
  const t = section(raw, "transformer", source);
  const q = section(raw, "quantizer", source);
  const ws = `${source}: seanet`;
  const wt = `${source}: transformer`;
  const wq = `${source}: quantizer`;
  for (const [k, v] of Object.entries({ causal: true, activation: "ELU", norm: "none", true_skip: true })) {
    expect(s, k, v, ws);
  }
  for (
    const [k, v] of Object.entries({
      causal: true,
      conv_layout: true,
      gating: "none",
      norm: "layer_norm",
      positional_embedding: "rope",
    })
  ) expect(t, k, v, wt);
  const ratios = s.ratios;
  if (!Array.isArray(ratios) || ratios.some((r) => !Number.isInteger(r) || r <= 0)) {
    throw new Error(`${ws}.ratios must be a list of positive integers`);
  }
  const dModel = num(t, "d_model", wt);
  const dimension = num(s, "dimension", ws);
  for (const k of ["input_dimension"]) {
    if (k in t && t[k] !== dimension) {
      throw new Error(`${wt}.${k} must equal seanet.dimension (projections are not supported)`);
    }
  }
  if (dModel !== dimension) {
    throw new Error(`${wt}.d_model (${dModel}) must equal seanet.dimension (${dimension})`);
  }
  const numHeads = num(t, "num_heads", wt);
  if (dModel % numHeads !== 0 || (dModel / numHeads) % 2 !== 0) {
    throw new Error(`${wt}: d_model ${dModel} must split into ${numHeads} heads of even size`);
  }
  const padMode = (s.pad_mode ?? "constant") as string;
  if (padMode !== "constant") {
    throw new Error(`${ws}.pad_mode '${padMode}' is not supported (only "constant")`);
  }
  const cfg: MimiConfig = {
    sampleRate: num(raw, "sample_rate", source),
    frameRate: num(raw, "frame_rate", source, false),
    seanet: {
      channels: num(s, "channels", ws),
      dimension,
      nFilters: num(s, "n_filters", ws),
      nResidualLayers: num(s, "n_residual_layers", ws),
      ratios: ratios as number[],
      kernelSize: num(s, "kernel_size", ws),
      lastKernelSize: num(s, "last_kernel_size", ws),
      residualKernelSize: num(s, "residual_kernel_size", ws),
      dilationBase: num(s, "dilation_base", ws),
      causal: true,
      padMode: "constant",
      trueSkip: true,
      compress: num(s, "compress", ws),
      lstmLayers: 0,
      bidirectional: false,
      eluAlpha: 1,
    },
    transformer: {
      dModel,
      numHeads,
      numLayers: num(t, "num_layers", wt),
      dimFeedforward: num(t, "dim_feedforward", wt),
      context: num(t, "context", wt),
      maxPeriod: num(t, "max_period", wt, false),
    },
    quantizer: {
      dimension: num(q, "dimension", wq),
      nQ: num(q, "n_q", wq),
      bins: num(q, "bins", wq),
      inputDimension: num(q, "input_dimension", wq),
      outputDimension: num(q, "output_dimension", wq),
      nQSemantic: 1,
    },
  };
  if (cfg.seanet.channels !== 1) throw new Error(`${ws}.channels must be 1 (mono)`);
  if (cfg.quantizer.inputDimension !== dimension) {
    throw new Error(
      `${wq}.input_dimension (${cfg.quantizer.inputDimension}) must equal seanet.dimension (${dimension})`,
    );
  }
  mimiDownsampleStride(cfg); // validates the rates
  return cfg;
}

/** SEANet hop (960 samples = 25 Hz). */
export function mimiEncoderHop(cfg: MimiConfig): number {
  return cfg.seanet.ratios.reduce((a, b) => a * b, 1);
}

/** The learnt downsampling stride from the encoder rate to the frame rate (2). */
export function mimiDownsampleStride(cfg: MimiConfig): number {
  const encRate = cfg.sampleRate / mimiEncoderHop(cfg);
  const stride = encRate / cfg.frameRate;
  if (!Number.isInteger(stride) || stride < 1) {
    throw new Error(
      `Mimi: encoder rate ${encRate} Hz is not an integer multiple of frame rate ${cfg.frameRate} Hz`,
    );
  }
  return stride;
}

/** Samples per ê frame (1920 = 80 ms). */
export function mimiHop(cfg: MimiConfig): number {
  return mimiEncoderHop(cfg) * mimiDownsampleStride(cfg);
}
