/**
 * DAC (Descript Audio Codec) model configuration: the `DAC(...)` constructor arguments that matter for the
 * encoder and quantizer. Read from a checkpoint's `metadata.kwargs` (official `.pth`) or from a config.json
 * holding `constructor_args` (the reference fixtures), validated here at the boundary.
 */

export interface DacConfig {
  encoderDim: number;
  encoderRates: number[];
  latentDim: number;
  nCodebooks: number;
  codebookSize: number;
  codebookDim: number;
  sampleRate: number;
}

/** `conf/final/24khz.yml` of descript-audio-codec (tag 0.0.4): the paper's DAC 24 kHz. */
export const DAC_24KHZ: DacConfig = {
  encoderDim: 64,
  encoderRates: [2, 4, 5, 8],
  latentDim: 1024,
  nCodebooks: 32,
  codebookSize: 1024,
  codebookDim: 8,
  sampleRate: 24000,
};

/** Samples per ê frame: the product of the encoder strides (320 at 24 kHz). */
export function dacHop(cfg: DacConfig): number {
  return cfg.encoderRates.reduce((a, b) => a * b, 1);
}

function positiveInt(v: unknown, key: string, source: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw new Error(`${source}: DAC argument '${key}' must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Builds a DacConfig from `DAC(**kwargs)` keyword arguments (snake_case, as the checkpoints store them). */
export function dacConfigFromKwargs(kw: Record<string, unknown>, source: string): DacConfig {
  const base: Record<string, unknown> = {
    encoder_dim: 64,
    encoder_rates: [2, 4, 8, 8],
    latent_dim: null,
    n_codebooks: 9,
    codebook_size: 1024,
    codebook_dim: 8,
    sample_rate: 44100,
    ...kw, // the official defaults above are DAC.__init__'s
  };
  const rates = base.encoder_rates;
  if (!Array.isArray(rates) || rates.length === 0) {
    throw new Error(`${source}: DAC argument 'encoder_rates' must be a non-empty list`);
  }
  const encoderRates = rates.map((r, i) => positiveInt(r, `encoder_rates[${i}]`, source));
  const encoderDim = positiveInt(base.encoder_dim, "encoder_dim", source);
  const latentDim = base.latent_dim === null || base.latent_dim === undefined
    ? encoderDim * 2 ** encoderRates.length
    : positiveInt(base.latent_dim, "latent_dim", source);
  const codebookDim = base.codebook_dim;
  if (Array.isArray(codebookDim)) {
    throw new Error(
      `${source}: per-stage codebook_dim lists are not supported (got ${JSON.stringify(codebookDim)})`,
    );
  }
  return {
    encoderDim,
    encoderRates,
    latentDim,
    nCodebooks: positiveInt(base.n_codebooks, "n_codebooks", source),
    codebookSize: positiveInt(base.codebook_size, "codebook_size", source),
    codebookDim: positiveInt(codebookDim, "codebook_dim", source),
    sampleRate: positiveInt(base.sample_rate, "sample_rate", source),
  };
}
