/**
 * The run config of an experiment grid: which datasets, tasks, codecs, SAE grid, seeds and probes to run,
 * and where results go. One declared table (RUN_CONFIG_SPEC: key → type, constraints, default, at every
 * level) validates a parsed JSON file once at the boundary and generates the published JSON Schema
 * (docs/run-config.schema.json). Adding a field is one line in the table (and one in RunConfig).
 */
import { dirname, join, relative, resolve } from "node:path";
import { checkOutputPath, readJson, safeName } from "../common/fs.ts";
import { columnTask, type ColumnTaskDefinition, TASKS, type TaskSpec } from "../data/task_specs.ts";
import { preparerOptionsProblem } from "../data/preparer_options.ts";
import { LIMITS } from "../common/limits.ts";
import { SchemaError, type Spec, toJsonSchema, validate } from "../common/schema.ts";
// The schedule's constants only (not lib/sae/mod.ts, which loads the compute engines).
import { CONVERGENCE_DEFAULTS, type ConvergenceRule, CONVERGENT_LR, defaultLr } from "../sae/convergence.ts";
import { PAPER_LR, PAPER_Q, PAPER_S } from "../sae/paper.ts";

/** A task's name: one of the paper's accent tasks, or a column task the run config defines. */
export type TaskId = string;
/** The paper's two accent tasks. */
export type AccentTaskId = "us-vs-uk" | "us-vs-non-us-uk";
/** A run-config task: an accent task's id, or a task defined from a manifest column. */
export type TaskEntry = AccentTaskId | ColumnTaskDefinition;
export type FeatureKind = "z" | "z_pos" | "z_mag";
/** How u is pooled from ê over time: the paper's mean, or statistics pooling [mean, std] (d doubles). */
export type Pooling = "mean" | "mean+std";
/** Which rows train the probes and which score them (see lib/probe/protocol.ts). */
export type ProbeProtocol = "split" | "kfold" | "dev";

export const POOLINGS: Pooling[] = ["mean", "mean+std"];
/** What an SAE is fit on: one pooled u per recording (the paper), or the frames ê_t of each recording. */
export type SaeInput = "utterance" | "frames";
export const SAE_INPUTS: SaeInput[] = ["utterance", "frames"];
/** Default frame cap per recording of a frame-level SAE. */
export const FRAMES_PER_RECORDING = 200;
/** Frame-level SAEs: val1 frames the stopping rule measures (a fixed, seeded sample; evaluating all is slow). */
export const MONITOR_FRAMES = 4096;
export const PROBE_PROTOCOLS: ProbeProtocol[] = ["split", "kfold", "dev"];

export interface ProbeConfig {
  C: number;
  tol: number;
  maxIter: number;
  /**
   * "split": the paper's (train on val2, score test); "kfold": speaker-level k-fold over val + test (mixes
   * test speakers into training folds); "dev": train on every development row the SAE was not fit on (val1 and
   * val2), C chosen by speaker-level inner cross-validation, refit on all of them, score test.
   */
  protocol: ProbeProtocol;
  /** Folds of the k-fold protocol (ignored by "split"). */
  folds: number;
  /** Inner cross-validation folds choosing C (the "dev" protocol). */
  innerFolds: number;
  /** "dev" protocol: also train the probe on the SAE's training rows (as SAEBench's probes do). */
  saeRows: boolean;
  /** Label-permuted probes per task giving the chance level of the reference F1 (0 disables). */
  permutations: number;
}

export const TASK_IDS: AccentTaskId[] = ["us-vs-uk", "us-vs-non-us-uk"];
export const FEATURE_KINDS: FeatureKind[] = ["z", "z_pos", "z_mag"];

export interface DatasetConfig {
  /** "fsdd", "synthetic", or any name for a user manifest. */
  name: string;
  /** A prepared manifest (CSV/Parquet); when absent the named built-in dataset is prepared. */
  manifest?: string;
  /**
   * An external test set (a manifest): its recordings are only ever scored — never used to fit the SAE or the
   * probe, to choose C or to stop training. The development manifest then holds train and validation only.
   */
  testManifest?: string;
  /**
   * Local copy of the dataset's files (e.g. ../shared/data/fsdd); `grid --data DIR` overrides it; else
   * NAC_SAE_DATA, ../shared/data, the cache, a download (the rule of lib/common/settings.ts).
   */
  source?: string;
  /** Options passed to the dataset's preparer (e.g. synthetic corpus size). */
  options?: Record<string, unknown>;
  /** Names of the run's tasks to run on this dataset; default: every task in the run that it supports. */
  tasks?: TaskId[];
  /** Accept the same audio content in two splits (leakage; refused by default). */
  allowDuplicateAudio?: boolean;
}

