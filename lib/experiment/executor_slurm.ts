/**
 * The grid on a Slurm cluster. Submitting plans the units — extraction shards of the feature stores that are
 * not complete yet (lib/extract/executor_slurm.ts), and the grid cells not cached yet, dealt round-robin into
 * array tasks (several per task when there are many) — and writes a submission folder `<outDir>/slurm/NNN/`:
 *
 *   config.json   a copy of the run config as submitted (the tasks read the original, checked unchanged by hash)
 *   plan.json     the extraction shards and folds, and the cells of every array task (with cache keys if known)
 *   extract.sh, fold.sh   (stores incomplete) array job: shard i into its part store; then the parts folded in
 *   task.sh       array job: task i runs `grid --plan plan.json --task-index i` (its share of cells)
 *   merge.sh      runs `grid --plan plan.json --merge` (results tables from the cache) and `report`
 *   submission.json  job ids and the exact sbatch commands
 *   tasks/i.json  written by array task i: state (running / done / failed), host, its cells and keys, error
 *   logs/         Slurm's output of every job and task
 *
 * Jobs chain with `--dependency=afterok` (and `--kill-on-invalid-dep=yes`, so a merge whose tasks failed is
 * cancelled rather than left pending). Every unit goes through the same content-hash cache as a local run, so
 * a resubmission computes only what is missing, and the results equal a local run's. The nodes need the
 * outDir, the feature stores, the data, the weights and this checkout on a filesystem they share.
 */
import { dirname, join } from "node:path";
import { exists, readJson, writeFileAtomic, writeJsonAtomic } from "../common/fs.ts";
import { sha256Hex } from "../common/hash.ts";
import { log } from "../common/progress.ts";
import { type Locations, locationsOf } from "../common/settings.ts";
import {
  afterOk,
  arrayArg,
  jobStates,
  logTail,
  nextSubmissionDir,
  refuseWhileActive,
  resourceArgs,
  script,
  SlurmError,
  type SlurmOptions,
  slurmUnavailable,
  type SubmissionRecord,
  submitJobs,
  type Toolkit,
  toolkitCommand,
  type UnitFailure,
  waitForJobs,
} from "../common/slurm.ts";
import { getCodec } from "../codecs/registry.ts";
import {
  type ExtractShard,
  judgeExtraction,
  planStoreShards,
  storeComplete,
  type StoreFold,
  writeExtractionScripts,
} from "../extract/executor_slurm.ts";
import type { RunConfig } from "./config.ts";
import { prepareDatasetsOf, type PreparedDataset } from "./datasets.ts";
import { computeCells } from "./execute.ts";
import { storeDirOf } from "./features.ts";
import { planFromManifests, planGrid } from "./grid_plan.ts";
import { cellId, frameCodecs } from "./plan.ts";
import { type RunSummary, writeGrid } from "./write.ts";

/** `Locations`: where data sets, weights and the cache are (from the environment, at the edge). */
export interface SubmitOptions extends Locations {
  /** The run config file (absolute): the tasks read it, and refuse to run if it changed since submission. */
  configPath: string;
  slurm: SlurmOptions;
  toolkit: Toolkit;
  /** Cells per array task; default: one, or as many as keep the array at `maxTasks`. */
  cellsPerTask?: number;
  maxTasks?: number;
  /** Utterances per extraction array task. */
  shardSize?: number;
  /** onnxruntime execution providers of the extraction tasks (e.g. ["cuda", "cpu"]). */
  providers?: string[];
  /** Plan and write the scripts, submit nothing. */
  dryRun?: boolean;
  /** Keep each cell's SAE, probes and split lists (the grid's default). */
  checkpoints?: boolean;
  /**
   * The folders given on the submitting command line (`grid --data DIR --models DIR`): the array and merge
   * tasks read the config file again, so they get the same flags.
   */
  folders?: { data?: string; models?: string };
  quiet?: boolean;
}

export interface PlanTask {
  index: number;
  cells: { id: string; key: string | null }[];
}

