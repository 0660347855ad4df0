/**
 * The paper's SAE constants (Sec. 3.3), defined once: the grid of latent ratios q and relative sparsities s,
 * the epoch budget per configuration, and the Adam learning rate. Run configs, the CLI and the planner read
 * them from here.
 */

/** Latent ratios q (d_z = q·d). */
export const PAPER_Q = [2, 5, 10, 20] as const;
/** Relative sparsities s (k = ⌈s·d⌉). */
export const PAPER_S = [0.5, 0.25, 0.1, 0.05] as const;

/** The paper's epoch budget: 500 for q ∈ {2, 5} with s ∈ {0.10, 0.05}, otherwise 200. */
export function paperEpochs(q: number, s: number): number {
  return (q === 2 || q === 5) && (s === 0.1 || s === 0.05) ? 500 : 200;
}

/** The paper's Adam learning rate, used by the epoch schedules. */
export const PAPER_LR = 1e-5;
