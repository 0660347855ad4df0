/**
 * The experiment planner: run config → the list of resolved cells. Every value a cell needs (dataset, task,
 * codec, pooling, probe protocol, q, s, k, d_z, seed, SAE schedule with its concrete parameters, feature kinds,
 * SAE input) is decided here, once; the local executor (run.ts) and the Slurm executor (executor_slurm.ts)
 * both consume this list and neither enumerates the grid itself. Pure: the facts it needs from outside (which
 * tasks a dataset's manifest supports, each codec's dimension) are passed in.
 */
import { kFor } from "../sae/config.ts";
import type { ConvergenceRule } from "../sae/convergence.ts";
import { paperEpochs } from "../sae/paper.ts";
import {
  convergenceOf,
  type DatasetConfig,
  type EpochsRule,
  type FeatureKind,
  FRAMES_PER_RECORDING,
  MONITOR_FRAMES,
  type Pooling,
  type ProbeConfig,
  type RunConfig,
  type SaeInput,
  type TaskId,
  taskName,
} from "./config.ts";

/** Where a cell sits in the grid: dataset × codec × task × SAE config (q, s) × seed. */
export interface CellCoordinates {
  dataset: string;
  codec: string;
  task: TaskId;
  q: number;
  s: number;
  seed: number;
}

/** How long an SAE trains, with every parameter decided. */
export type Schedule =
  /** Until the val1 loss stops improving (lib/sae/convergence.ts), best-val1 weights kept. */
  | { kind: "convergent"; rule: ConvergenceRule; lr: number }
  /** A number of epochs: the paper's 200/500 rule, a fixed number, or the paper's rule scaled. */
  | { kind: "epochs"; name: "paper" | "fixed" | "paperScaled"; epochs: number; lr: number };

export type { SaeInput } from "./config.ts";

/** One cell of the grid, fully resolved: nothing about it is looked up again in the run config. */
export interface ResolvedCell extends CellCoordinates {
  /** How u is pooled from ê over time, and the SAE input width that pooling gives (d, or 2d for mean+std). */
  pooling: Pooling;
  dIn: number;
  /** "utterance": the SAE is fit on u (the paper); "frames": on frames ê_t, codes pooled per recording. */
  saeInput: SaeInput;
  /**
   * Frame-level cells only (absent otherwise, so utterance-level cells keep their keys): the frame cap per
   * recording, and the val1 frames the stopping rule measures.
   */
  framesPerRecording?: number;
  monitorFrames?: number;
  /** d_z = round(q·d), k = ⌈s·d⌉ (lib/sae/config.ts). */
  dZ: number;
  k: number;
  schedule: Schedule;
  sae: { batchSize: number; adamEps: number };
  features: FeatureKind[];
  /** The probe settings a cell's probes use (the chance level's permutations belong to the reference only). */
  probe: Omit<ProbeConfig, "permutations">;
}

/** A dataset entry with its preparation options decided (the same for both executors). */
export interface ResolvedDataset {
  name: string;
  manifest?: string;
  /** An external test set: every scored recording comes from it. */
  testManifest?: string;
  source?: string;
  /** Options for the dataset's preparer. */
  options: Record<string, unknown>;
  /** Accept the same audio content in two splits (leakage; refused by default). */
  allowDuplicateAudio: boolean;
  /** Tasks asked of this dataset: its own list (each must apply), else the run's (those that apply). */
  tasks: TaskId[];
  /** The dataset entry named its tasks: one that does not apply is an error, not skipped. */
  tasksExplicit: boolean;
}

/** What the planner needs to know from outside: tasks each manifest supports, each codec's dimension. */
export interface PlanFacts {
  /** dataset name → the tasks its manifest supports (lib/data taskApplies). */
  supportedTasks: Record<string, readonly TaskId[]>;
  /** dataset name → task → why the manifest does not support it (lib/data taskProblem), for the errors. */
  taskProblems?: Record<string, Record<TaskId, string>>;
  /** codec id → the dimension d of its ê (the registry's dCodec). */
  dCodec: Record<string, number>;
}

/** The resolved schedule of an epochs rule for config (q, s) at learning rate `lr` (the config's, validated). */
export function resolveSchedule(rule: EpochsRule, q: number, s: number, lr: number): Schedule {
  const convergent = convergenceOf(rule);
  if (convergent) return { kind: "convergent", rule: convergent, lr };
  if (rule === "paper") return { kind: "epochs", name: "paper", epochs: paperEpochs(q, s), lr };
  if (typeof rule === "object" && "fixed" in rule) {
    return { kind: "epochs", name: "fixed", epochs: rule.fixed, lr };
  }
  const scale = (rule as { paperScaled: number }).paperScaled;
  return {
    kind: "epochs",
    name: "paperScaled",
    epochs: Math.max(1, Math.round(paperEpochs(q, s) * scale)),
    lr,
  };
}

/** The dataset entries with their options decided. */
export function resolveDatasets(config: RunConfig): ResolvedDataset[] {
  return config.datasets.map((d: DatasetConfig) => ({
    name: d.name,
    ...(d.manifest !== undefined ? { manifest: d.manifest } : {}),
    ...(d.testManifest !== undefined ? { testManifest: d.testManifest } : {}),
    ...(d.source !== undefined ? { source: d.source } : {}),
    options: { ...(d.options ?? {}) },
    allowDuplicateAudio: d.allowDuplicateAudio ?? false,
    tasks: [...(d.tasks ?? config.tasks.map(taskName))],
    tasksExplicit: d.tasks !== undefined,
  }));
}

