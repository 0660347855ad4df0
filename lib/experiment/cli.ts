/** `deno task cli grid --config FILE [--dry-run] [--executor local|slurm ...]`: the ΔF1 experiment grid. */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { booleanFlag, type Command, DATA_FLAG, MODELS_FLAG, stringFlag } from "../common/cli.ts";
import { need, num } from "../common/cli.ts";
import { LIMITS } from "../common/limits.ts";
import { log } from "../common/progress.ts";
import { locationsOf, type Settings } from "../common/settings.ts";
import * as slurm from "../common/slurm.ts";
import { onnxProviders } from "../extract/cli.ts";
import { readConfig, type RunConfig } from "./config.ts";
import {
  type FollowResult,
  followSubmission,
  judgeSubmission,
  mergeGrid,
  runPlanTask,
  type Submission,
  submitGrid,
} from "./executor_slurm.ts";
import { runGrid, type RunSummary } from "./run.ts";

const grid: Command = {
  name: "grid",
  summary: "Run the ΔF1 grid of a run config: reference F1 on u, then SAE + probes for every (q, s, seed). " +
    "Resumable: finished cells are cached by a content hash of their inputs. With --executor slurm the " +
    "cells run as a Slurm array job and a dependent job merges the results (docs/slurm.md).",
  usage: "--config FILE [--data DIR] [--models DIR] [--dry-run] [--workers N] [--json]\n" +
    "       --config FILE --executor slurm [--wait] [--partition P --time T --mem M --cpus-per-task N " +
    "--gres G --array-parallelism N --sbatch-arg ARG ...]\n" +
    "       --config FILE --follow | --status       (the outDir's latest Slurm submission)",
  flags: {
    config: {
      type: "string",
      required: true,
      description: "run config JSON (docs/run-configs.md: datasets, codecs, tasks, grid, ...)",
    },
    data: {
      ...DATA_FLAG,
      description: `${DATA_FLAG.description}; overrides the config's datasets[].source`,
    },
    models: { ...MODELS_FLAG, description: `${MODELS_FLAG.description}; overrides the config's modelsDir` },
    "dry-run": booleanFlag("list the cells and which are cached; compute nothing"),
    workers: {
      type: "string",
      description: "parallel cells (worker threads; each cell computes with cores ÷ workers threads)",
      defaultText: "the config's workers, else 2",
    },
    quiet: booleanFlag("no progress output"),
    "no-checkpoints": {
      type: "boolean",
      description: "keep only each cell's metrics, not its SAE, probes and split lists (smaller footprint)",
    },
    "onnx-providers": {
      type: "string",
      description: "onnxruntime execution providers for extraction with the ONNX codecs, e.g. cuda,cpu " +
        "(else NAC_SAE_ONNX_PROVIDERS)",
      defaultText: "cpu",
    },
    ...slurm.SLURM_FLAGS,
    "cells-per-task": {
      type: "string",
      description: "slurm: cells per array task",
      defaultText: "1, more when over 100 tasks",
    },
    plan: stringFlag("internal (array tasks, merge job): the submission's plan.json"),
    "task-index": stringFlag("internal: run this array task's share of --plan"),
    merge: booleanFlag("with --plan: write the results tables from the cached cells"),
  },
  async run(flags, _positionals, settings) {
    const loc = locationsOf(settings);
    const workers = flags.workers === undefined
      ? undefined
      : num(flags, "workers", undefined, LIMITS.workers);
    const config = withFolders(await readConfig(need(flags, "config")), flags);
    if (workers !== undefined) config.workers = workers;
    const checkpoints = !flags["no-checkpoints"];
    const quiet = Boolean(flags.quiet);
    const executor = slurm.executorFlag(flags);
    if (flags.plan !== undefined) {
      const plan = need(flags, "plan");
      if (flags.merge) {
        return printSummary(await mergeGrid(config, plan, { ...loc, quiet }), { dryRun: false });
      }
      const index = num(flags, "task-index", undefined, { integer: true, min: 0 });
      const r = await runPlanTask(config, plan, index, { ...loc, quiet });
      console.log(`task ${index}: ${r.cells} cell(s), ${r.computed} computed`);
      return { task: index, ...r };
    }
    if (flags.follow || flags.status) {
      const sub = await slurm.latestSubmission<Submission>(config.outDir);
      if (!sub) throw new Error(`${config.outDir}: no Slurm submission (no slurm/NNN/submission.json)`);
      return await follow(sub, flags, { quiet, once: Boolean(flags.status) });
    }
    if (executor === "slurm") return await submit(config, flags, settings, { quiet, checkpoints });
    const summary = await runGrid(config, {
      ...loc,
      dryRun: Boolean(flags["dry-run"]),
      quiet,
      checkpoints,
      providers: onnxProviders(flags, settings),
    });
    if (flags["dry-run"]) {
      for (const c of summary.planned ?? []) {
        console.log(
          `${
            c.cached ? "cached " : "pending"
          } ${c.dataset}/${c.codec}/${c.task} q=${c.q} s=${c.s} seed=${c.seed} ` +
            `k=${c.k} d_z=${c.dZ} ${c.epochs > 0 ? `epochs=${c.epochs}` : `schedule=${c.schedule}`}` +
            (c.key === null ? " (features not extracted yet)" : ""),
        );
      }
    }
    return printSummary(summary, { dryRun: Boolean(flags["dry-run"]) });
  },
};