/** How long each SAE config trains: the SAE training schedule. */
export type EpochsRule =
  /**
   * The default: until the val1 loss stops improving (lib/sae/convergence.ts), best-val1 weights kept, at
   * `sae.lr` (default CONVERGENT_LR). The object form overrides the rule's parameters.
   */
  | "convergent"
  | { convergent: ConvergenceRule }
  /** The paper-literal schedule: 200 epochs, or 500 for q ∈ {2, 5} with s ∈ {0.10, 0.05}, lr 1e-5. */
  | "paper"
  /** The same number for every config. */
  | { fixed: number }
  /** The paper's rule scaled by a factor (rounded, at least 1): a visible, documented shortcut. */
  | { paperScaled: number };

export interface RunConfig {
  name: string;
  datasets: DatasetConfig[];
  codecs: string[];
  tasks: TaskEntry[];
  grid: { q: number[]; s: number[] };
  epochs: EpochsRule;
  seeds: number[];
  features: FeatureKind[];
  /** Results directory (relative paths resolve against the config file's folder). */
  outDir: string;
  /** Feature store directory; default `<outDir>/features`. */
  featureDir?: string;
  modelsDir?: string;
  /** Parallel cells (one per core). */
  workers: number;
  sae: { batchSize: number; lr: number; adamEps: number };
  /** "mean" (the paper) or "mean+std" (statistics pooling). */
  pooling: Pooling;
  /**
   * What the SAEs are fit on, each a set of cells: "utterance" (the paper-literal protocol) and/or "frames" (SAE
   * on frames, codes pooled per recording). Written as one string or a list; validation makes it a list.
   */
  saeInput: SaeInput[];
  /**
   * Frame-level SAEs: at most `perRecording` seeded frames of each recording train the SAE and measure its
   * held-out fit, `monitorFrames` val1 frames drive the stopping rule; frame-level cells only on `codecs` and
   * `seeds` (default: the run's).
   */
  frames: { perRecording: number; monitorFrames: number; codecs?: string[]; seeds?: number[] };
  probe: ProbeConfig;
  /** Bootstrap resamples over test utterances for single-seed intervals (0 disables). */
  bootstrap: number;
}

const num = (rule: (typeof LIMITS)[keyof typeof LIMITS], extra: Partial<Spec> = {}): Spec =>
  ({ type: "number", rule, ...extra }) as Spec;
const numList = (rule: (typeof LIMITS)[keyof typeof LIMITS], extra: Partial<Spec> = {}): Spec =>
  ({ type: "array", items: num(rule), minItems: 1, unique: true, ...extra }) as Spec;
const valueList: Spec = {
  type: "oneOf",
  variants: [{ type: "string" }, { type: "array", items: { type: "string" }, minItems: 1, unique: true }],
};
/** A run-level task: an accent task's id, or a binary task read from a manifest column. */
const taskEntry: Spec = {
  type: "oneOf",
  variants: [
    { type: "string", enum: TASK_IDS },
    {
      type: "object",
      description: 'a task from a manifest column, e.g. {"name": "sex", "column": "gender", "positive": ' +
        '"female", "negative": "male"}; recordings with another or no value are left out of it (counted)',
      fields: {
        name: { type: "string", required: true, description: "the task's name in results and reports" },
        column: { type: "string", required: true, description: "the manifest column holding the label" },
        positive: { ...valueList, required: true, description: "value(s) of class 1" },
        negative: { ...valueList, required: true, description: "value(s) of class 0" },
      },
    },
  ],
};
const taskList: Spec = { type: "array", items: taskEntry, minItems: 1 };

