/**
 * The grid on a Slurm cluster. Submitting plans the units — one extraction per (dataset, codec) feature store
 * that is not complete yet, and the grid cells not cached yet, dealt round-robin into array tasks (several per
 * task when there are many) — and writes a submission folder `<outDir>/slurm/NNN/`:
 *
 *   config.json   the run config with every path absolute and every dataset's manifest resolved
 *   plan.json     the units of every array task (cell ids, and their cache keys when known)
 *   extract.sh    (when stores are incomplete) array job: task i runs `extract --manifest` for store i
 *   task.sh       array job: task i runs `grid --plan plan.json --task-index i` (its share of cells)
 *   merge.sh      runs `grid --merge` (results tables from the cache) and `report`
 *   submission.json  job ids and the exact sbatch commands
 *   tasks/i.json  written by array task i: state (running / done / failed), host, its cells and keys
 *   logs/         Slurm's output of every task (extract-i.out, task-i.out, merge.out)
 *
 * Jobs chain with `--dependency=afterok` (and `--kill-on-invalid-dep=yes`, so a merge whose tasks failed is
 * cancelled rather than left pending). Every unit goes through the same content-hash cache as a local run, so
 * a resubmission computes only what is missing, and the results equal a local run's. The nodes need the
 * outDir, the feature stores, the data, the weights and this checkout on a filesystem they share.
 */
import { dirname, join } from "node:path";
import { exists, readJson, writeFileAtomic, writeJsonAtomic } from "../common/fs.ts";
import { log, Progress } from "../common/progress.ts";
import {
  arrayArg,
  jobStates,
  queued,
  resourceArgs,
  sbatch,
  scancel,
  shellQuote,
  SlurmError,
  type SlurmOptions,
  slurmUnavailable,
} from "../common/slurm.ts";
import { prepareDataset, readManifest, taskApplies } from "../data/mod.ts";
import { getCodec } from "../codecs/registry.ts";
import { loadFeatureSet } from "../extract/mod.ts";
import { saeConfig } from "../sae/mod.ts";
import { epochsFor, type RunConfig } from "./config.ts";
import { cellId, computeCells, planGrid, type RunSummary, writeGrid } from "./run.ts";

/** How an array task starts the toolkit: this Deno, this checkout (both on the shared filesystem). */
export interface Toolkit {
  /** The deno executable. */
  deno: string;
  /** The checkout's root (holds deno.json, lib/, node_modules/). */
  root: string;
}

/** Permissions of the array tasks and the merge: no subprocesses, no network (weights and data are local). */
const TASK_PERMISSIONS = ["--allow-read", "--allow-write", "--allow-env", "--allow-ffi", "--allow-sys"];

export interface SubmitOptions {
  slurm: SlurmOptions;
  toolkit: Toolkit;
  /** Cells per array task; default: one, or as many as keep the array at `maxTasks`. */
  cellsPerTask?: number;
  maxTasks?: number;
  /** Plan and write the scripts, submit nothing. */
  dryRun?: boolean;
  /** Keep each cell's SAE, probes and split lists (the grid's default). */
  checkpoints?: boolean;
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
  config: string;
  checkpoints: boolean;
  extract: { index: number; dataset: string; codec: string; manifest: string; store: string }[];
  tasks: PlanTask[];
}

export interface Submission {
  version: 1;
  submission: string;
  dir: string;
  outDir: string;
  plan: string;
  jobs: { extract?: string; array?: string; merge?: string };
  commands: string[];
  cells: number;
  submitted: string;
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
  job?: string;
  started: string;
  finished?: string;
  cells: { id: string; key: string }[];
  computed?: number;
  error?: string;
}

const slurmDir = (outDir: string) => join(outDir, "slurm");

/** The newest submission folder of an outDir, or null. */
export async function latestSubmission(outDir: string): Promise<Submission | null> {
  const dir = slurmDir(outDir);
  if (!(await exists(dir))) return null;
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isDirectory && /^\d{3,}$/.test(e.name)) names.push(e.name);
  for (const n of names.sort().reverse()) {
    const path = join(dir, n, "submission.json");
    if (await exists(path)) return await readJson<Submission>(path);
  }
  return null;
}