/**
 * `--data DIR` and `--models DIR` in place of the config's `datasets[].source` and `modelsDir` (step 1 of the
 * location rule, lib/common/settings.ts). `--data` applies to the built-in data sets the config prepares (those
 * without a `manifest`). Neither enters a cell's cache key: the same data found elsewhere reuses every cell.
 */
export function withFolders(config: RunConfig, flags: Record<string, unknown>): RunConfig {
  const data = typeof flags.data === "string" ? resolve(flags.data) : undefined;
  const models = typeof flags.models === "string" ? resolve(flags.models) : undefined;
  return {
    ...config,
    datasets: config.datasets.map((d) => (data && !d.manifest ? { ...d, source: data } : d)),
    ...(models ? { modelsDir: models } : {}),
  };
}

function printSummary(summary: RunSummary, opts: { dryRun: boolean }): Record<string, unknown> {
  const { dryRun } = opts;
  console.log(
    `cells: ${summary.cells.total} total, ${summary.cells.cached} cached, ${summary.cells.computed} computed` +
      ` in ${summary.seconds.toFixed(1)}s`,
  );
  if (!dryRun) { for (const f of summary.files) console.log(`wrote ${f}`); }
  const { planned: _p, ...rest } = summary;
  return { ...rest, planned: summary.planned?.length };
}

/** The array tasks start this Deno on this checkout: both must be on the filesystem the nodes share. */
export function thisToolkit(): slurm.Toolkit {
  return { deno: Deno.execPath(), root: fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "") };
}

