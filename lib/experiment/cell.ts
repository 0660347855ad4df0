/**
 * One grid cell: for a (dataset, codec, task, q, s, seed), train the TopK SAE on the task's train split
 * (monitored on validation half 1), encode validation half 2 (probe training) and test, fit one L1 probe per
 * feature kind, and record ΔF1 against the reference F1 on u. Pure computation on matrices, so it runs the same
 * in the main thread or a worker.
 */
import { type Matrix, takeRows } from "../common/matrix.ts";
import {
  type ConvergenceRule,
  encodeSae,
  type EpochRecord,
  fitPca,
  pcaExplainedVariance,
  type SaeConfig,
  saeConfig,
  saeMetrics,
  saeTrained,
  type StopReason,
  trainSae,
} from "../sae/mod.ts";
import {
  magnitudeFeatures,
  positionFeatures,
  type ProbeRows,
  type ProtocolResult,
  runProtocol,
} from "../probe/mod.ts";
import { type CellArtefacts, type ProbeArtefact, protocolArtefacts } from "./artefacts.ts";
import type { FeatureKind, Pooling, ProbeConfig } from "./config.ts";

export interface CellSpec {
  dataset: string;
  codec: string;
  task: string;
  q: number;
  s: number;
  seed: number;
  /** Epochs of an epoch schedule; 0 with `convergence`. */
  epochs: number;
  /** The convergent schedule's rule (train until the val1 loss stops improving); null: epoch schedule. */
  convergence: ConvergenceRule | null;
  features: FeatureKind[];
  /** How u was pooled (the matrices already hold it; recorded so the cache key names it). */
  pooling: Pooling;
  sae: { batchSize: number; lr: number; adamEps: number };
  probe: ProbeConfig;
}

export interface CellData {
  /** Fits the SAE. */
  train: Matrix;
  /** Monitors SAE training. */
  val1: Matrix;
  /** The test split: held-out rows for the SAE's yardstick (neither the SAE nor its stopping rule sees them). */
  test: Matrix;
  /** The probe stage's rows (split: val2 then test; kfold: val1, val2 and test) and their protocol. */
  probe: Matrix;
  probeRows: ProbeRows;
}

export interface FeatureOutcome {
  feature: FeatureKind;
  f1: number;
  accuracy: number;
  nnz: number;
  nIter: number;
  converged: boolean;
  probeSeconds: number;
  /** Pooled predictions on the protocol's scored rows (for bootstrap intervals). */
  predictions: number[];
}

/** What the results keep of a probe protocol's run. */
export function probeOutcome(r: ProtocolResult): Omit<FeatureOutcome, "feature"> {
  return {
    f1: r.macroF1,
    accuracy: r.accuracy,
    nnz: r.nnz,
    nIter: r.nIter,
    converged: r.converged,
    probeSeconds: r.seconds,
    predictions: Array.from(r.predictions),
  };
}

export interface CellOutcome {
  k: number;
  dZ: number;
  dCodec: number;
  /** In-sample (training rows): NMSE and explained variance of the kept weights. */
  nmse: number;
  explainedVariance: number;
  /** Explained variance of PCA-k fitted on the training rows, on the training rows (the yardstick). */
  evPcaK: number;
  /** Held-out (test rows): the SAE's and PCA-k's explained variance. */
  evHeldout: number;
  evPcaKHeldout: number;
  /** In-sample explained variance ≥ evPcaK − 0.02: the optimiser reached the PCA-k yardstick. */
  saeTrained: boolean;
  /** Held-out explained variance < evPcaKHeldout − 0.02: the SAE generalises worse than PCA-k. */
  heldoutBelowPcaK: boolean;
  /** Adam steps taken, the step whose weights were kept, and why training ended. */
  steps: number;
  bestStep: number;
  stop: StopReason | "epochs";
  l0: number;
  deadLatents: number;
  saeSeconds: number;
  outcomes: FeatureOutcome[];
  /** Activation density of z on the scored rows in 16 ordered latent-index groups (paper Fig. 4). */
  densityGroups: number[];
  curves: Pick<EpochRecord, "epoch" | "step" | "trainLoss" | "valLoss" | "nmse" | "l0" | "dead">[];
  /** The SAE and the fitted probes; written to the cell's folder, never into its JSON. */
  artefacts?: CellArtefacts;
}

