/** TopK SAE configuration (paper Sec. 2.2 / 3.3) and the paper's 16-config grid. */
import { type ConvergenceRule, validateConvergence } from "./convergence.ts";
import { PAPER_Q, PAPER_S, paperEpochs } from "./paper.ts";

export { PAPER_Q, PAPER_S, paperEpochs };

export interface SaeConfig {
  /** Latent ratio q = d_z / d_codec. */
  q: number;
  /** Relative sparsity s: k = ⌈s · d_codec⌉. */
  s: number;
  /** Input (codec) dimension d. */
  dIn: number;
  /** Latent dimension d_z = round(q · d). */
  dZ: number;
  /** Active latents per sample. */
  k: number;
  /** Epochs to train (the paper's schedule, or a fixed count); unused with `convergence`. */
  epochs: number;
  /**
   * Train until the validation loss stops improving instead of for `epochs` (convergence.ts); needs
   * validation rows. Absent: the epoch schedule.
   */
  convergence?: ConvergenceRule;
  batchSize: number;
  lr: number;
  adamEps: number;
  seed: number;
  /** AuxK dead-latent loss (Gao et al.); off unless set — the paper does not use it. See AuxKConfig. */
  auxK?: AuxKConfig;
  /** Step engine: "auto" picks by k/d_z (see engine.ts); "sparse" or "dense" force one. */
  engine?: "auto" | "sparse" | "dense";
  /** Rows used for the geometric-median b_pre initialisation (reference: 16384). */
  medianSample?: number;
}

/**
 * AuxK (Gao et al., "Scaling and evaluating sparse autoencoders", Sec. A.2): the kAux largest pre-activations
 * among dead latents reconstruct the main reconstruction's residual e = u − û (detached); the loss adds
 * coef · mean_b(Σ_i (ê_i − e_i)² / Σ_i (e_i + b_pre,i)²), OpenAI's normalised MSE against their target
 * u − û + b_pre. A latent is dead when it has not fired for `deadSamples` training samples. Only the sparse
 * engine implements it (a config with auxK runs on the sparse engine).
 */
export interface AuxKConfig {
  /** Dead latents used per sample (reference: a power of two near d/2). */
  kAux: number;
  /** Loss coefficient (reference: 1/32). */
  coef: number;
  /** Samples without firing after which a latent counts as dead (reference: 10M tokens; default here: N). */
  deadSamples: number;
}

/** Reference AuxK defaults for input dimension d and N training samples. */
export function auxKDefaults(dIn: number, dZ: number, k: number, n: number): AuxKConfig {
  const pow2 = 2 ** Math.round(Math.log2(Math.max(1, dIn / 2)));
  return { kAux: Math.max(1, Math.min(pow2, dZ - k)), coef: 1 / 32, deadSamples: n };
}

export const SAE_DEFAULTS = {
  batchSize: 1024,
  lr: 1e-5,
  adamEps: 6.25e-10,
  epochs: 200,
  seed: 0,
  medianSample: 16384,
} as const;

/** k = ⌈s·d⌉, guarded against s·d landing a hair above an integer in floating point (0.05·1020 etc.). */
export function kFor(s: number, dIn: number): number {
  return Math.ceil(s * dIn - 1e-9);
}

/** Builds and validates a config from (q, s, d) plus overrides. */
export function saeConfig(
  q: number,
  s: number,
  dIn: number,
  overrides: Partial<Omit<SaeConfig, "q" | "s" | "dIn" | "dZ" | "k">> = {},
): SaeConfig {
  const cfg: SaeConfig = {
    q,
    s,
    dIn,
    dZ: Math.round(q * dIn),
    k: kFor(s, dIn),
    epochs: overrides.epochs ?? paperEpochs(q, s),
    batchSize: overrides.batchSize ?? SAE_DEFAULTS.batchSize,
    lr: overrides.lr ?? SAE_DEFAULTS.lr,
    adamEps: overrides.adamEps ?? SAE_DEFAULTS.adamEps,
    seed: overrides.seed ?? SAE_DEFAULTS.seed,
    engine: overrides.engine ?? "auto",
    medianSample: overrides.medianSample ?? SAE_DEFAULTS.medianSample,
  };
  if (overrides.auxK) cfg.auxK = overrides.auxK;
  if (overrides.convergence) cfg.convergence = { ...overrides.convergence };
  validateConfig(cfg);
  return cfg;
}

export function validateConfig(cfg: SaeConfig): void {
  const bad = (msg: string): never => {
    throw new Error(`invalid SAE config: ${msg}`);
  };
  if (!Number.isInteger(cfg.dIn) || cfg.dIn < 1) {
    bad(`input dimension must be a positive integer, got ${cfg.dIn}`);
  }
  if (!(cfg.q > 0)) bad(`q must be > 0, got ${cfg.q}`);
  if (!(cfg.s > 0 && cfg.s <= 1)) bad(`s must be in (0, 1], got ${cfg.s}`);
  if (!Number.isInteger(cfg.dZ) || cfg.dZ < 1) bad(`d_z = round(q·d) must be ≥ 1, got ${cfg.dZ}`);
  if (!Number.isInteger(cfg.k) || cfg.k < 1) bad(`k must be ≥ 1, got ${cfg.k}`);
  if (cfg.k >= cfg.dZ) {
    bad(`k = ${cfg.k} must be smaller than d_z = ${cfg.dZ} (q=${cfg.q}, s=${cfg.s}, d=${cfg.dIn})`);
  }
  if (!Number.isInteger(cfg.epochs) || cfg.epochs < 0) {
    bad(`epochs must be an integer ≥ 0, got ${cfg.epochs}`);
  }
  if (!Number.isInteger(cfg.batchSize) || cfg.batchSize < 1) {
    bad(`batch size must be ≥ 1, got ${cfg.batchSize}`);
  }
  if (!(cfg.lr > 0)) bad(`lr must be > 0, got ${cfg.lr}`);
  if (!(cfg.adamEps > 0)) bad(`adamEps must be > 0, got ${cfg.adamEps}`);
  if (!Number.isInteger(cfg.seed) || cfg.seed < 0) {
    bad(`seed must be a non-negative integer, got ${cfg.seed}`);
  }
  if (cfg.auxK) {
    const { kAux, coef, deadSamples } = cfg.auxK;
    if (!Number.isInteger(kAux) || kAux < 1 || kAux > cfg.dZ) bad(`AuxK kAux must be in 1..d_z, got ${kAux}`);
    if (!(coef >= 0)) bad(`AuxK coef must be ≥ 0, got ${coef}`);
    if (!(deadSamples >= 1)) bad(`AuxK deadSamples must be ≥ 1, got ${deadSamples}`);
    if (cfg.engine === "dense") bad("AuxK runs on the sparse engine only");
  }
  if (cfg.convergence) validateConvergence(cfg.convergence, bad);
  if (cfg.engine && !["auto", "sparse", "dense"].includes(cfg.engine)) bad(`unknown engine ${cfg.engine}`);
}

/** The paper's 16 configurations for a codec dimension, with their epoch budgets. */
export function paperGrid(
  dCodec: number,
  overrides: { seed?: number; batchSize?: number } = {},
): SaeConfig[] {
  return PAPER_Q.flatMap((q) => PAPER_S.map((s) => saeConfig(q, s, dCodec, overrides)));
}
