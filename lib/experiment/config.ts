/**
 * The run config of an experiment grid: which datasets, tasks, codecs, SAE grid, seeds and probes to run,
 * and where results go. Read from JSON, validated at the boundary with messages that name the field.
 */
import { dirname, resolve } from "node:path";
import { readJson } from "../common/fs.ts";

export type TaskId = "us-vs-uk" | "us-vs-non-us-uk";
export type FeatureKind = "z" | "z_pos" | "z_mag";

export const TASK_IDS: TaskId[] = ["us-vs-uk", "us-vs-non-us-uk"];
export const FEATURE_KINDS: FeatureKind[] = ["z", "z_pos", "z_mag"];
/** The paper's grid (Sec. 3.3). */
export const PAPER_Q = [2, 5, 10, 20];
export const PAPER_S = [0.5, 0.25, 0.1, 0.05];

export interface DatasetConfig {
  /** "fsdd", "synthetic", or any name for a user manifest. */
  name: string;
  /** A prepared manifest (CSV/Parquet); when absent the named built-in dataset is prepared. */
  manifest?: string;
  /** Local copy of the dataset's files (e.g. ../shared/data/fsdd); else NAC_SAE_DATA, cache, download. */
  source?: string;
  /** Options passed to the dataset's preparer (e.g. synthetic corpus size). */
  options?: Record<string, unknown>;
  /** Tasks to run on this dataset; default: every task in the run that the dataset supports. */
  tasks?: TaskId[];
}

/** How many epochs each SAE config trains for. */
export type EpochsRule =
  /** The paper's rule: 200, or 500 for q ∈ {2, 5} with s ∈ {0.10, 0.05}. */
  | "paper"
  /** The same number for every config. */
  | { fixed: number }
  /** The paper's rule scaled by a factor (rounded, at least 1): a visible, documented shortcut. */
  | { paperScaled: number };

export interface RunConfig {
  name: string;
  datasets: DatasetConfig[];
  codecs: string[];
  tasks: TaskId[];
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
  probe: { C: number; tol: number; maxIter: number };
  /** Bootstrap resamples over test utterances for single-seed intervals (0 disables). */
  bootstrap: number;
}

export const DEFAULTS: Omit<RunConfig, "name" | "datasets" | "codecs" | "outDir"> = {
  tasks: [...TASK_IDS],
  grid: { q: PAPER_Q, s: PAPER_S },
  epochs: "paper",
  seeds: [0],
  features: [...FEATURE_KINDS],
  workers: 2,
  sae: { batchSize: 1024, lr: 1e-5, adamEps: 6.25e-10 },
  probe: { C: 1.0, tol: 1e-4, maxIter: 3000 },
  bootstrap: 1000,
};

export function epochsFor(rule: EpochsRule, q: number, s: number): number {
  const paper = (q === 2 || q === 5) && (s === 0.1 || s === 0.05) ? 500 : 200;
  if (rule === "paper") return paper;
  if ("fixed" in rule) return rule.fixed;
  return Math.max(1, Math.round(paper * rule.paperScaled));
}

export function describeEpochs(rule: EpochsRule): string {
  if (rule === "paper") return "paper (200; 500 for q∈{2,5}, s∈{0.10,0.05})";
  if ("fixed" in rule) return `fixed ${rule.fixed}`;
  return `paper × ${rule.paperScaled}`;
}

function fail(source: string, msg: string): never {
  throw new Error(`${source}: invalid run config: ${msg}`);
}