export const DENSITY_GROUPS = 16;

export function saeConfigFor(spec: CellSpec, dCodec: number): SaeConfig {
  return saeConfig(spec.q, spec.s, dCodec, {
    epochs: spec.epochs,
    convergence: spec.convergence ?? undefined,
    batchSize: spec.sae.batchSize,
    lr: spec.sae.lr,
    adamEps: spec.sae.adamEps,
    seed: spec.seed,
  });
}

/** Mean of 1[z > 0] over test rows and over each contiguous group of latent indices. */
export function densityByGroup(z: Matrix, groups = DENSITY_GROUPS): number[] {
  const out: number[] = [];
  for (let g = 0; g < groups; g++) {
    const lo = Math.floor((g * z.cols) / groups), hi = Math.floor(((g + 1) * z.cols) / groups);
    let active = 0;
    for (let i = 0; i < z.rows; i++) {
      const o = i * z.cols;
      for (let j = lo; j < hi; j++) if (z.data[o + j] > 0) active++;
    }
    out.push(hi > lo && z.rows > 0 ? active / ((hi - lo) * z.rows) : 0);
  }
  return out;
}

/**
 * `threads`: compute threads for the SAE (cores ÷ parallel cells). Machine parallelism, so deliberately not in
 * CellSpec (the cache key): the engines give bit-identical results at any thread count (lib/sae/engine.ts).
 */
export async function runCell(spec: CellSpec, data: CellData, threads = 1): Promise<CellOutcome> {
  const dCodec = data.train.cols;
  const cfg = saeConfigFor(spec, dCodec);
  const t0 = performance.now();
  const trained = await trainSae(data.train, cfg, { val: data.val1, quiet: true, threads });
  const saeSeconds = (performance.now() - t0) / 1000;
  const metrics = await saeMetrics(trained.model, data.train);
  const heldout = await saeMetrics(trained.model, data.test);
  const pca = fitPca(data.train);
  const evPcaK = pcaExplainedVariance(pca, data.train, cfg.k);
  const evPcaKHeldout = pcaExplainedVariance(pca, data.test, cfg.k);
  const steps = trained.optimizer.step;
  const z = await encodeSae(trained.model, data.probe);
  const outcomes: FeatureOutcome[] = [];
  const probes: Record<string, ProbeArtefact> = {};
  for (const feature of spec.features) {
    const x = feature === "z" ? z : feature === "z_pos" ? positionFeatures(z) : magnitudeFeatures(z, cfg.k);
    const r = runProtocol(x, data.probeRows, spec.probe);
    Object.assign(probes, protocolArtefacts(feature, r.fits, spec.probe.C));
    outcomes.push({ feature, ...probeOutcome(r) });
  }
  const scored: number[] = [];
  data.probeRows.testFold.forEach((f, i) => (f >= 0 ? scored.push(i) : 0));
  return {
    k: cfg.k,
    dZ: cfg.dZ,
    dCodec,
    nmse: metrics.nmse,
    explainedVariance: metrics.explainedVariance,
    evPcaK,
    evHeldout: heldout.explainedVariance,
    evPcaKHeldout,
    saeTrained: saeTrained(metrics.explainedVariance, evPcaK),
    heldoutBelowPcaK: !saeTrained(heldout.explainedVariance, evPcaKHeldout),
    steps,
    bestStep: trained.stopping?.bestStep ?? steps,
    stop: trained.stopping?.reason ?? "epochs",
    l0: metrics.l0,
    deadLatents: metrics.deadLatents,
    saeSeconds,
    outcomes,
    densityGroups: densityByGroup(takeRows(z, scored)),
    curves: trained.history.map((h) => ({
      epoch: h.epoch,
      step: h.step,
      trainLoss: h.trainLoss,
      valLoss: h.valLoss ?? null,
      nmse: h.nmse,
      l0: h.l0,
      dead: h.dead,
    })),
    artefacts: { sae: { model: trained.model, history: trained.history, engine: trained.engine }, probes },
  };
}