/** The probe settings of a run config (`probe`), with their defaults. */
const PROBE_SPEC: Spec = {
  type: "object",
  fields: {
    C: num(LIMITS.probeC, { default: 1, description: "inverse L1 strength" }),
    tol: num(LIMITS.probeTol, { default: 1e-4 }),
    maxIter: num(LIMITS.probeMaxIter, { default: 3000, aliases: ["max_iter", "maxIterations"] }),
    protocol: {
      type: "string",
      enum: PROBE_PROTOCOLS,
      default: "split",
      description: '"split": train on val2, score test (the paper-literal protocol); "dev": train on every ' +
        "validation row (val1 + val2; the SAE never saw their labels), C by speaker-level inner CV, score " +
        'test; "kfold": speaker-level k-fold over val + test, pooled predictions (mixes test speakers into ' +
        "training folds: it cannot score a fixed or external test set)",
    },
    folds: num(LIMITS.folds, { default: 5, description: "folds of the kfold protocol" }),
    innerFolds: num(LIMITS.folds, {
      default: 5,
      description: "dev protocol: speaker-level inner cross-validation folds choosing C (lib/probe C_GRID)",
    }),
    saeRows: {
      type: "boolean",
      default: false,
      description: "dev protocol: also train the probe on the SAE's training rows (SAEBench's choice; " +
        "z on rows the SAE was fit to may differ from z on unseen rows)",
    },
    permutations: num(LIMITS.permutations, {
      default: 20,
      description: "label-permuted probes per task: the chance level of the reference F1 (0 disables)",
    }),
  },
};

/**
 * Probe settings as a run config resolves them: `raw` (a saved run_config.json's `probe`, possibly partial or
 * absent) validated, with every default filled in — the one definition of the probe's defaults.
 */
export function resolveProbeConfig(raw: unknown, source: string): ProbeConfig {
  try {
    return validate(PROBE_SPEC, raw ?? {}, "probe", { resolvePath: (p) => p }) as ProbeConfig;
  } catch (e) {
    throw new Error(`${source}: invalid probe settings: ${(e as Error).message}`);
  }
}