async function nextSubmissionDir(outDir: string): Promise<{ name: string; dir: string }> {
  const dir = slurmDir(outDir);
  await Deno.mkdir(dir, { recursive: true });
  let n = 0;
  for await (const e of Deno.readDir(dir)) if (/^\d{3,}$/.test(e.name)) n = Math.max(n, Number(e.name));
  const name = String(n + 1).padStart(3, "0");
  await Deno.mkdir(join(dir, name, "logs"), { recursive: true });
  await Deno.mkdir(join(dir, name, "tasks"), { recursive: true });
  return { name, dir: join(dir, name) };
}

/** Whether the feature store holds every utterance of the manifest (stored or recorded as failed). */
async function storeComplete(storeDir: string, manifestRows: number): Promise<boolean> {
  if (!(await exists(join(storeDir, "store.json")))) return false;
  const fs = await loadFeatureSet(storeDir);
  return fs.ids.length + fs.failures.length === manifestRows;
}

function storeDirOf(config: RunConfig, dataset: string, codec: string): string {
  return join(config.featureDir ?? join(config.outDir, "features"), dataset, codec);
}

/**
 * The cells of the grid by their coordinates, without feature data (stores not extracted yet): the same
 * (dataset, task) rule as the local run, and the k < d_z check from the codec's registered d.
 */
async function cellCoordinates(config: RunConfig): Promise<{ id: string; key: null }[]> {
  const cells: { id: string; key: null }[] = [];
  for (const ds of config.datasets) {
    const manifest = await readManifest(ds.manifest!);
    const tasks = (ds.tasks ?? config.tasks).filter((t) => config.tasks.includes(t) || ds.tasks?.includes(t));
    for (const codec of config.codecs) {
      const d = (await getCodec(codec, { modelsDir: config.modelsDir })).dCodec;
      for (const task of tasks) {
        if (!taskApplies(manifest, task)) {
          if (ds.tasks?.includes(task)) {
            throw new Error(`dataset '${ds.name}' does not support task '${task}'`);
          }
          continue;
        }
        for (const q of config.grid.q) {
          for (const s of config.grid.s) {
            const cfg = saeConfig(q, s, d, { epochs: epochsFor(config.epochs, q, s) });
            if (cfg.k >= cfg.dZ) {
              throw new Error(`grid cell q=${q}, s=${s}: k=${cfg.k} must be < d_z=${cfg.dZ}`);
            }
            for (const seed of config.seeds) {
              cells.push({ id: cellId({ dataset: ds.name, codec, task, q, s, seed }), key: null });
            }
          }
        }
      }
    }
  }
  return cells;
}

function toolkitCommand(t: Toolkit, args: string[]): string {
  return [
    t.deno,
    "run",
    `--config=${join(t.root, "deno.json")}`,
    ...TASK_PERMISSIONS,
    join(t.root, "lib/cli/main.ts"),
    ...args,
  ].map(shellQuote).join(" ");
}

function script(title: string, body: string[]): string {
  return ["#!/bin/bash", `# ${title}`, "set -euo pipefail", ...body, ""].join("\n");
}