/** Validates a parsed config object, filling defaults. `baseDir` resolves relative paths. */
export function validateConfig(raw: unknown, source = "<config>", baseDir = "."): RunConfig {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) fail(source, "expected a JSON object");
  const r = raw as Record<string, unknown>;
  const known = new Set([
    "name",
    "datasets",
    "codecs",
    "tasks",
    "grid",
    "epochs",
    "seeds",
    "features",
    "outDir",
    "featureDir",
    "modelsDir",
    "workers",
    "sae",
    "probe",
    "bootstrap",
    "$comment",
  ]);
  for (const k of Object.keys(r)) if (!known.has(k)) fail(source, `unknown field '${k}'`);
  const str = (k: string, v: unknown) => {
    if (typeof v !== "string" || !v) fail(source, `'${k}' must be a non-empty string`);
    return v;
  };
  const numList = (k: string, v: unknown, ok: (n: number) => boolean) => {
    if (!Array.isArray(v) || v.length === 0) fail(source, `'${k}' must be a non-empty array of numbers`);
    for (const n of v) if (typeof n !== "number" || !ok(n)) fail(source, `'${k}' has an invalid value ${n}`);
    if (new Set(v).size !== v.length) fail(source, `'${k}' has duplicates`);
    return v as number[];
  };
  const path = (p: string) => resolve(baseDir, p);

  if (!Array.isArray(r.datasets) || r.datasets.length === 0) {
    fail(source, "'datasets' must be a non-empty array");
  }
  const datasets = (r.datasets as unknown[]).map((d, i): DatasetConfig => {
    if (!d || typeof d !== "object") fail(source, `datasets[${i}] must be an object`);
    const o = d as Record<string, unknown>;
    const name = str(`datasets[${i}].name`, o.name);
    const tasks = o.tasks === undefined ? undefined : (o.tasks as unknown[]).map((t) => {
      if (!TASK_IDS.includes(t as TaskId)) {
        fail(source, `datasets[${i}].tasks: unknown task '${t}' (${TASK_IDS})`);
      }
      return t as TaskId;
    });
    return {
      name,
      manifest: o.manifest === undefined ? undefined : path(str(`datasets[${i}].manifest`, o.manifest)),
      source: o.source === undefined ? undefined : path(str(`datasets[${i}].source`, o.source)),
      options: o.options as Record<string, unknown> | undefined,
      tasks,
    };
  });
  const names = datasets.map((d) => d.name);
  if (new Set(names).size !== names.length) fail(source, "dataset names must be unique");

  if (!Array.isArray(r.codecs) || r.codecs.length === 0) {
    fail(source, "'codecs' must be a non-empty array of ids");
  }
  const codecs = (r.codecs as unknown[]).map((c, i) => str(`codecs[${i}]`, c));
  const tasks = r.tasks === undefined ? DEFAULTS.tasks : (r.tasks as unknown[]).map((t) => {
    if (!TASK_IDS.includes(t as TaskId)) fail(source, `unknown task '${t}' (known: ${TASK_IDS.join(", ")})`);
    return t as TaskId;
  });
  const g = (r.grid ?? {}) as Record<string, unknown>;
  const grid = {
    q: g.q === undefined ? DEFAULTS.grid.q : numList("grid.q", g.q, (n) => n >= 1),
    s: g.s === undefined ? DEFAULTS.grid.s : numList("grid.s", g.s, (n) => n > 0 && n <= 1),
  };
  let epochs: EpochsRule = DEFAULTS.epochs;
  if (r.epochs !== undefined) {
    const e = r.epochs as Record<string, unknown> | string;
    if (e === "paper") epochs = "paper";
    else if (
      typeof e === "object" && typeof e.fixed === "number" && Number.isInteger(e.fixed) && e.fixed >= 1
    ) {
      epochs = { fixed: e.fixed };
    } else if (typeof e === "object" && typeof e.paperScaled === "number" && e.paperScaled > 0) {
      epochs = { paperScaled: e.paperScaled };
    } else fail(source, `'epochs' must be "paper", {"fixed": N} or {"paperScaled": F}`);
  }
  const seeds = r.seeds === undefined
    ? DEFAULTS.seeds
    : numList("seeds", r.seeds, (n) => Number.isInteger(n) && n >= 0);
  const features = r.features === undefined ? DEFAULTS.features : (r.features as unknown[]).map((f) => {
    if (!FEATURE_KINDS.includes(f as FeatureKind)) fail(source, `unknown feature '${f}' (${FEATURE_KINDS})`);
    return f as FeatureKind;
  });
  const workers = r.workers === undefined ? DEFAULTS.workers : Number(r.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) fail(source, "'workers' must be 1..64");
  const sae = { ...DEFAULTS.sae, ...(r.sae as object ?? {}) };
  const probe = { ...DEFAULTS.probe, ...(r.probe as object ?? {}) };
  for (const [k, v] of Object.entries({ ...sae, ...probe })) {
    if (typeof v !== "number" || !(v > 0)) fail(source, `'${k}' must be a positive number`);
  }
  const bootstrap = r.bootstrap === undefined ? DEFAULTS.bootstrap : Number(r.bootstrap);
  if (!Number.isInteger(bootstrap) || bootstrap < 0) {
    fail(source, "'bootstrap' must be a non-negative integer");
  }
  return {
    name: r.name === undefined ? "run" : str("name", r.name),
    datasets,
    codecs,
    tasks,
    grid,
    epochs,
    seeds,
    features,
    outDir: path(str("outDir", r.outDir)),
    featureDir: r.featureDir === undefined ? undefined : path(str("featureDir", r.featureDir)),
    modelsDir: r.modelsDir === undefined ? undefined : path(str("modelsDir", r.modelsDir)),
    workers,
    sae,
    probe,
    bootstrap,
  };
}

export async function readConfig(file: string): Promise<RunConfig> {
  return validateConfig(await readJson(file), file, dirname(resolve(file)));
}