/** The run-config table: every key, its type and constraints, its default. */
export const RUN_CONFIG_SPEC: Spec = {
  type: "object",
  description: "nac-sae run config (`deno task cli grid --config FILE`)",
  fields: {
    $schema: { type: "string", description: "JSON Schema reference for editors (ignored)" },
    $comment: { type: "string", description: "free text (recorded, ignored)" },
    name: { type: "string", default: "run", description: "run name" },
    datasets: {
      type: "array",
      required: true,
      minItems: 1,
      description: "datasets to run on",
      items: {
        type: "object",
        fields: {
          name: {
            type: "string",
            required: true,
            description: '"fsdd", "synthetic", or a name for a manifest',
          },
          manifest: { type: "path", description: "a prepared manifest (CSV/Parquet)" },
          testManifest: {
            type: "path",
            description:
              "an external test set (a manifest): only ever scored; a speaker or audio file also " +
              "in the development data is refused",
          },
          source: {
            type: "path",
            description: "folder holding the dataset (or its parent; grid --data overrides it); else " +
              "NAC_SAE_DATA, ../shared/data, the cache, a download",
          },
          options: { type: "object", fields: {}, freeForm: true, description: "options for the preparer" },
          tasks: {
            type: "array",
            items: { type: "string" },
            minItems: 1,
            unique: true,
            description: "names of the run's tasks to run on this dataset (default: every task it supports)",
          },
          allowDuplicateAudio: {
            type: "boolean",
            description: "accept the same audio in two splits (leakage)",
          },
        },
      },
    },
    codecs: {
      type: "array",
      required: true,
      minItems: 1,
      unique: true,
      items: { type: "string" },
      description: "codec ids, e.g. lyra-6kbps",
    },
    tasks: {
      ...taskList,
      default: TASK_IDS,
      description: "binary tasks: the paper's accent tasks by id, and tasks from manifest columns",
    },
    grid: {
      type: "object",
      description: "SAE grid: latent ratio q × relative sparsity s",
      fields: {
        q: numList(LIMITS.q, { default: [...PAPER_Q] }),
        s: numList(LIMITS.s, { default: [...PAPER_S] }),
      },
    },
    epochs: {
      type: "oneOf",
      default: "convergent",
      description: 'SAE schedule: "convergent" (until the val1 loss stops improving; {"convergent": {…}} ' +
        'overrides its rule), "paper" (the paper-literal 200 epochs; 500 for q∈{2,5}, s∈{0.10,0.05}), ' +
        '{"fixed": N} or {"paperScaled": F}',
      variants: [
        { type: "string", enum: ["convergent", "paper"] },
        {
          type: "object",
          exactlyOne: true,
          fields: {
            convergent: {
              type: "object",
              description: "the convergent rule's parameters (lib/sae/convergence.ts)",
              fields: {
                evalEvery: num(LIMITS.evalEvery, {
                  default: CONVERGENCE_DEFAULTS.evalEvery,
                  description: "Adam steps between val1 measurements",
                }),
                window: num(LIMITS.convergenceWindow, {
                  default: CONVERGENCE_DEFAULTS.window,
                  description: "stop after this many steps without a relative improvement ≥ minImprovement",
                }),
                minImprovement: num(LIMITS.minImprovement, {
                  default: CONVERGENCE_DEFAULTS.minImprovement,
                  description: "relative val1-loss decrease that counts as an improvement (ε)",
                }),
                maxSteps: num(LIMITS.maxSteps, {
                  default: CONVERGENCE_DEFAULTS.maxSteps,
                  description: "step cap (a multiple of evalEvery)",
                }),
              },
            },
            fixed: num(LIMITS.epochs),
            paperScaled: num(LIMITS.epochsScale),
          },
        },
      ],
    },
    seeds: numList(LIMITS.seed, { default: [0] }),
    features: {
      type: "array",
      items: { type: "string", enum: FEATURE_KINDS },
      minItems: 1,
      unique: true,
      default: FEATURE_KINDS,
    },
    outDir: { type: "path", required: true, description: "results directory" },
    featureDir: { type: "path", description: "feature store (default <outDir>/features)" },
    modelsDir: {
      type: "path",
      description: "folder holding codec weight folders (e.g. lyra-v1.3.2/; grid --models overrides it); " +
        "else NAC_SAE_MODELS, ../shared/models, the cache, a download",
    },
    workers: num(LIMITS.workers, { default: 2, description: "parallel cells" }),
    sae: {
      type: "object",
      fields: {
        batchSize: num(LIMITS.batchSize, { default: 1024, aliases: ["batch", "batch_size"] }),
        lr: num(LIMITS.lr, {
          description:
            `Adam learning rate (default: ${CONVERGENT_LR} for the convergent schedule, the paper's ` +
            `${PAPER_LR} for the epoch schedules)`,
          aliases: ["learning_rate", "learningRate", "learning-rate"],
        }),
        adamEps: num(LIMITS.adamEps, { default: 6.25e-10, aliases: ["eps", "adam_eps", "epsilon"] }),
      },
    },
    pooling: {
      type: "string",
      enum: POOLINGS,
      default: "mean",
      description:
        '"mean": u = mean of ê over time (the paper); "mean+std": [mean, std] over time (d doubles)',
    },
    saeInput: {
      type: "oneOf",
      variants: [
        { type: "string", enum: SAE_INPUTS },
        { type: "array", items: { type: "string", enum: SAE_INPUTS }, minItems: 1, unique: true },
      ],
      default: "utterance",
      description: '"utterance": the SAE is fit on u, one pooled vector per recording (the paper-literal ' +
        'protocol); "frames": the SAE is fit on the codec frames ê_t of the training split\'s recordings ' +
        "(label-free, so one SAE per codec × config × seed serves every task), every frame of a probe " +
        "recording is encoded and the codes pooled over time (z: mean, z_pos: firing rate, z_mag: mean " +
        'magnitude when firing); needs pooling "mean". A list runs both, each its own cells (results column ' +
        "sae_input)",
    },
    frames: {
      type: "object",
      fields: {
        perRecording: num(LIMITS.framesPerRecording, {
          default: FRAMES_PER_RECORDING,
          description: 'saeInput "frames": at most this many frames of each recording (a subsample seeded ' +
            "by the cell's seed) train the SAE and, from other frames of the val1 recordings, measure its " +
            "held-out fit; at most perRecording × recordings frames of a split are held in memory",
        }),
        monitorFrames: num(LIMITS.framesPerRecording, {
          default: MONITOR_FRAMES,
          description:
            "val1 frames (a seeded sample spread evenly over the val1 recordings, disjoint from the " +
            "held-out frames) on which the convergent schedule's stopping rule measures the validation loss",
        }),
        codecs: {
          type: "array",
          items: { type: "string" },
          minItems: 1,
          unique: true,
          description: "frame-level cells only on these codecs of the run (default: all)",
        },
        seeds: numList(LIMITS.seed, {
          description: "frame-level cells only with these seeds of the run (default: all)",
        }),
      },
    },
    probe: PROBE_SPEC,
    bootstrap: num(LIMITS.bootstrap, { default: 1000, description: "bootstrap resamples (0 disables)" }),
  },
};