export interface GridPlanFile {
  version: 1;
  kind: "grid";
  submission: string;
  created: string;
  /** The run config file the tasks read, and the sha256 of its bytes at submission. */
  config: string;
  configHash: string;
  /** Manifest of every dataset, prepared at submission (the tasks never prepare). */
  manifests: Record<string, string>;
  checkpoints: boolean;
  extract: ExtractShard[];
  folds: StoreFold[];
  tasks: PlanTask[];
}

export interface Submission extends SubmissionRecord {
  /** Cells of the whole grid. */
  cells: number;
}

export interface SubmitResult {
  /** Null when nothing was left to compute and the results were merged here. */
  submission: Submission | null;
  plan: GridPlanFile | null;
  merged?: RunSummary;
}

/** Status file an array task keeps in `tasks/<i>.json`. */
export interface TaskStatus {
  index: number;
  state: "running" | "done" | "failed";
  host: string;
  started: string;
  finished?: string;
  cells: { id: string; key: string }[];
  computed?: number;
  error?: string;
}

export const DEFAULT_SHARD_SIZE = 500;

/**
 * Manifests are prepared here, once, under the planner's resolved options; the tasks read them (never prepare)
 * through the snapshot config, which names each dataset's own manifest (an external test set is added to it
 * the same way by every process).
 */
async function prepareSubmission(config: RunConfig, opts: Locations & { quiet: boolean }) {
  const prepared = await prepareDatasetsOf(config, opts);
  const datasets = prepared.map((p, i) => ({ ...config.datasets[i], manifest: p.sourceManifestPath }));
  return { prepared, snapshot: { ...config, datasets } };
}

/** The (dataset, codec) feature stores not complete yet for the manifests the run reads. */
async function incompleteStores(
  config: RunConfig,
  prepared: PreparedDataset[],
): Promise<{ manifest: string; codec: string; store: string }[]> {
  const incomplete: { manifest: string; codec: string; store: string }[] = [];
  for (const p of prepared) {
    for (const codec of config.codecs) {
      const store = storeDirOf(config, p.dataset.name, codec);
      if (!(await storeComplete(store, p.manifestPath))) {
        incomplete.push({ manifest: p.manifestPath, codec, store });
      }
    }
  }
  return incomplete;
}

/**
 * The cells of a grid whose stores are not extracted yet: the planner over the manifests and the codecs'
 * registry dimensions — the same cells, without keys (the array tasks key them over the extracted features).
 * The codecs' weights are fetched here: the submitting host may reach the network, the nodes often cannot.
 */
async function cellsBeforeExtraction(
  config: RunConfig,
  prepared: PreparedDataset[],
  incomplete: { codec: string }[],
  opts: Locations & { quiet: boolean },
): Promise<{ id: string; key: null }[]> {
  const { quiet, ...loc } = opts;
  for (const codecId of new Set(incomplete.map((s) => s.codec))) {
    const load = { ...loc, modelsDir: config.modelsDir, quiet };
    (await (await getCodec(codecId, load)).load(load)).dispose();
  }
  return (await planFromManifests(config, prepared, loc)).map((c) => ({ id: cellId(c), key: null }));
}

/** Extraction shards (and the fold of each store) for the stores not complete yet. */
async function planExtraction(
  incomplete: { manifest: string; codec: string; store: string }[],
  workDir: string,
  shardSize: number,
): Promise<{ extract: ExtractShard[]; folds: StoreFold[] }> {
  const extract: ExtractShard[] = [];
  const folds: StoreFold[] = [];
  for (const s of incomplete) {
    const planned = await planStoreShards({
      manifestPath: s.manifest,
      codecId: s.codec,
      storeDir: s.store,
      shardSize,
      workDir,
      firstIndex: extract.length,
    });
    if (!planned) continue;
    extract.push(...planned.shards);
    folds.push(planned.fold);
  }
  return { extract, folds };
}

/** The cells dealt round-robin into array tasks, so long cells (the paper's 500-epoch configs) spread out. */
function dealCells(
  cells: { id: string; key: string | null }[],
  opts: Pick<SubmitOptions, "cellsPerTask" | "maxTasks">,
): PlanTask[] {
  const maxTasks = Math.max(1, opts.maxTasks ?? 100);
  const perTask = Math.max(1, opts.cellsPerTask ?? Math.ceil(cells.length / maxTasks));
  const nTasks = Math.ceil(cells.length / perTask);
  return Array.from({ length: nTasks }, (_, index) => ({
    index,
    cells: cells.filter((_, i) => i % nTasks === index),
  }));
}

