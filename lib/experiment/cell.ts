/**
 * One grid cell: for a (dataset, codec, task, q, s, seed), train the TopK SAE on the task's train split
 * (monitored on validation half 1), encode validation half 2 (probe training) and test, fit one L1 probe per
 * feature kind, and record ΔF1 against the reference F1 on u. Pure computation on matrices, so it runs the same
 * in the main thread or a worker. A frame-level cell (saeInput "frames") fits its SAE on sampled frames ê_t of
 * the dataset's train split (monitored and held out on val1 frames), or loads it when another task's cell of
 * the same codec × config × seed already did (the SAE is label-free), encodes every frame of a probe recording
 * and pools its codes (cell_frames.ts).
 */
// Direct module imports, never the stage barrels: the cache key hashes this module's import closure
// (lib/common/source_graph.ts), which should hold the code that computes numbers and nothing else.
import { type Matrix, takeRows } from "../common/matrix.ts";
import { type SaeConfig, saeConfig } from "../sae/config.ts";
import { encodeSae, saeMetrics } from "../sae/evaluate.ts";
import { fitPca, pcaExplainedVariance, saeTrained } from "../sae/pca.ts";
import { trainSae } from "../sae/train.ts";
import { magnitudeFeatures, positionFeatures } from "../probe/features.ts";
import { type ProbeRows, runProtocol } from "../probe/protocol.ts";
import { kSparseOutcomes, kSparseProbes } from "../probe/ksparse.ts";
import { type CellArtefacts, type ProbeArtefact, protocolArtefacts } from "./artefacts.ts";
import type { ResolvedCell } from "./plan.ts";
import type { FeatureKind } from "./config.ts";
import type { SaeModel } from "../sae/model.ts";
import { type FeatureOutcome, probeOutcome } from "./probe_outcome.ts";
import { type FrameSources, frameSplits, pooledFrameFeatures } from "./cell_frames.ts";
import { readSharedSae, type SaeFit, type SharedSae } from "./shared_sae.ts";

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
  /** The frames file behind every row above: present when the run keeps frames (saeInput "frames"). */
  frames?: FrameSources;
}

export interface CellOutcome extends SaeFit {
  k: number;
  dZ: number;
  dCodec: number;
  outcomes: FeatureOutcome[];
  /** Activation density of z on the scored rows in 16 ordered latent-index groups (paper Fig. 4). */
  densityGroups: number[];
  /** Frame-level cells: the key of the SAE they share with every task's cell of the same codec × config × seed. */
  saeKey?: string;
  /** The SAE and the fitted probes; written to the cell's folder, never into its JSON. */
  artefacts?: CellArtefacts;
}

export const DENSITY_GROUPS = 16;

/** The SAE configuration of a resolved cell (k and d_z as the planner computed them, checked by saeConfig). */
export function saeConfigFor(cell: ResolvedCell): SaeConfig {
  const sched = cell.schedule;
  const cfg = saeConfig(cell.q, cell.s, cell.dIn, {
    // The convergent schedule counts steps, not epochs.
    epochs: sched.kind === "epochs" ? sched.epochs : 0,
    convergence: sched.kind === "convergent" ? sched.rule : undefined,
    batchSize: cell.sae.batchSize,
    lr: sched.lr,
    adamEps: cell.sae.adamEps,
    seed: cell.seed,
  });
  if (cfg.k !== cell.k || cfg.dZ !== cell.dZ) {
    throw new Error(`planner and SAE disagree on k/d_z for q=${cell.q}, s=${cell.s}, d=${cell.dIn}`);
  }
  return cfg;
}

/**
 * Mean of 1[z > 0] over test rows and over each contiguous group of latent indices; `rates`: z holds firing
 * rates already (frame-level z_pos), averaged as they are.
 */
export function densityByGroup(z: Matrix, groups = DENSITY_GROUPS, rates = false): number[] {
  const out: number[] = [];
  for (let g = 0; g < groups; g++) {
    const lo = Math.floor((g * z.cols) / groups), hi = Math.floor(((g + 1) * z.cols) / groups);
    let active = 0;
    for (let i = 0; i < z.rows; i++) {
      const o = i * z.cols;
      for (let j = lo; j < hi; j++) active += rates ? z.data[o + j] : z.data[o + j] > 0 ? 1 : 0;
    }
    out.push(hi > lo && z.rows > 0 ? active / ((hi - lo) * z.rows) : 0);
  }
  return out;
}

/**
 * Trains the SAE on `rows.train` (the stopping rule on `rows.monitor`) and measures it: in-sample on the
 * training rows, held out on `rows.heldout`, each against PCA-k fitted on the training rows.
 */