/** Plans the missing units and submits them (extraction array, cell array, merge), or merges here. */
export async function submitGrid(config: RunConfig, opts: SubmitOptions): Promise<SubmitResult> {
  const quiet = opts.quiet ?? false;
  const checkpoints = opts.checkpoints ?? true;
  const why = await slurmUnavailable();
  if (why !== null && !opts.dryRun) throw new SlurmError(`cannot submit to Slurm: ${why}`);
  const previous = await latestSubmission(config.outDir);
  if (previous && !opts.dryRun) {
    const active = await queued(Object.values(previous.jobs).filter((j): j is string => !!j));
    if (active.length > 0) {
      throw new SlurmError(
        `submission ${previous.submission} of ${config.outDir} is still queued or running (jobs ${
          Object.values(previous.jobs).join(", ")
        }); follow it with --follow, or scancel it before submitting again`,
      );
    }
  }

  // Manifests are prepared here, once; the tasks read them (never prepare) from the snapshot config.
  const datasets = [];
  for (const ds of config.datasets) {
    const manifest = ds.manifest ??
      (await prepareDataset(ds.name, { source: ds.source, quiet, ...(ds.options ?? {}) })).manifestPath;
    datasets.push({ ...ds, manifest });
  }
  const snapshot: RunConfig = { ...config, datasets };

  const extract: GridPlanFile["extract"] = [];
  for (const ds of datasets) {
    const rows = (await readManifest(ds.manifest)).height;
    for (const codec of config.codecs) {
      const store = storeDirOf(config, ds.name, codec);
      if (!(await storeComplete(store, rows))) {
        extract.push({ index: extract.length, dataset: ds.name, codec, manifest: ds.manifest, store });
      }
    }
  }
  let cells: { id: string; key: string | null }[];
  let total: number;
  if (extract.length === 0) {
    const plan = await planGrid(snapshot, { features: "stored", quiet, checkpoints });
    total = plan.planned.length;
    cells = plan.planned.filter((p) => !p.cached).map((p) => ({ id: cellId(p), key: p.key }));
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
    for (const e of extract) {
      // Weights are fetched here (the submitting host may reach the network, the nodes often cannot).
      const codec = await (await getCodec(e.codec, { modelsDir: config.modelsDir, quiet })).load({
        modelsDir: config.modelsDir,
        quiet,
      });
      codec.dispose();
    }
    cells = await cellCoordinates(snapshot);
    total = cells.length;
  }

  const maxTasks = Math.max(1, opts.maxTasks ?? 100);
  const perTask = Math.max(1, opts.cellsPerTask ?? Math.ceil(cells.length / maxTasks));
  const nTasks = Math.ceil(cells.length / perTask);
  // Round-robin, so long cells (the paper's 500-epoch configs) spread over the tasks.
  const tasks: PlanTask[] = Array.from({ length: nTasks }, (_, index) => ({
    index,
    cells: cells.filter((_, i) => i % nTasks === index),
  }));

  const { name, dir } = await nextSubmissionDir(config.outDir);
  const configPath = join(dir, "config.json");
  const planPath = join(dir, "plan.json");
  const plan: GridPlanFile = {
    version: 1,
    kind: "grid",
    submission: name,
    created: new Date().toISOString(),
    config: configPath,
    checkpoints,
    extract,
    tasks,
  };
  await writeJsonAtomic(configPath, snapshot);
  await writeJsonAtomic(planPath, plan);

  const t = opts.toolkit;
  const extractScript = join(dir, "extract.sh");
  if (extract.length > 0) {
    await writeFileAtomic(
      extractScript,
      script(
        `nac-sae ${config.name}, submission ${name}: array task i extracts feature store i of plan.json`,
        [
          'case "$SLURM_ARRAY_TASK_ID" in',
          ...extract.map((e) =>
            `  ${e.index}) args=(${
              [
                "--codec",
                e.codec,
                "--manifest",
                e.manifest,
                "--store",
                e.store,
                ...(config.modelsDir ? ["--models", config.modelsDir] : []),
              ].map(shellQuote).join(" ")
            }) ;;`
          ),
          '  *) echo "no extraction unit $SLURM_ARRAY_TASK_ID in this plan" >&2; exit 2 ;;',
          "esac",
          `exec ${toolkitCommand(t, ["extract"])} "\${args[@]}" --workers "\${SLURM_CPUS_PER_TASK:-1}"`,
        ],
      ),
    );
  }
  const taskScript = join(dir, "task.sh");
  await writeFileAtomic(
    taskScript,
    script(
      `nac-sae ${config.name}, submission ${name}: array task i computes the cells of plan.json tasks[i]`,
      [
        `exec ${
          toolkitCommand(t, ["grid", "--config", configPath, "--plan", planPath])
        } --task-index "$SLURM_ARRAY_TASK_ID" --workers "\${SLURM_CPUS_PER_TASK:-1}"`,
      ],
    ),
  );
  const mergeScript = join(dir, "merge.sh");
  await writeFileAtomic(
    mergeScript,
    script(`nac-sae ${config.name}, submission ${name}: results tables and report from the cached cells`, [
      toolkitCommand(t, ["grid", "--config", configPath, "--plan", planPath, "--merge"]),
      toolkitCommand(t, ["report", "--results", config.outDir]),
    ]),
  );

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
  const submitted: string[] = [];
  const submit = async (args: string[], file: string) => {
    submission.commands.push(["sbatch", ...args, file].map(shellQuote).join(" "));
    if (opts.dryRun) return undefined;
    const id = await sbatch(args, file);
    submitted.push(id);
    return id;
  };
  try {
    const after = (id: string | undefined) =>
      id ? [`--dependency=afterok:${id}`, "--kill-on-invalid-dep=yes"] : [];
    if (extract.length > 0) {
      submission.jobs.extract = await submit([
        `--job-name=${jobName}-extract`,
        arrayArg(extract.length, opts.slurm.arrayParallelism),
        `--output=${join(logs, "extract-%a.out")}`,
        `--chdir=${t.root}`,
        ...resourceArgs({ ...opts.slurm, gres: undefined }),
      ], extractScript);
    }
    submission.jobs.array = await submit([
      `--job-name=${jobName}`,
      arrayArg(tasks.length, opts.slurm.arrayParallelism),
      `--output=${join(logs, "task-%a.out")}`,
      `--chdir=${t.root}`,
      ...after(submission.jobs.extract),
      ...resourceArgs(opts.slurm),
    ], taskScript);
    submission.jobs.merge = await submit([
      `--job-name=${jobName}-merge`,
      `--output=${join(logs, "merge.out")}`,
      `--chdir=${t.root}`,
      ...after(submission.jobs.array),
      ...resourceArgs(opts.slurm, { array: false }),
    ], mergeScript);
  } catch (e) {
    await scancel(submitted).catch(() => {});
    throw e;
  }
  await writeJsonAtomic(join(dir, "submission.json"), submission);
  return { submission, plan };
}