/**
 * Frame-level cells need stores that keep frames; the Slurm extraction array jobs keep none, so the grid would
 * fail after them. Refused before any job is submitted.
 */
function refuseFramesForSlurmExtraction(config: RunConfig, incompleteStores: number): void {
  const framed = frameCodecs(config);
  if (incompleteStores === 0 || framed.length === 0) return;
  throw new Error(
    `${config.name}: frame-level cells (saeInput "frames") need the stores of ${framed.join(", ")} to keep ` +
      "frames, and the Slurm extraction does not keep them; run the grid on this machine once " +
      "(`deno task cli grid --config FILE` extracts with frames), or submit a config without frame-level cells",
  );
}

/** Plans the missing units and submits them (extraction, fold, cell array, merge), or merges here. */
export async function submitGrid(config: RunConfig, opts: SubmitOptions): Promise<SubmitResult> {
  const quiet = opts.quiet ?? false;
  const checkpoints = opts.checkpoints ?? true;
  const loc = locationsOf(opts);
  const why = await slurmUnavailable();
  if (why !== null && !opts.dryRun) throw new SlurmError(`cannot submit to Slurm: ${why}`);
  const previous = opts.dryRun ? null : await refuseWhileActive(config.outDir);

  const { prepared, snapshot } = await prepareSubmission(config, { ...loc, quiet });
  const incomplete = await incompleteStores(config, prepared);
  refuseFramesForSlurmExtraction(config, incomplete.length);
  let cells: { id: string; key: string | null }[];
  let total: number;
  if (incomplete.length === 0) {
    const plan = await planGrid(snapshot, { ...loc, features: "stored", quiet, checkpoints });
    total = plan.cells.length;
    cells = plan.cells.filter((c) => !c.cached).map((c) => ({ id: cellId(c.cell), key: c.key }));
    if (cells.length === 0 && !opts.dryRun) {
      log(`all ${total} cells are cached; writing the results here`, quiet);
      const merged = await writeGrid(snapshot, plan, {
        started: new Date(),
        t0: performance.now(),
        computed: 0,
        checkpoints,
        executor: { kind: "slurm", submission: previous?.submission ?? null, note: "all cells cached" },
      });
      return { submission: null, plan: null, merged };
    }
  } else {
    cells = await cellsBeforeExtraction(snapshot, prepared, incomplete, { ...loc, quiet });
    total = cells.length;
  }

  if (cells.length === 0) {
    throw new Error(`all ${total} cells are cached; nothing to submit`);
  }
  const { name, dir } = await nextSubmissionDir(config.outDir);
  await Deno.mkdir(join(dir, "tasks"), { recursive: true });
  const { extract, folds } = await planExtraction(incomplete, dir, opts.shardSize ?? DEFAULT_SHARD_SIZE);
  const tasks = dealCells(cells, opts);
  const configPath = opts.configPath;
  const configBytes = await Deno.readFile(configPath);
  const planPath = join(dir, "plan.json");
  const plan: GridPlanFile = {
    version: 1,
    kind: "grid",
    submission: name,
    created: new Date().toISOString(),
    config: configPath,
    configHash: await sha256Hex(configBytes),
    manifests: Object.fromEntries(snapshot.datasets.map((d) => [d.name, d.manifest!])),
    checkpoints,
    extract,
    folds,
    tasks,
  };
  await writeFileAtomic(join(dir, "config.json"), configBytes);
  await writeJsonAtomic(planPath, plan);

  const { scripts, taskScript, mergeScript } = await writeGridScripts(
    config,
    opts,
    dir,
    { name, extract, folds, configPath, planPath, checkpoints },
  );
  const submission = await submitChain(config, opts, { name, dir, planPath, total }, {
    scripts,
    extractShards: extract.length,
    tasks: tasks.length,
    taskScript,
    mergeScript,
  });
  return { submission, plan };
}