async function fitSae(
  cfg: SaeConfig,
  rows: { train: Matrix; monitor: Matrix; heldout: Matrix },
  threads: number,
): Promise<SharedSae> {
  const t0 = performance.now();
  const trained = await trainSae(rows.train, cfg, { val: rows.monitor, quiet: true, threads });
  const saeSeconds = (performance.now() - t0) / 1000;
  const metrics = await saeMetrics(trained.model, rows.train);
  const heldout = await saeMetrics(trained.model, rows.heldout);
  const pca = fitPca(rows.train);
  const evPcaK = pcaExplainedVariance(pca, rows.train, cfg.k);
  const evPcaKHeldout = pcaExplainedVariance(pca, rows.heldout, cfg.k);
  const steps = trained.optimizer.step;
  const fit: SaeFit = {
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
    saeTrainRows: rows.train.rows,
    curves: trained.history.map((h) => ({
      epoch: h.epoch,
      step: h.step,
      trainLoss: h.trainLoss,
      valLoss: h.valLoss ?? null,
      nmse: h.nmse,
      l0: h.l0,
      dead: h.dead,
    })),
  };
  return { sae: { model: trained.model, history: trained.history, engine: trained.engine }, fit };
}

/**
 * A cell's SAE: trained on u (the paper: train split, monitored on val1, held out on test), or the frame-level
 * SAE of its codec × config × seed — loaded when stored, else trained on frames.
 */
async function cellSae(spec: ResolvedCell, data: CellData, threads: number): Promise<SharedSae> {
  const cfg = saeConfigFor(spec);
  if (spec.saeInput !== "frames") {
    return await fitSae(cfg, { train: data.train, monitor: data.val1, heldout: data.test }, threads);
  }
  if (!data.frames) {
    throw new Error(
      `${spec.dataset}/${spec.codec}: a frame-level cell needs a feature store that keeps frames`,
    );
  }
  const stored = data.frames.sae ? await readSharedSae(data.frames.sae.dir, cfg) : null;
  if (stored) return stored;
  const rows = await frameSplits(data.frames, spec.dIn, {
    perRecording: spec.framesPerRecording!,
    monitorFrames: spec.monitorFrames!,
    seed: spec.seed,
  });
  return await fitSae(cfg, rows, threads);
}

/** Each feature kind's probe matrix (rows of data.probe), and the density groups of the scored rows. */
async function probeFeatures(
  spec: ResolvedCell,
  data: CellData,
  model: SaeModel,
  threads: number,
): Promise<{ of: (f: FeatureKind) => Matrix; densityGroups: number[] }> {
  const scored: number[] = [];
  data.probeRows.testFold.forEach((f, i) => (f >= 0 ? scored.push(i) : 0));
  if (spec.saeInput === "frames") {
    const x = await pooledFrameFeatures(model, data.frames!.probe, threads);
    return {
      of: (f) => x[f],
      densityGroups: densityByGroup(takeRows(x.z_pos, scored), DENSITY_GROUPS, true),
    };
  }
  const z = await encodeSae(model, data.probe);
  return {
    of: (f) => (f === "z" ? z : f === "z_pos" ? positionFeatures(z) : magnitudeFeatures(z, spec.k)),
    densityGroups: densityByGroup(takeRows(z, scored)),
  };
}

/**
 * `threads`: compute threads for the SAE (cores ÷ parallel cells). Machine parallelism, so deliberately not in
 * ResolvedCell (the cache key): the engines give bit-identical results at any thread count (lib/sae/engine.ts).
 */
export async function runCell(spec: ResolvedCell, data: CellData, threads = 1): Promise<CellOutcome> {
  const dCodec = data.train.cols;
  if (dCodec !== spec.dIn) {
    throw new Error(`the cell's features have ${dCodec} columns, its plan says d = ${spec.dIn}`);
  }
  const { sae, fit } = await cellSae(spec, data, threads);
  const x = await probeFeatures(spec, data, sae.model, threads);
  const outcomes: FeatureOutcome[] = [];
  const probes: Record<string, ProbeArtefact> = {};
  for (const feature of spec.features) {
    const xf = x.of(feature);
    const r = runProtocol(xf, data.probeRows, spec.probe);
    Object.assign(probes, protocolArtefacts(feature, r.fits, spec.probe.C));
    const ksparse = kSparseOutcomes(kSparseProbes(xf, data.probeRows, spec.probe, { full: r }));
    outcomes.push({ feature, ...probeOutcome(r), ksparse });
  }
  return {
    k: spec.k,
    dZ: spec.dZ,
    dCodec,
    ...fit,
    outcomes,
    densityGroups: x.densityGroups,
    ...(data.frames?.sae ? { saeKey: data.frames.sae.key } : {}),
    artefacts: { sae, probes },
  };
}