async function submit(
  config: RunConfig,
  flags: Record<string, unknown>,
  settings: Settings,
  opts: { quiet: boolean; checkpoints: boolean },
) {
  const { quiet, checkpoints } = opts;
  const r = await submitGrid(config, {
    ...locationsOf(settings),
    configPath: resolve(flags.config as string),
    slurm: slurm.slurmOptionsFromFlags(flags),
    toolkit: thisToolkit(),
    cellsPerTask: slurm.positiveIntFlag(flags, "cells-per-task"),
    shardSize: slurm.positiveIntFlag(flags, "shard-size"),
    providers: onnxProviders(flags, settings),
    dryRun: Boolean(flags["dry-run"]),
    quiet,
    checkpoints,
    folders: {
      data: typeof flags.data === "string" ? resolve(flags.data) : undefined,
      models: typeof flags.models === "string" ? resolve(flags.models) : undefined,
    },
  });
  if (r.merged) return printSummary(r.merged, { dryRun: false });
  const sub = r.submission!, plan = r.plan!;
  const pending = plan.tasks.reduce((a, t) => a + t.cells.length, 0);
  if (flags["dry-run"]) {
    console.log(`plan (not submitted): ${sub.dir}`);
    for (const e of plan.extract) {
      console.log(
        `extract task ${e.index}: ${e.dataset}/${e.codec} ${e.first} … ${e.last} (${e.rows}) → ${e.store}`,
      );
    }
    for (const t of plan.tasks) console.log(`array task ${t.index}: ${t.cells.map((c) => c.id).join(", ")}`);
    for (const c of sub.commands) console.log(c);
    return {
      submission: sub.submission,
      dir: sub.dir,
      tasks: plan.tasks.length,
      cells: pending,
      dryRun: true,
    };
  }
  const logs = `${sub.dir}/logs`;
  console.log(
    `submission ${sub.submission}: ${pending} of ${sub.cells} cells to compute in ${plan.tasks.length} array ` +
      `task(s)${
        plan.folds.length ? `, after ${plan.extract.length} feature extraction shard(s)` : ""
      } → ${sub.dir}`,
  );
  if (sub.jobs.extract) {
    console.log(`  extraction array job ${sub.jobs.extract} (logs ${logs}/extract-<i>.out)`);
  }
  if (sub.jobs.fold) {
    console.log(`  fold job ${sub.jobs.fold}: parts into the feature stores (log ${logs}/fold.out)`);
  }
  console.log(`  array job ${sub.jobs.array} (logs ${logs}/task-<i>.out)`);
  console.log(`  merge job ${sub.jobs.merge}, after the array succeeds (log ${logs}/merge.out)`);
  if (!flags.wait) {
    console.log(
      `follow: deno task cli grid --config ${flags.config} --follow   (or squeue -j ${
        Object.values(sub.jobs).join(",")
      })`,
    );
    console.log(
      `the merge job writes ${config.outDir}/results.*; if a task fails, run the same submit command again: ` +
        `it computes only the missing cells`,
    );
    return {
      submission: sub.submission,
      dir: sub.dir,
      jobs: sub.jobs,
      tasks: plan.tasks.length,
      cells: pending,
    };
  }
  return await follow(sub, flags, { quiet, once: false });
}

async function follow(
  sub: Submission,
  flags: Record<string, unknown>,
  opts: { quiet: boolean; once: boolean },
) {
  const { quiet, once } = opts;
  let r: FollowResult;
  if (once) {
    const active = await slurm.queued(Object.values(sub.jobs).filter((j): j is string => !!j));
    r = await judgeSubmission(sub);
    console.log(
      `submission ${sub.submission} (jobs ${
        Object.values(sub.jobs).join(", ")
      }): ${r.done}/${r.total} cells ` +
        `done, ${active.length} job(s)/task(s) queued or running${r.merged ? ", results merged" : ""}`,
    );
    if (active.length > 0) {
      return { submission: sub.submission, done: r.done, total: r.total, active: active.length };
    }
  } else {
    r = await followSubmission(sub, { pollSeconds: num(flags, "poll", 10, { exclusiveMin: 0 }), quiet });
  }
  if (r.failures.length > 0) {
    for (const l of slurm.describeUnitFailures(r.failures, sub.jobs)) log(l);
    throw new Error(
      `submission ${sub.submission}: ${r.failures.length} unit(s) did not finish; ${r.done}/${r.total} cells ` +
        `done. Fix the cause, then submit the same command again: it computes only the missing cells`,
    );
  }
  console.log(
    `submission ${sub.submission}: ${r.done}/${r.total} cells computed; results merged by job ${sub.jobs.merge}`,
  );
  const files = ["results.parquet", "results.csv", "run_info.json", "report.html"];
  if (once) console.log(`results: ${sub.outDir}/{${files.join(",")}}`);
  else for (const f of files) console.log(`wrote ${sub.outDir}/${f}`);
  return { submission: sub.submission, jobs: sub.jobs, done: r.done, total: r.total, merged: r.merged };
}

export const commands: Command[] = [grid];