/** The shell scripts of a submission: extraction array + fold (when stores are incomplete), cell task, merge. */
async function writeGridScripts(
  config: RunConfig,
  opts: SubmitOptions,
  dir: string,
  p: {
    name: string;
    extract: ExtractShard[];
    folds: StoreFold[];
    configPath: string;
    planPath: string;
    checkpoints: boolean;
  },
) {
  const { name, extract, folds, configPath, planPath, checkpoints } = p;
  const t = opts.toolkit;
  const title = `nac-sae grid '${config.name}', submission ${name}`;
  const scripts = folds.length > 0
    ? await writeExtractionScripts(
      dir,
      title,
      extract,
      folds,
      t,
      [
        ...(config.modelsDir ? ["--models", config.modelsDir] : []),
        ...(opts.providers ? ["--onnx-providers", opts.providers.join(",")] : []),
      ],
    )
    : null;
  const grid = [
    "grid",
    "--config",
    configPath,
    "--plan",
    planPath,
    ...(checkpoints ? [] : ["--no-checkpoints"]),
    ...(opts.folders?.data ? ["--data", opts.folders.data] : []),
    ...(opts.folders?.models ? ["--models", opts.folders.models] : []),
  ];
  const taskScript = join(dir, "task.sh");
  await writeFileAtomic(
    taskScript,
    script(`${title}: array task i computes the cells of plan.json tasks[i]`, [
      `exec ${
        toolkitCommand(t, grid)
      } --task-index "$SLURM_ARRAY_TASK_ID" --workers "\${SLURM_CPUS_PER_TASK:-1}"`,
    ]),
  );
  const mergeScript = join(dir, "merge.sh");
  await writeFileAtomic(
    mergeScript,
    script(`${title}: results tables and report from the cached cells`, [
      toolkitCommand(t, [...grid, "--merge"]),
      toolkitCommand(t, ["report", "--results", config.outDir]),
    ]),
  );

  return { scripts, taskScript, mergeScript };
}

/** Submits the chain extract → fold → cell array → merge (each after the previous), or with dryRun lists it. */
async function submitChain(
  config: RunConfig,
  opts: SubmitOptions,
  at: { name: string; dir: string; planPath: string; total: number },
  s: {
    scripts: Awaited<ReturnType<typeof writeExtractionScripts>> | null;
    extractShards: number;
    tasks: number;
    taskScript: string;
    mergeScript: string;
  },
): Promise<Submission> {
  const { name, dir, planPath, total } = at;
  const { scripts, taskScript, mergeScript } = s;
  const t = opts.toolkit;
  const submission: Submission = {
    version: 1,
    submission: name,
    dir,
    outDir: config.outDir,
    plan: planPath,
    jobs: {},
    commands: [],
    cells: total,
    submitted: new Date().toISOString(),
  };
  const logs = join(dir, "logs");
  const jobName = `nac-sae-${config.name}`;
  const common = [`--chdir=${t.root}`];
  /** A one-task job (fold, merge) named by its role, after the job `dependency`. */
  const singleJob = (role: string, dependency: string | undefined) => [
    `--job-name=${jobName}-${role}`,
    `--output=${join(logs, `${role}.out`)}`,
    ...common,
    ...afterOk(dependency),
    ...resourceArgs(opts.slurm, { array: false }),
  ];
  return await submitJobs(submission, opts.dryRun, async (submit) => {
    if (scripts && s.extractShards > 0) {
      submission.jobs.extract = await submit([
        `--job-name=${jobName}-extract`,
        arrayArg(s.extractShards, opts.slurm.arrayParallelism),
        `--output=${join(logs, "extract-%a.out")}`,
        ...common,
        ...resourceArgs(opts.slurm),
      ], scripts.array);
    }
    if (scripts) {
      submission.jobs.fold = await submit(singleJob("fold", submission.jobs.extract), scripts.fold);
    }
    submission.jobs.array = await submit([
      `--job-name=${jobName}`,
      arrayArg(s.tasks, opts.slurm.arrayParallelism),
      `--output=${join(logs, "task-%a.out")}`,
      ...common,
      ...afterOk(submission.jobs.fold),
      // The SAE and the probes run on CPU cores: a GPU (--gres) serves the extraction only.
      ...resourceArgs({ ...opts.slurm, gres: undefined }),
    ], taskScript);
    submission.jobs.merge = await submit(singleJob("merge", submission.jobs.array), mergeScript);
  });
}

