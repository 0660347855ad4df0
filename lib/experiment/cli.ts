/** `deno task cli grid --config FILE [--dry-run] [--executor local|slurm ...]`: the ΔF1 experiment grid. */
import { fileURLToPath } from "node:url";
import type { Command } from "../common/cli.ts";
import { need, num, UsageError } from "../common/cli.ts";
import { LIMITS } from "../common/limits.ts";
import { log } from "../common/progress.ts";
import { queued, type SlurmOptions } from "../common/slurm.ts";
import { readConfig, type RunConfig } from "./config.ts";
import {
  describeFailures,
  type FollowResult,
  followSubmission,
  judgeSubmission,
  latestSubmission,
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
    "cells run as a Slurm array job and a dependent job merges the results (README: Running on a cluster).",
  usage: "--config FILE [--dry-run] [--workers N] [--json]\n" +
    "       --config FILE --executor slurm [--wait] [--partition P --time T --mem M --cpus-per-task N " +
    "--gres G --array-parallelism N --sbatch-arg ARG ...]\n" +
    "       --config FILE --follow | --status       (the outDir's latest Slurm submission)",
  flags: {
    config: {
      type: "string",
      description: "run config JSON (see README: datasets, codecs, tasks, grid, ...)",
    },
    "dry-run": { type: "boolean", description: "list the cells and which are cached; compute nothing" },
    workers: { type: "string", description: "parallel cells (default from the config, 2)" },
    quiet: { type: "boolean", description: "no progress output" },
    "no-checkpoints": {
      type: "boolean",
      description: "keep only each cell's metrics, not its SAE, probes and split lists (smaller footprint)",
    },
    executor: { type: "string", description: "local (this machine) or slurm (array job + merge job)" },
    wait: { type: "boolean", description: "slurm: follow the jobs until the merge has written the results" },
    follow: { type: "boolean", description: "follow the outDir's latest Slurm submission (as --wait)" },
    status: { type: "boolean", description: "report the outDir's latest Slurm submission once" },
    partition: { type: "string", description: "slurm: --partition" },
    time: { type: "string", description: "slurm: --time limit of each array task (e.g. 2:00:00)" },
    mem: { type: "string", description: "slurm: --mem of each array task (e.g. 8G)" },
    "cpus-per-task": { type: "string", description: "slurm: --cpus-per-task (parallel cells in a task)" },
    gres: { type: "string", description: "slurm: --gres of the array tasks (e.g. gpu:1)" },
    "array-parallelism": { type: "string", description: "slurm: at most N array tasks at once (%N)" },
    "sbatch-arg": {
      type: "string",
      multiple: true,
      description: "slurm: extra sbatch flag, verbatim (repeatable, e.g. --sbatch-arg=--account=abc)",
    },
    "cells-per-task": {
      type: "string",
      description: "slurm: cells per array task (default 1, more when over 100 tasks)",
    },
    poll: { type: "string", description: "slurm: seconds between queue polls when following", default: "10" },
    plan: { type: "string", description: "internal (array tasks, merge job): the submission's plan.json" },
    "task-index": { type: "string", description: "internal: run this array task's share of --plan" },
    merge: { type: "boolean", description: "with --plan: write the results tables from the cached cells" },
  },
  async run(flags) {
    const workers = flags.workers === undefined
      ? undefined
      : num(flags, "workers", undefined, LIMITS.workers);
    const config = await readConfig(need(flags, "config"));
    if (workers !== undefined) config.workers = workers;
    const checkpoints = !flags["no-checkpoints"];
    const quiet = Boolean(flags.quiet);
    const executor = (flags.executor as string | undefined) ?? "local";
    if (executor !== "local" && executor !== "slurm") {
      throw new UsageError(`--executor must be local or slurm, got '${executor}'`);
    }
    if (flags.plan !== undefined) {
      const plan = need(flags, "plan");
      if (flags.merge) return printSummary(await mergeGrid(config, plan, quiet), false);
      const index = num(flags, "task-index");
      if (!Number.isInteger(index) || index < 0) throw new UsageError("--task-index must be an integer ≥ 0");
      const r = await runPlanTask(config, plan, index, { quiet });
      console.log(`task ${index}: ${r.cells} cell(s), ${r.computed} computed`);
      return { task: index, ...r };
    }
    if (flags.follow || flags.status) {
      const sub = await latestSubmission(config.outDir);
      if (!sub) throw new Error(`${config.outDir}: no Slurm submission (no slurm/NNN/submission.json)`);
      return await follow(sub, flags, quiet, Boolean(flags.status));
    }
    if (executor === "slurm") return await submit(config, flags, quiet, checkpoints);
    const summary = await runGrid(config, { dryRun: Boolean(flags["dry-run"]), quiet, checkpoints });
    if (flags["dry-run"]) {
      for (const c of summary.planned ?? []) {
        console.log(
          `${
            c.cached ? "cached " : "pending"
          } ${c.dataset}/${c.codec}/${c.task} q=${c.q} s=${c.s} seed=${c.seed} ` +
            `k=${c.k} d_z=${c.dZ} epochs=${c.epochs}`,
        );
      }
    }
    return printSummary(summary, Boolean(flags["dry-run"]));
  },
};