/** A run-config task's name. */
export function taskName(t: TaskEntry): TaskId {
  return typeof t === "string" ? t : t.name;
}

/** The spec of every task a run can use by name: its own tasks, and the built-in accent tasks. */
export function taskSpecs(config: RunConfig): Map<TaskId, TaskSpec> {
  const out = new Map<TaskId, TaskSpec>(TASK_IDS.map((id) => [id, TASKS[id]]));
  for (const t of config.tasks) if (typeof t === "object") out.set(t.name, columnTask(t));
  return out;
}

/** The JSON Schema published at docs/run-config.schema.json (generated; a test keeps the file in sync). */
export function runConfigJsonSchema(): Record<string, unknown> {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://github.com/nac-sae/nac-sae/docs/run-config.schema.json",
    title: "nac-sae run config",
    ...toJsonSchema(RUN_CONFIG_SPEC),
  };
}

/** The convergent rule of a schedule (its parameters filled), or null for the epoch schedules. */
export function convergenceOf(rule: EpochsRule): ConvergenceRule | null {
  if (rule === "convergent") return { ...CONVERGENCE_DEFAULTS };
  if (typeof rule === "object" && "convergent" in rule) {
    return { ...CONVERGENCE_DEFAULTS, ...rule.convergent };
  }
  return null;
}

export function describeEpochs(rule: EpochsRule): string {
  const conv = convergenceOf(rule);
  if (conv) {
    return `convergent (until the val1 loss improves by < ${conv.minImprovement} relative over ` +
      `${conv.window} steps, measured every ${conv.evalEvery}, ≤ ${conv.maxSteps} steps; best-val1 weights)`;
  }
  if (rule === "paper") return "paper (200; 500 for q∈{2,5}, s∈{0.10,0.05})";
  if (typeof rule === "object" && "fixed" in rule) return `fixed ${rule.fixed}`;
  return `paper × ${(rule as { paperScaled: number }).paperScaled}`;
}

function fail(source: string, msg: string): never {
  throw new Error(`${source}: invalid run config: ${msg}`);
}

/** The run's tasks: unique names, valid column tasks, and every dataset's tasks among them. */
/** frames.codecs / frames.seeds pick among the run's own codecs and seeds. */
function checkFrameSubsets(config: RunConfig, source: string): void {
  const f: Partial<RunConfig["frames"]> = config.frames ?? {};
  const codec = f.codecs?.find((c) => !config.codecs.includes(c));
  if (codec !== undefined) {
    fail(source, `frames.codecs: "${codec}" is not one of the run's codecs (${config.codecs.join(", ")})`);
  }
  const seed = f.seeds?.find((x) => !config.seeds.includes(x));
  if (seed !== undefined) {
    fail(source, `frames.seeds: ${seed} is not one of the run's seeds (${config.seeds.join(", ")})`);
  }
  if ((f.codecs || f.seeds) && !config.saeInput.includes("frames")) {
    fail(source, 'frames.codecs / frames.seeds are set but saeInput does not include "frames"');
  }
}

function checkTasks(config: RunConfig, source: string): void {
  const taskNames = config.tasks.map(taskName);
  const dupTask = taskNames.find((n, i) => taskNames.indexOf(n) !== i);
  if (dupTask) fail(source, `tasks: '${dupTask}' appears twice (task names must be unique)`);
  for (const t of config.tasks) {
    if (typeof t === "object") {
      if ((TASK_IDS as string[]).includes(t.name)) {
        fail(source, `tasks: '${t.name}' is a built-in task's name`);
      }
      try {
        columnTask(t);
      } catch (e) {
        fail(source, `tasks: ${(e as Error).message}`);
      }
    }
  }
  for (const [i, d] of config.datasets.entries()) {
    const unknown = (d.tasks ?? []).find((t) =>
      !taskNames.includes(t) && !(TASK_IDS as string[]).includes(t)
    );
    if (unknown) {
      fail(
        source,
        `datasets[${i}].tasks: '${unknown}' is not a task of the run (tasks: ${taskNames.join(", ")})`,
      );
    }
  }
}