/**
 * The config as submitted: the file must be unchanged (else the plan's cells may mean other work), and every
 * dataset reads the manifest prepared at submission.
 */
async function configOfPlan(config: RunConfig, plan: GridPlanFile, planPath: string): Promise<RunConfig> {
  const hash = await sha256Hex(await Deno.readFile(plan.config));
  if (hash !== plan.configHash) {
    throw new Error(
      `${plan.config} changed since submission ${plan.submission} (${planPath}); submit again to plan the new config`,
    );
  }
  return {
    ...config,
    datasets: config.datasets.map((d) => ({ ...d, manifest: d.manifest ?? plan.manifests[d.name] })),
  };
}

/** A submission's plan.json, checked for what the tasks and the merge read (a damaged file is named). */
export async function readPlanFile(path: string): Promise<GridPlanFile> {
  const plan = await readJson<Partial<GridPlanFile>>(path);
  const bad = (what: string) => {
    throw new Error(
      `${path}: not a grid plan (${what}); give the plan.json of a submission (<outDir>/slurm/NNN/)`,
    );
  };
  if (!plan || typeof plan !== "object" || Array.isArray(plan)) bad("not an object");
  if (plan.kind !== "grid") bad(`"kind" is ${JSON.stringify(plan.kind)}, not "grid"`);
  for (const k of ["tasks", "extract", "folds"] as const) {
    if (!Array.isArray(plan[k])) bad(`"${k}" is not a list`);
  }
  if (typeof plan.config !== "string" || typeof plan.configHash !== "string") {
    bad('no "config" or "configHash"');
  }
  return plan as GridPlanFile;
}

/** One array task: computes its share of the plan's cells. */
export async function runPlanTask(
  config: RunConfig,
  planPath: string,
  index: number,
  opts: Locations & { quiet?: boolean } = {},
): Promise<{ cells: number; computed: number }> {
  const plan = await readPlanFile(planPath);
  config = await configOfPlan(config, plan, planPath);
  const share = plan.tasks[index];
  if (!share) throw new Error(`${planPath}: no task ${index} (the plan has ${plan.tasks.length})`);
  const statusPath = join(dirname(planPath), "tasks", `${index}.json`);
  const status: TaskStatus = {
    index,
    state: "running",
    host: Deno.hostname(),
    started: new Date().toISOString(),
    cells: [],
  };
  try {
    const grid = await planGrid(config, {
      ...locationsOf(opts),
      features: "stored",
      quiet: opts.quiet,
      checkpoints: plan.checkpoints,
    });
    const byId = new Map(grid.cells.map((c) => [cellId(c.cell), c]));
    const mine = share.cells.map(({ id }) => {
      const p = byId.get(id);
      if (!p) {
        throw new Error(`${planPath}: cell ${id} is not in the grid of ${plan.config} (config changed?)`);
      }
      return p;
    });
    status.cells = mine.map((c) => ({ id: cellId(c.cell), key: c.key }));
    await writeJsonAtomic(statusPath, status);
    log(`task ${index}: ${mine.length} cell(s): ${status.cells.map((c) => c.id).join(", ")}`, opts.quiet);
    status.computed = await computeCells(join(config.outDir, "cells"), mine, {
      workers: config.workers,
      quiet: opts.quiet,
      label: `task ${index} cells`,
      checkpoints: plan.checkpoints,
    });
    status.state = "done";
    return { cells: mine.length, computed: status.computed };
  } catch (e) {
    status.state = "failed";
    status.error = (e as Error).message;
    throw e;
  } finally {
    status.finished = new Date().toISOString();
    await writeJsonAtomic(statusPath, status);
  }
}