/** One array task: computes its share of the plan's cells. */
export async function runPlanTask(
  config: RunConfig,
  planPath: string,
  index: number,
  opts: { quiet?: boolean; job?: string } = {},
): Promise<{ cells: number; computed: number }> {
  const plan = await readJson<GridPlanFile>(planPath);
  const share = plan.tasks[index];
  if (!share) throw new Error(`${planPath}: no task ${index} (the plan has ${plan.tasks.length})`);
  const statusPath = join(dirname(planPath), "tasks", `${index}.json`);
  const status: TaskStatus = {
    index,
    state: "running",
    host: Deno.hostname(),
    job: opts.job,
    started: new Date().toISOString(),
    cells: [],
  };
  try {
    const grid = await planGrid(config, {
      features: "stored",
      quiet: opts.quiet,
      checkpoints: plan.checkpoints,
    });
    const byId = new Map(grid.planned.map((p) => [cellId(p), p]));
    const mine = share.cells.map(({ id }) => {
      const p = byId.get(id);
      if (!p) {
        throw new Error(`${planPath}: cell ${id} is not in the grid of ${plan.config} (config changed?)`);
      }
      return p;
    });
    status.cells = mine.map((p) => ({ id: cellId(p), key: p.key! }));
    await writeJsonAtomic(statusPath, status);
    log(`task ${index}: ${mine.length} cell(s): ${status.cells.map((c) => c.id).join(", ")}`, opts.quiet);
    status.computed = await computeCells(config, mine, {
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
export async function mergeGrid(config: RunConfig, planPath: string, quiet = false): Promise<RunSummary> {
  const started = new Date(), t0 = performance.now();
  const dir = dirname(planPath);
  const plan = await readJson<GridPlanFile>(planPath);
  const sub = await readJson<Submission>(join(dir, "submission.json")).catch(() => null);
  const grid = await planGrid(config, { features: "stored", quiet, checkpoints: plan.checkpoints });
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
    },
  });
}

export interface TaskFailure {
  job: "extract" | "array" | "merge";
  index: number | null;
  /** Slurm's state when it still knows it (FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, ...). */
  state: string | null;
  log: string;
  units: string[];
  /** The task's own error, or the last lines of its log. */
  detail: string;
}

export interface FollowResult {
  submission: Submission;
  merged: boolean;
  done: number;
  total: number;
  failures: TaskFailure[];
}

async function tail(path: string, lines = 6): Promise<string> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
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

function summarizeQueue(states: { id: string; state: string; reason?: string }[], sub: Submission): string {
  const parts: string[] = [];
  for (const [name, id] of Object.entries(sub.jobs)) {
    if (!id) continue;
    const mine = states.filter((s) => s.id === id || s.id.startsWith(`${id}_`));
    if (mine.length === 0) continue;
    const counts = new Map<string, number>();
    for (const s of mine) {
      const label = s.state === "PENDING" && s.reason && s.reason !== "None"
        ? `PENDING(${s.reason})`
        : s.state;
      counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    parts.push(`${name} ${id}: ${[...counts].map(([k, v]) => `${v} ${k.toLowerCase()}`).join(", ")}`);
  }
  return parts.join("; ");
}

/**
 * Follows a submission until none of its jobs is queued: cells done/total from the outDir, queue state from
 * squeue, as the usual progress line. Then reports every task that did not finish with its log and units.
 */
export async function followSubmission(
  sub: Submission,
  opts: { pollSeconds?: number; quiet?: boolean } = {},
): Promise<FollowResult> {
  const plan = await readJson<GridPlanFile>(sub.plan);
  const ids = Object.values(sub.jobs).filter((j): j is string => !!j);
  const first = await doneCells(sub, plan);
  const progress = new Progress({
    label: `slurm submission ${sub.submission} cells`,
    total: first.total,
    unit: "cells",
    quiet: opts.quiet,
    intervalMs: 5000,
  });
  let shown = 0, lastQueue = "";
  for (;;) {
    const active = await queued(ids);
    const { done } = await doneCells(sub, plan);
    const queue = summarizeQueue(active, sub);
    if (done !== shown || queue !== lastQueue) {
      progress.tick(done - shown, queue || "queue empty");
      shown = done;
      lastQueue = queue;
    }
    if (active.length === 0) break;
    await new Promise((r) => setTimeout(r, (opts.pollSeconds ?? 5) * 1000));
  }
  return await judgeSubmission(sub, plan);
}

/** After the jobs left the queue: did the merge write the results, and which tasks did not finish? */
export async function judgeSubmission(sub: Submission, plan?: GridPlanFile): Promise<FollowResult> {
  plan ??= await readJson<GridPlanFile>(sub.plan);
  const info = await readJson<{ executor?: { submission?: string } }>(join(sub.outDir, "run_info.json"))
    .catch(() => null);
  const merged = info?.executor?.submission === sub.submission;
  const states = await jobStates(Object.values(sub.jobs).filter((j): j is string => !!j)).catch(() =>
    new Map()
  );
  const failures: TaskFailure[] = [];
  for (const e of plan.extract) {
    const rows = (await readManifest(e.manifest).catch(() => null))?.height ?? -1;
    if (await storeComplete(e.store, rows).catch(() => false)) continue;
    const logPath = join(sub.dir, "logs", `extract-${e.index}.out`);
    failures.push({
      job: "extract",
      index: e.index,
      state: states.get(`${sub.jobs.extract}_${e.index}`)?.state ?? null,
      log: logPath,
      units: [`extract ${e.dataset}/${e.codec}`],
      detail: await tail(logPath),
    });
  }
  for (const t of plan.tasks) {
    const status = await readJson<TaskStatus>(join(sub.dir, "tasks", `${t.index}.json`)).catch(() => null);
    if (status?.state === "done") continue;
    const logPath = join(sub.dir, "logs", `task-${t.index}.out`);
    failures.push({
      job: "array",
      index: t.index,
      state: states.get(`${sub.jobs.array}_${t.index}`)?.state ?? null,
      log: logPath,
      units: t.cells.map((c) => c.id),
      detail: status?.error ?? (await tail(logPath)),
    });
  }
  if (!merged && failures.length === 0) {
    const logPath = join(sub.dir, "logs", "merge.out");
    failures.push({
      job: "merge",
      index: null,
      state: states.get(sub.jobs.merge ?? "")?.state ?? null,
      log: logPath,
      units: ["merge"],
      detail: await tail(logPath),
    });
  }
  const { done, total } = await doneCells(sub, plan);
  return { submission: sub, merged, done, total, failures };
}

/** Human-readable lines for the failures of a submission. */
export function describeFailures(r: FollowResult): string[] {
  const lines: string[] = [];
  for (const f of r.failures) {
    const what = f.job === "merge"
      ? `merge job ${r.submission.jobs.merge}`
      : `${f.job === "extract" ? "extraction" : "array"} task ${r.submission.jobs[f.job]}_${f.index}`;
    lines.push(`${what} did not finish (${f.state ?? "state no longer known to Slurm"}); log: ${f.log}`);
    lines.push(`  units: ${f.units.join(", ")}`);
    if (f.detail) lines.push(...f.detail.split("\n").map((l) => `  | ${l}`));
  }
  return lines;
}