/** Names that reach the filesystem (feature stores, cells), and preparer options, before any work. */
function checkDatasets(config: RunConfig, source: string): void {
  const storeRoot = config.featureDir ?? join(config.outDir, "features");
  config.datasets.forEach((d, i) => {
    const at = `datasets[${i}].name`;
    if (!d.manifest && d.name.toLowerCase().endsWith(".csv")) {
      // A user CSV's path as the name: it may hold folders, but its feature store must stay in storeRoot.
      if (relative(storeRoot, join(storeRoot, d.name)).startsWith("..")) {
        fail(
          source,
          `${at} ${JSON.stringify(d.name)} would put its feature store outside ${storeRoot}; ` +
            `give the CSV as "manifest" after \`data prepare user\`, or a path without ".."`,
        );
      }
    } else {
      try {
        safeName(d.name, at);
      } catch (e) {
        fail(source, (e as Error).message);
      }
    }
    if (d.options && Object.keys(d.options).length > 0) {
      const problem = d.manifest
        ? `options apply to a dataset prepared here (fsdd, saa, synthetic), not to a given "manifest"; remove them`
        : preparerOptionsProblem(d.name, d.options);
      if (problem) fail(source, `datasets[${i}].options: ${problem}`);
    }
  });
}

/** Validates a parsed config object against RUN_CONFIG_SPEC, filling defaults. `baseDir` resolves paths. */
export function validateConfig(raw: unknown, source = "<config>", baseDir = "."): RunConfig {
  let v: Record<string, unknown>;
  try {
    v = validate(RUN_CONFIG_SPEC, raw, "", { resolvePath: (p) => resolve(baseDir, p) }) as Record<
      string,
      unknown
    >;
  } catch (e) {
    if (e instanceof SchemaError) fail(source, e.message);
    throw e;
  }
  delete v.$schema;
  delete v.$comment;
  const config = v as unknown as RunConfig;
  // Cross-field rules the table cannot express.
  const conv = convergenceOf(config.epochs);
  if (config.sae.lr === undefined) config.sae.lr = defaultLr(conv !== null);
  if (conv && conv.maxSteps % conv.evalEvery !== 0) {
    fail(
      source,
      `epochs.convergent.maxSteps (${conv.maxSteps}) must be a multiple of evalEvery (${conv.evalEvery})`,
    );
  }
  if (conv && conv.window < conv.evalEvery) {
    fail(source, `epochs.convergent.window (${conv.window}) must be ≥ evalEvery (${conv.evalEvery})`);
  }
  if (!Array.isArray(config.saeInput)) config.saeInput = [config.saeInput as unknown as SaeInput];
  checkFrameSubsets(config, source);
  if (config.saeInput.includes("frames") && config.pooling !== "mean") {
    fail(
      source,
      `saeInput "frames" fits the SAE on frames of width d: it needs pooling "mean", not ` +
        `"${config.pooling}"`,
    );
  }
  checkTasks(config, source);
  checkDatasets(config, source);
  const names = config.datasets.map((d) => d.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) fail(source, `datasets: name '${dup}' appears twice (names must be unique)`);
  for (const q of config.grid.q) {
    for (const s of config.grid.s) {
      // k = ⌈s·d⌉ < d_z = round(q·d) needs s < q for every codec dimension d.
      if (s >= q) fail(source, `grid: s = ${s} with q = ${q} gives k ≥ d_z (s must be smaller than q)`);
    }
  }
  return config;
}

export async function readConfig(file: string): Promise<RunConfig> {
  const config = validateConfig(await readJson(file), file, dirname(resolve(file)));
  // Before any work: outDir must be (or become) a folder, not an existing file.
  await checkOutputPath(config.outDir, "dir", `${file}: outDir`);
  if (config.featureDir) await checkOutputPath(config.featureDir, "dir", `${file}: featureDir`);
  return config;
}