function printSummary(summary: RunSummary, dryRun: boolean): Record<string, unknown> {
  console.log(
    `cells: ${summary.cells.total} total, ${summary.cells.cached} cached, ${summary.cells.computed} computed` +
      ` in ${summary.seconds.toFixed(1)}s`,
  );
  if (!dryRun) { for (const f of summary.files) console.log(`wrote ${f}`); }
  const { planned: _p, ...rest } = summary;
  return { ...rest, planned: summary.planned?.length };
}

function positiveInt(flags: Record<string, unknown>, name: string): number | undefined {
  if (flags[name] === undefined) return undefined;
  const n = num(flags, name);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer`);
  return n;
}

function slurmOptions(flags: Record<string, unknown>): SlurmOptions {
  const extra = (flags["sbatch-arg"] as string[] | undefined) ?? [];
  for (const a of extra) {
    if (!a.startsWith("-")) throw new UsageError(`--sbatch-arg takes an sbatch flag, got '${a}'`);
  }
  return {
    partition: flags.partition as string | undefined,
    time: flags.time as string | undefined,
    mem: flags.mem as string | undefined,
    cpusPerTask: positiveInt(flags, "cpus-per-task"),
    gres: flags.gres as string | undefined,
    arrayParallelism: positiveInt(flags, "array-parallelism"),
    sbatchArgs: extra,
  };
}

async function submit(
  config: RunConfig,
  flags: Record<string, unknown>,
  quiet: boolean,
  checkpoints: boolean,
) {
  // The array tasks start this Deno on this checkout: both must be on the filesystem the nodes share.
  const toolkit = {
    deno: Deno.execPath(),
    root: fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, ""),
  };
  const r = await submitGrid(config, {
    slurm: slurmOptions(flags),
    toolkit,
    cellsPerTask: positiveInt(flags, "cells-per-task"),
    dryRun: Boolean(flags["dry-run"]),
    quiet,
    checkpoints,
  });
  if (r.merged) return printSummary(r.merged, false);
  const sub = r.submission!, plan = r.plan!;
  const pending = plan.tasks.reduce((a, t) => a + t.cells.length, 0);
  if (flags["dry-run"]) {
    console.log(`plan (not submitted): ${sub.dir}`);
    for (const e of plan.extract) {
      console.log(`extract task ${e.index}: ${e.dataset}/${e.codec} → ${e.store}`);
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
  console.log(
    `submission ${sub.submission}: ${pending} of ${sub.cells} cells to compute in ${plan.tasks.length} array ` +
      `task(s)${
        plan.extract.length ? `, after ${plan.extract.length} feature extraction(s)` : ""
      } → ${sub.dir}`,
  );
  if (sub.jobs.extract) {
    console.log(`  extraction array job ${sub.jobs.extract} (logs ${sub.dir}/logs/extract-<i>.out)`);
  }
  console.log(`  array job ${sub.jobs.array} (logs ${sub.dir}/logs/task-<i>.out)`);
  console.log(`  merge job ${sub.jobs.merge}, after the array succeeds (log ${sub.dir}/logs/merge.out)`);
  if (!flags.wait) {
    const cfg = flags.config as string;
    console.log(
      `follow: deno task cli grid --config ${cfg} --follow   (or squeue -j ${
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
  return await follow(sub, flags, quiet, false);
}

async function follow(sub: Submission, flags: Record<string, unknown>, quiet: boolean, once: boolean) {
  let r: FollowResult;
  if (once) {
    const active = await queued(Object.values(sub.jobs).filter((j): j is string => !!j));
    r = await judgeSubmission(sub);
    console.log(
      `submission ${sub.submission} (jobs ${
        Object.values(sub.jobs).join(", ")
      }): ${r.done}/${r.total} cells done, ` +
        `${active.length} job(s)/task(s) queued or running${r.merged ? ", results merged" : ""}`,
    );
    if (active.length > 0) {
      return { submission: sub.submission, done: r.done, total: r.total, active: active.length };
    }
  } else {
    r = await followSubmission(sub, { pollSeconds: num(flags, "poll", 10), quiet });
  }
  if (r.failures.length > 0) {
    for (const l of describeFailures(r)) log(l);
    throw new Error(
      `submission ${sub.submission}: ${r.failures.length} task(s) did not finish; ${r.done}/${r.total} cells ` +
        `done. Fix the cause, then submit the same command again: it computes only the missing cells`,
    );
  }
  console.log(
    `submission ${sub.submission}: ${r.done}/${r.total} cells computed; results merged by job ${sub.jobs.merge}`,
  );
  for (const f of ["results.parquet", "results.csv", "run_info.json", "report.html"]) {
    console.log(`wrote ${sub.outDir}/${f}`);
  }
  return { submission: sub.submission, jobs: sub.jobs, done: r.done, total: r.total, merged: r.merged };
}

export const commands: Command[] = [grid];
