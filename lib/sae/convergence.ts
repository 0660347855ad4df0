/**
 * The convergent schedule's stopping rule (issue 11 §1). The paper monitors "loss convergence" on validation
 * half 1 and trains longer where convergence is slow; its fixed 200/500 epochs of batch 1024 at lr 1e-5 are
 * tens of thousands of Adam steps on Vox-Profile but only 200–500 on a corpus smaller than one batch. This
 * rule trains until the val1 loss stops improving, on any corpus size:
 *
 * - every `evalEvery` Adam steps the validation MSE is measured (also once before the first step);
 * - a measurement is an improvement when it is below (1 − minImprovement) × the last improvement's value;
 * - training stops when `window` steps pass without an improvement, or at `maxSteps`;
 * - the weights with the lowest validation MSE seen are kept (best-val1 weights), whatever stopped it.
 */
import { PAPER_LR } from "./paper.ts";

export interface ConvergenceRule {
  /** Adam steps between validation measurements. */
  evalEvery: number;
  /** Steps without a relative improvement of at least `minImprovement` after which training stops. */
  window: number;
  /** Relative decrease of the validation MSE that counts as an improvement (ε). */
  minImprovement: number;
  /** Hard cap on Adam steps (a multiple of evalEvery). */
  maxSteps: number;
}

/** The convergent schedule's default Adam learning rate (why this value: README, "SAE training schedules"). */
export const CONVERGENT_LR = 1e-2;

/** The default Adam learning rate of a schedule: the convergent one's, or the paper's for the epoch schedules. */
export function defaultLr(convergent: boolean): number {
  return convergent ? CONVERGENT_LR : PAPER_LR;
}

export const CONVERGENCE_DEFAULTS: ConvergenceRule = {
  evalEvery: 10,
  window: 100,
  minImprovement: 1e-3,
  maxSteps: 2000,
};

export function validateConvergence(rule: ConvergenceRule, bad: (msg: string) => never): void {
  const { evalEvery, window, minImprovement, maxSteps } = rule;
  if (!Number.isInteger(evalEvery) || evalEvery < 1) {
    bad(`convergence.evalEvery must be ≥ 1, got ${evalEvery}`);
  }
  if (!Number.isInteger(window) || window < evalEvery) {
    bad(`convergence.window must be an integer ≥ evalEvery (${evalEvery}), got ${window}`);
  }
  if (!(minImprovement >= 0 && minImprovement < 1)) {
    bad(`convergence.minImprovement must be in [0, 1), got ${minImprovement}`);
  }
  if (!Number.isInteger(maxSteps) || maxSteps < evalEvery || maxSteps % evalEvery !== 0) {
    bad(`convergence.maxSteps must be a positive multiple of evalEvery (${evalEvery}), got ${maxSteps}`);
  }
}

export type StopReason = "converged" | "max-steps";

/** How a convergent run ended. */
export interface StoppingRecord {
  reason: StopReason;
  /** Adam steps taken. */
  steps: number;
  /** Step whose weights were kept (lowest validation MSE; 0 = the initialisation). */
  bestStep: number;
  bestValLoss: number;
}

/** Applies the rule to a stream of (step, validation MSE) measurements. */
export class ConvergenceMonitor {
  bestStep = -1;
  bestValLoss = Infinity;
  private anchorStep = 0;
  private anchorLoss = Infinity;
  constructor(readonly rule: ConvergenceRule) {}

  /** Records a measurement; returns whether it is the best so far (the caller then keeps the weights). */
  observe(step: number, valLoss: number): boolean {
    if (!Number.isFinite(valLoss)) throw new Error(`validation loss is ${valLoss} at step ${step}`);
    if (valLoss < this.anchorLoss * (1 - this.rule.minImprovement)) {
      this.anchorLoss = valLoss;
      this.anchorStep = step;
    }
    if (valLoss < this.bestValLoss) {
      this.bestValLoss = valLoss;
      this.bestStep = step;
      return true;
    }
    return false;
  }

  /** Whether to stop after the measurement at `step`. */
  stopAfter(step: number): StopReason | null {
    if (step - this.anchorStep >= this.rule.window) return "converged";
    if (step >= this.rule.maxSteps) return "max-steps";
    return null;
  }
}