/** The merge job: results tables from the cached cells of the whole grid. */
export async function mergeGrid(
  config: RunConfig,
  planPath: string,
  opts: Locations & { quiet?: boolean } = {},
): Promise<RunSummary> {
  const quiet = opts.quiet ?? false;
  const started = new Date(), t0 = performance.now();
  const dir = dirname(planPath);
  const plan = await readPlanFile(planPath);
  config = await configOfPlan(config, plan, planPath);
  const sub = await readJson<Submission>(join(dir, "submission.json")).catch(() => null);
  const grid = await planGrid(config, {
    ...locationsOf(opts),
    features: "stored",
    quiet,
    checkpoints: plan.checkpoints,
  });
  let computed = 0;
  for (const t of plan.tasks) {
    const s = await readJson<TaskStatus>(join(dir, "tasks", `${t.index}.json`)).catch(() => null);
    computed += s?.computed ?? 0;
  }
  return await writeGrid(config, grid, {
    started,
    t0,
    computed,
    checkpoints: plan.checkpoints,
    executor: {
      kind: "slurm",
      submission: plan.submission,
      jobs: sub?.jobs ?? {},
      array_tasks: plan.tasks.length,
      extraction_shards: plan.extract.length,
    },
  });
}

export interface FollowResult {
  submission: Submission;
  merged: boolean;
  done: number;
  total: number;
  failures: UnitFailure[];
}

/** Cells of the submission already in the cache (keys from the task status files, else from the plan). */
async function doneCells(sub: Submission, plan: GridPlanFile): Promise<{ done: number; total: number }> {
  let done = 0, total = 0;
  for (const t of plan.tasks) {
    const status = await readJson<TaskStatus>(join(sub.dir, "tasks", `${t.index}.json`)).catch(() => null);
    const keys = status?.cells.length ? status.cells.map((c) => c.key) : t.cells.map((c) => c.key);
    total += t.cells.length;
    for (const k of keys) if (k && (await exists(join(sub.outDir, "cells", `${k}.json`)))) done++;
  }
  return { done, total };
}

/**
 * Follows a submission until none of its jobs is queued: cells done/total from the outDir, queue state from
 * squeue, as the usual progress line. Then reports every unit that did not finish with its log.
 */
export async function followSubmission(
  sub: Submission,
  opts: { pollSeconds?: number; quiet?: boolean } = {},
): Promise<FollowResult> {
  const plan = await readPlanFile(sub.plan);
  const { total } = await doneCells(sub, plan);
  await waitForJobs(sub.jobs, total, async () => (await doneCells(sub, plan)).done, {
    label: `slurm submission ${sub.submission} cells`,
    unit: "cells",
    pollSeconds: opts.pollSeconds,
    quiet: opts.quiet,
  });
  return await judgeSubmission(sub, plan);
}

/** After the jobs left the queue: did the merge write the results, and which units did not finish? */
export async function judgeSubmission(sub: Submission, plan?: GridPlanFile): Promise<FollowResult> {
  plan ??= await readPlanFile(sub.plan);
  const info = await readJson<{ executor?: { submission?: string } }>(join(sub.outDir, "run_info.json"))
    .catch(() => null);
  const merged = info?.executor?.submission === sub.submission;
  const ids = Object.values(sub.jobs).filter((j): j is string => !!j);
  const states = await jobStates(ids).catch(() => new Map());
  const stateOf = (role: string, index: number | null) =>
    states.get(index === null ? sub.jobs[role] ?? "" : `${sub.jobs[role]}_${index}`)?.state ?? null;
  const failures: UnitFailure[] = await judgeExtraction(sub.dir, plan.extract, plan.folds, stateOf);
  // Array tasks behind a failed extraction never started: the extraction is what to report.
  for (const t of failures.length === 0 ? plan.tasks : []) {
    const status = await readJson<TaskStatus>(join(sub.dir, "tasks", `${t.index}.json`)).catch(() => null);
    if (status?.state === "done") continue;
    const logPath = join(sub.dir, "logs", `task-${t.index}.out`);
    failures.push({
      role: "array",
      index: t.index,
      state: stateOf("array", t.index),
      log: logPath,
      units: t.cells.map((c) => c.id),
      detail: status?.error ?? (await logTail(logPath)),
    });
  }
  if (!merged && failures.length === 0) {
    const logPath = join(sub.dir, "logs", "merge.out");
    failures.push({
      role: "merge",
      index: null,
      state: stateOf("merge", null),
      log: logPath,
      units: ["results tables and report"],
      detail: await logTail(logPath),
    });
  }
  const { done, total } = await doneCells(sub, plan);
  return { submission: sub, merged, done, total, failures };
}
