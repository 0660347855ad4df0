/**
 * The one set of numeric limits. Run-config fields (lib/experiment/config.ts) and CLI flags
 * (lib/common/cli.ts `num`) check numbers against these same rules, so a value accepted in one place is
 * accepted in the other.
 */
import type { NumberRule } from "./schema.ts";

export const LIMITS = {
  /** Parallel workers (cells, extraction processes). */
  workers: { integer: true, min: 1, max: 64 },
  /** Compute threads per worker. */
  threads: { integer: true, min: 1, max: 256 },
  /** Latent ratio q = d_z / d (k < d_z is checked once d is known). */
  q: { exclusiveMin: 0, max: 1024 },
  /** Relative sparsity s: k = ⌈s·d⌉. */
  s: { exclusiveMin: 0, max: 1 },
  seed: { integer: true, min: 0, max: 2 ** 32 - 1 },
  /** 0 writes the initialised SAE (bench/sae_vs_torch.sh compares it with PyTorch). */
  epochs: { integer: true, min: 0, max: 1_000_000 },
  epochsScale: { exclusiveMin: 0, max: 1000 },
  /** Convergent schedule (lib/sae/convergence.ts): steps between validation measurements, window, ε, step cap. */
  evalEvery: { integer: true, min: 1, max: 1_000_000 },
  convergenceWindow: { integer: true, min: 1, max: 100_000_000 },
  minImprovement: { min: 0, max: 0.5 },
  maxSteps: { integer: true, min: 1, max: 100_000_000 },
  /** Frames of one recording a frame-level SAE trains on. */
  framesPerRecording: { integer: true, min: 1, max: 1 << 20 },
  batchSize: { integer: true, min: 1, max: 1 << 24 },
  lr: { exclusiveMin: 0, max: 10 },
  adamEps: { exclusiveMin: 0, max: 1 },
  probeC: { exclusiveMin: 0 },
  /** Relative to the first violation, so tol ≥ 1 would stop before the first iteration (no fit at all). */
  probeTol: { exclusiveMin: 0, max: 0.5 },
  probeMaxIter: { integer: true, min: 1, max: 10_000_000 },
  bootstrap: { integer: true, min: 0, max: 1_000_000 },
  /** Folds of the speaker-level k-fold probe protocol. */
  folds: { integer: true, min: 2, max: 100 },
  /** Label-permuted probes per task (chance level). */
  permutations: { integer: true, min: 0, max: 10_000 },
  /** Seconds of audio kept per file. */
  maxSeconds: { exclusiveMin: 0, max: 3600 },
} as const satisfies Record<string, NumberRule>;