/** The tasks a dataset runs: those asked that its manifest supports; an explicitly asked one must apply. */
export function tasksOfDataset(ds: ResolvedDataset, supported: readonly TaskId[]): TaskId[] {
  const unsupported = ds.tasks.filter((t) => !supported.includes(t));
  if (ds.tasksExplicit && unsupported.length > 0) {
    throw new Error(
      `dataset '${ds.name}' does not support task '${unsupported[0]}' (its manifest has no recordings of ` +
        `one of the task's classes); remove it from the dataset's "tasks"`,
    );
  }
  return ds.tasks.filter((t) => supported.includes(t));
}

/**
 * Every cell of the run, in the order both executors compute and list them: dataset × codec × task × q × s ×
 * seed. An empty grid (no task applies to any dataset) is an error naming what to change.
 */
export function planCells(config: RunConfig, facts: PlanFacts): ResolvedCell[] {
  const cells: ResolvedCell[] = [];
  const datasets = resolveDatasets(config);
  for (const ds of datasets) {
    const supported = facts.supportedTasks[ds.name];
    if (!supported) throw new Error(`planner: no manifest facts for dataset '${ds.name}'`);
    const tasks = tasksOfDataset(ds, supported);
    for (const codec of config.codecs) {
      const d = facts.dCodec[codec];
      if (!(d > 0)) throw new Error(`planner: no dimension for codec '${codec}'`);
      const dIn = config.pooling === "mean" ? d : 2 * d;
      for (const task of tasks) {
        for (const input of config.saeInput) {
          const seeds = input === "frames" ? frameSeeds(config, codec) : config.seeds;
          for (const q of config.grid.q) {
            for (const s of config.grid.s) {
              const schedule = resolveSchedule(config.epochs, q, s, config.sae.lr);
              for (const seed of seeds) {
                cells.push({
                  dataset: ds.name,
                  codec,
                  task,
                  q,
                  s,
                  seed,
                  pooling: config.pooling,
                  dIn,
                  ...saeInputOf(config, input),
                  dZ: Math.round(q * dIn),
                  k: kFor(s, dIn),
                  schedule,
                  sae: { batchSize: config.sae.batchSize, adamEps: config.sae.adamEps },
                  features: [...config.features],
                  probe: cellProbe(config.probe),
                });
              }
            }
          }
        }
      }
    }
  }
  // A run task that no dataset can run would silently give no rows: refused, with each dataset's reason.
  for (const task of config.tasks.map(taskName)) {
    const asked = datasets.filter((d) => d.tasks.includes(task));
    if (asked.length > 0 && !cells.some((c) => c.task === task)) {
      const why = asked.map((d) => `${d.name}: ${facts.taskProblems?.[d.name]?.[task] ?? "not supported"}`);
      throw new Error(
        `${config.name}: task '${task}' applies to no dataset (${why.join("; ")}); add recordings of both ` +
          `classes to every split, or remove the task from "tasks"`,
      );
    }
  }
  if (cells.length === 0) {
    const asked = datasets.map((d) => `${d.name}: ${d.tasks.join(", ")}`).join("; ");
    throw new Error(
      `${config.name}: the grid has no cells — no task asked (${asked}) applies to a dataset's recordings; ` +
        `check the datasets' accent labels and the run's "tasks"`,
    );
  }
  return cells;
}

/** The codecs whose stores must keep frames: those with frame-level cells (none without saeInput "frames"). */
export function frameCodecs(config: RunConfig): string[] {
  if (!config.saeInput.includes("frames")) return [];
  return config.codecs.filter((c) => frameSeeds(config, c).length > 0);
}

/** The seeds of a codec's frame-level cells: none on a codec outside frames.codecs. */
function frameSeeds(config: RunConfig, codec: string): number[] {
  const f = config.frames;
  if (f?.codecs && !f.codecs.includes(codec)) return [];
  return f?.seeds ? config.seeds.filter((s) => f.seeds!.includes(s)) : config.seeds;
}

/** A cell's SAE input; the frame sampling only for frame-level cells. */
function saeInputOf(
  config: RunConfig,
  input: SaeInput,
): Pick<ResolvedCell, "saeInput" | "framesPerRecording" | "monitorFrames"> {
  return input === "frames"
    ? {
      saeInput: input,
      framesPerRecording: config.frames?.perRecording ?? FRAMES_PER_RECORDING,
      monitorFrames: config.frames?.monitorFrames ?? MONITOR_FRAMES,
    }
    : { saeInput: "utterance" };
}

/** The probe settings of a cell: the run's, without the reference's permutation count (not in a cell's key). */
function cellProbe(probe: ProbeConfig): Omit<ProbeConfig, "permutations"> {
  const { permutations: _permutations, ...rest } = probe;
  return rest;
}

/** A cell's coordinates as one string: how plans, logs and messages name it. */
export function cellId(c: CellCoordinates): string {
  return `${c.dataset}/${c.codec}/${c.task}/q=${c.q}/s=${c.s}/seed=${c.seed}`;
}

/** A schedule's name as results and reports show it ("convergent", "paper", "fixed", "paperScaled"). */
export function scheduleName(schedule: Schedule): string {
  return schedule.kind === "convergent" ? "convergent" : schedule.name;
}
