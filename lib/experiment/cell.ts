/**
 * One grid cell: for a (dataset, codec, task, q, s, seed), train the TopK SAE on the task's train split
 * (monitored on validation half 1), encode validation half 2 (probe training) and test, fit one L1 probe per
 * feature kind, and record ΔF1 against the reference F1 on u. Pure computation on matrices, so it runs the same
 * in the main thread or a worker.
 */
import { type Matrix, takeRows } from "../common/matrix.ts";
import { encodeSae, type SaeConfig, saeConfig, saeMetrics, trainSae } from "../sae/mod.ts";
import { magnitudeFeatures, positionFeatures, type ProbeRows, runProtocol } from "../probe/mod.ts";
import { type CellArtefacts, type ProbeArtefact, protocolArtefacts } from "./artefacts.ts";
import type { FeatureKind, Pooling, ProbeConfig } from "./config.ts";

export interface CellSpec {
  dataset: string;
  codec: string;
  task: string;
  q: number;
  s: number;
  seed: number;
  epochs: number;
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

export interface CellOutcome {
  k: number;
  dZ: number;
  dCodec: number;
  nmse: number;
  explainedVariance: number;
  l0: number;
  deadLatents: number;
  saeSeconds: number;
  outcomes: FeatureOutcome[];
  /** Activation density of z on the scored rows in 16 ordered latent-index groups (paper Fig. 4). */
  densityGroups: number[];
  curves: {
    epoch: number;
    trainLoss: number;
    valLoss: number | null;
    nmse: number;
    l0: number;
    dead: number;
  }[];
  /** The SAE and the fitted probes; written to the cell's folder, never into its JSON. */
  artefacts?: CellArtefacts;
}

export const DENSITY_GROUPS = 16;

export function saeConfigFor(spec: CellSpec, dCodec: number): SaeConfig {
  return saeConfig(spec.q, spec.s, dCodec, {
    epochs: spec.epochs,
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
  const z = await encodeSae(trained.model, data.probe);
  const outcomes: FeatureOutcome[] = [];
  const probes: Record<string, ProbeArtefact> = {};
  for (const feature of spec.features) {
    const x = feature === "z" ? z : feature === "z_pos" ? positionFeatures(z) : magnitudeFeatures(z, cfg.k);
    const r = runProtocol(x, data.probeRows, spec.probe);
    Object.assign(probes, protocolArtefacts(feature, r.fits, spec.probe.C));
    outcomes.push({
      feature,
      f1: r.macroF1,
      accuracy: r.accuracy,
      nnz: r.nnz,
      nIter: r.nIter,
      converged: r.converged,
      probeSeconds: r.seconds,
      predictions: Array.from(r.predictions),
    });
  }
  const scored: number[] = [];
  data.probeRows.testFold.forEach((f, i) => (f >= 0 ? scored.push(i) : 0));
  return {
    k: cfg.k,
    dZ: cfg.dZ,
    dCodec,
    nmse: metrics.nmse,
    explainedVariance: metrics.explainedVariance,
    l0: metrics.l0,
    deadLatents: metrics.deadLatents,
    saeSeconds,
    outcomes,
    densityGroups: densityByGroup(takeRows(z, scored)),
    curves: trained.history.map((h) => ({
      epoch: h.epoch,
      trainLoss: h.trainLoss,
      valLoss: h.valLoss ?? null,
      nmse: h.nmse,
      l0: h.l0,
      dead: h.dead,
    })),
    artefacts: { sae: { model: trained.model, history: trained.history, engine: trained.engine }, probes },
  };
}
