/**
 * A thin client of the Slurm commands (sbatch, squeue, scontrol, sacct, scancel, sinfo), run as external
 * processes. Job states come from squeue while a job is queued or running, then from scontrol (finished jobs
 * stay visible for MinJobAge, 300 s by default) or sacct (when accounting is on); a state no command knows any
 * more is reported as null and the caller judges from what the job left on disk. Also what the executors of
 * the stages share: the submission folders, the batch scripts, following jobs, the Slurm CLI flags.
 */
import { join } from "node:path";
import { booleanFlag, type FlagSpec, num, stringFlag, UsageError } from "./cli.ts";
import { writeJsonAtomic } from "./fs.ts";
import { Progress } from "./progress.ts";

/** Resource flags a user gives once; passed through to every sbatch call. */
export interface SlurmOptions {
  partition?: string;
  time?: string;
  mem?: string;
  cpusPerTask?: number;
  /** e.g. "gpu:1" on GPU nodes. */
  gres?: string;
  /** At most this many array tasks run at once (`--array=0-N%P`). */
  arrayParallelism?: number;
  /** Site-specific flags, passed verbatim (e.g. "--account=abc", "--qos=short"). */
  sbatchArgs?: string[];
}

export class SlurmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SlurmError";
  }
}

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  let out;
  try {
    out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new SlurmError(`'${cmd}' not found: Slurm's client commands must be on PATH`);
    }
    throw e;
  }
  const dec = new TextDecoder();
  return { ok: out.success, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr).trim() };
}

/** Why Slurm cannot be used here (no commands, controller not answering), or null when it can. */
export async function slurmUnavailable(): Promise<string | null> {
  try {
    const r = await run("sinfo", ["-h", "-o", "%P %T"]);
    if (!r.ok) return `sinfo failed: ${r.stderr || "no output"}`;
    if (r.stdout.trim() === "") return "sinfo lists no partitions";
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The sbatch flags of the resource options (array parallelism excepted: it belongs to `--array`). */
export function resourceArgs(o: SlurmOptions, { array = true } = {}): string[] {
  const args: string[] = [];
  if (o.partition) args.push(`--partition=${o.partition}`);
  if (o.time) args.push(`--time=${o.time}`);
  if (o.mem) args.push(`--mem=${o.mem}`);
  if (array && o.cpusPerTask) args.push(`--cpus-per-task=${o.cpusPerTask}`);
  if (array && o.gres) args.push(`--gres=${o.gres}`);
  return [...args, ...(o.sbatchArgs ?? [])];
}

/** `--array=0-(n-1)[%p]`. */
export function arrayArg(n: number, parallelism?: number): string {
  return `--array=0-${n - 1}${parallelism ? `%${parallelism}` : ""}`;
}

/** Submits a batch script; returns the job id. */
export async function sbatch(args: string[], script: string): Promise<string> {
  const r = await run("sbatch", ["--parsable", ...args, script]);
  if (!r.ok) throw new SlurmError(`sbatch ${[...args, script].join(" ")} failed: ${r.stderr}`);
  const id = r.stdout.trim().split(";")[0];
  if (!/^\d+$/.test(id)) throw new SlurmError(`sbatch printed no job id: ${JSON.stringify(r.stdout)}`);
  return id;
}

export async function scancel(ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const r = await run("scancel", ids);
  if (!r.ok) throw new SlurmError(`scancel ${ids.join(" ")} failed: ${r.stderr}`);
}

/** sbatch flags that start a job once job `id` succeeded, and cancel it if `id` fails; none without an id. */
export function afterOk(id: string | undefined): string[] {
  return id ? [`--dependency=afterok:${id}`, "--kill-on-invalid-dep=yes"] : [];
}

/** Submits one batch script with these sbatch flags; its job id, or undefined in a dry run. */
export type SubmitJob = (args: string[], script: string) => Promise<string | undefined>;

/**
 * Submits a submission's jobs in the order `chain` asks for them, recording each exact sbatch command in the
 * record (a dry run only records them). Should one fail, the jobs already submitted are cancelled before the
 * error goes on. The record is then written as `<dir>/submission.json` (a dry run: submission.dry-run.json).
 */
export async function submitJobs<R extends SubmissionRecord>(
  record: R,
  dryRun: boolean | undefined,
  chain: (submit: SubmitJob) => Promise<void>,
): Promise<R> {
  const submitted: string[] = [];
  const submit: SubmitJob = async (args, script) => {
    record.commands.push(["sbatch", ...args, script].map(shellQuote).join(" "));
    if (dryRun) return undefined;
    const id = await sbatch(args, script);
    submitted.push(id);
    return id;
  };
  try {
    await chain(submit);
  } catch (e) {
    await scancel(submitted).catch(() => {});
    throw e;
  }
  await writeJsonAtomic(join(record.dir, dryRun ? "submission.dry-run.json" : "submission.json"), record);
  return record;
}

/** State of one job or array task, e.g. PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT. */
export interface JobState {
  /** "123" for a plain job, "123_4" for task 4 of array job 123. */
  id: string;
  state: string;
  /** squeue's reason for a pending job (e.g. Dependency, Resources). */
  reason?: string;
}

/** Queued and running jobs (array tasks one per line) among `jobIds`. */
export async function queued(jobIds: string[]): Promise<JobState[]> {
  if (jobIds.length === 0) return [];
  const r = await run("squeue", ["-h", "-r", "-j", jobIds.join(","), "-o", "%i|%T|%r"]);
  // squeue exits non-zero when none of the ids is known any more (all finished long ago).
  if (!r.ok) return [];
  return parseLines(r.stdout);
}

function parseLines(text: string): JobState[] {
  return text.trim().split("\n").filter((l) => l.includes("|")).map((l) => {
    const [id, state, reason] = l.split("|");
    return { id: id.trim(), state: state.trim().split(" ")[0], reason: reason?.trim() || undefined };
  });
}

/**
 * States of the jobs (and every task of array jobs), finished ones included where Slurm still knows them:
 * scontrol first, then sacct. Missing ids are unknown.
 */
export async function jobStates(jobIds: string[]): Promise<Map<string, JobState>> {
  const states = new Map<string, JobState>();
  for (const id of jobIds) {
    const r = await run("scontrol", ["-o", "show", "job", id]).catch(() => null);
    if (!r?.ok) continue;
    for (const line of r.stdout.trim().split("\n")) {
      const field = (k: string) => line.match(new RegExp(`(?:^|\\s)${k}=(\\S+)`))?.[1];
      const jobId = field("JobId"), arrayJob = field("ArrayJobId"), task = field("ArrayTaskId");
      const state = field("JobState");
      if (!jobId || !state) continue;
      // A pending array's not-yet-split remainder shows as ArrayTaskId=2-5 (or 2-5%1).
      const tasks = task ? expandRange(task.split("%")[0]) : null;
      if (arrayJob && tasks) {
        for (const t of tasks) {
          states.set(`${arrayJob}_${t}`, { id: `${arrayJob}_${t}`, state, reason: field("Reason") });
        }
      } else states.set(jobId, { id: jobId, state, reason: field("Reason") });
    }
  }
  const unknown = jobIds.filter((id) => ![...states.keys()].some((k) => k === id || k.startsWith(`${id}_`)));
  if (unknown.length > 0) {
    const r = await run("sacct", ["-n", "-P", "-X", "-j", unknown.join(","), "-o", "JobID,State"]).catch(() =>
      null
    );
    if (r?.ok) {
      for (const s of parseLines(r.stdout)) if (!states.has(s.id)) states.set(s.id, s);
    }
  }
  return states;
}

function expandRange(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(",")) {
    const [a, b] = part.split("-").map(Number);
    if (!Number.isInteger(a)) continue;
    for (let i = a; i <= (Number.isInteger(b) ? b : a); i++) out.push(i);
  }
  return out;
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** How a job starts this toolkit: this Deno, this checkout (both on the filesystem the nodes share). */
export interface Toolkit {
  /** The deno executable. */
  deno: string;
  /** The checkout's root (holds deno.json, lib/, node_modules/). */
  root: string;
}

/** Permissions of array tasks and merge jobs: no subprocesses, no network (data and weights are local). */
export const TASK_PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
];

/** The shell command line running the toolkit's CLI with `args`. */
export function toolkitCommand(t: Toolkit, args: string[]): string {
  return [
    t.deno,
    "run",
    `--config=${t.root}/deno.json`,
    ...TASK_PERMISSIONS,
    `${t.root}/lib/cli/main.ts`,
    ...args,
  ].map(shellQuote).join(" ");
}

/** A batch script. Paths in it are absolute, so the caller's folder (INIT_CWD of `deno task`) is dropped. */
export function script(title: string, body: string[]): string {
  return ["#!/bin/bash", `# ${title}`, "set -euo pipefail", "unset INIT_CWD", ...body, ""].join("\n");
}

/** The jobs of one submission and how they were submitted (`submission.json`). */
export interface SubmissionRecord {
  version: 1;
  /** "001", "002", ... */
  submission: string;
  /** `<outDir>/slurm/NNN`. */
  dir: string;
  /** Where the results go (a grid's outDir, or a feature store). */
  outDir: string;
  plan: string;
  /** Job ids by role (extract, fold, array, merge). */
  jobs: Record<string, string | undefined>;
  commands: string[];
  submitted: string;
}

/** The newest submission of an outDir (`<outDir>/slurm/NNN/submission.json`), or null. */
export async function latestSubmission<T extends SubmissionRecord>(outDir: string): Promise<T | null> {
  const dir = `${outDir}/slurm`;
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isDirectory && /^\d{3,}$/.test(e.name)) names.push(e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  for (const n of names.sort().reverse()) {
    try {
      return JSON.parse(await Deno.readTextFile(`${dir}/${n}/submission.json`)) as T;
    } catch { /* a plan never submitted (dry run, failed sbatch) */ }
  }
  return null;
}

/** Creates the next submission folder `<outDir>/slurm/NNN/` with `logs/`. */
export async function nextSubmissionDir(outDir: string): Promise<{ name: string; dir: string }> {
  const dir = `${outDir}/slurm`;
  await Deno.mkdir(dir, { recursive: true });
  let n = 0;
  for await (const e of Deno.readDir(dir)) if (/^\d{3,}$/.test(e.name)) n = Math.max(n, Number(e.name));
  const name = String(n + 1).padStart(3, "0");
  await Deno.mkdir(`${dir}/${name}/logs`, { recursive: true });
  return { name, dir: `${dir}/${name}` };
}

/** Refuses a new submission while the previous one of the same outDir is queued or running. */
export async function refuseWhileActive(outDir: string): Promise<SubmissionRecord | null> {
  const previous = await latestSubmission(outDir);
  if (!previous) return null;
  const ids = Object.values(previous.jobs).filter((j): j is string => !!j);
  if ((await queued(ids)).length > 0) {
    throw new SlurmError(
      `submission ${previous.submission} of ${outDir} is still queued or running (jobs ${ids.join(", ")}); ` +
        `follow it with --follow, or scancel it before submitting again`,
    );
  }
  return previous;
}

/** "array 54: 2 running, 1 pending(dependency); merge 55: 1 pending(dependency)". */
export function describeQueue(states: JobState[], jobs: Record<string, string | undefined>): string {
  const parts: string[] = [];
  for (const [role, id] of Object.entries(jobs)) {
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
    parts.push(`${role} ${id}: ${[...counts].map(([k, v]) => `${v} ${k.toLowerCase()}`).join(", ")}`);
  }
  return parts.join("; ");
}

/**
 * Polls until none of the jobs is queued, reporting `countDone()` of `total` with the queue state as the usual
 * progress line (a line whenever either changes, at most every few seconds in logs).
 */
export async function waitForJobs(
  jobs: Record<string, string | undefined>,
  total: number,
  countDone: () => Promise<number>,
  opts: { label: string; unit: string; pollSeconds?: number; quiet?: boolean },
): Promise<void> {
  const ids = Object.values(jobs).filter((j): j is string => !!j);
  const progress = new Progress({
    label: opts.label,
    total,
    unit: opts.unit,
    quiet: opts.quiet,
    intervalMs: 5000,
  });
  let shown = 0, lastQueue = "";
  for (;;) {
    const active = await queued(ids);
    const done = await countDone();
    const queue = describeQueue(active, jobs);
    if (done !== shown || queue !== lastQueue) {
      progress.tick(done - shown, queue || "queue empty");
      shown = done;
      lastQueue = queue;
    }
    if (active.length === 0) return;
    await new Promise((r) => setTimeout(r, (opts.pollSeconds ?? 10) * 1000));
  }
}

/** The last lines of a log file ("" when missing). */
export async function logTail(path: string, lines = 6): Promise<string> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** A unit of work that did not finish: which job and task, Slurm's state, its log and its units. */
export interface UnitFailure {
  role: string;
  /** Array task index; null for a plain job. */
  index: number | null;
  /** Slurm's state when it still knows it (FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, ...). */
  state: string | null;
  log: string;
  units: string[];
  /** The task's own error, or the last lines of its log. */
  detail: string;
}

/** Human-readable lines for failures. */
export function describeUnitFailures(
  failures: UnitFailure[],
  jobs: Record<string, string | undefined>,
): string[] {
  const lines: string[] = [];
  for (const f of failures) {
    const what = f.index === null
      ? `${f.role} job ${jobs[f.role]}`
      : `${f.role} task ${jobs[f.role]}_${f.index}`;
    lines.push(`${what} did not finish (${f.state ?? "state no longer known to Slurm"}); log: ${f.log}`);
    lines.push(`  units: ${f.units.join(", ")}`);
    if (f.detail) lines.push(...f.detail.split("\n").map((l) => `  | ${l}`));
  }
  return lines;
}

/** The Slurm flags of every command with `--executor slurm`. */
export const SLURM_FLAGS: FlagSpec = {
  executor: {
    type: "string",
    description: "local (this machine) or slurm (array job + merge job)",
    default: "local",
  },
  wait: booleanFlag("slurm: follow the jobs until the merge has finished"),
  follow: booleanFlag("follow the latest Slurm submission (as --wait)"),
  status: booleanFlag("report the latest Slurm submission once"),
  partition: stringFlag("slurm: --partition"),
  time: stringFlag("slurm: --time limit of each job (e.g. 2:00:00)"),
  mem: stringFlag("slurm: --mem of each job (e.g. 8G)"),
  "cpus-per-task": stringFlag("slurm: --cpus-per-task (parallel work in one task)"),
  gres: stringFlag("slurm: --gres of the extraction array tasks (e.g. gpu:1)"),
  "array-parallelism": stringFlag("slurm: at most N array tasks at once (%N)"),
  "sbatch-arg": {
    type: "string",
    multiple: true,
    description: "slurm: extra sbatch flag, verbatim (repeatable, e.g. --sbatch-arg=--account=abc)",
  },
  "shard-size": {
    type: "string",
    description: "slurm: utterances per extraction array task",
    defaultText: "500",
  },
  poll: stringFlag("slurm: seconds between queue polls when following", { default: "10" }),
};

/** `--executor`, checked. */
export function executorFlag(flags: Record<string, unknown>): "local" | "slurm" {
  const e = (flags.executor as string | undefined) ?? "local";
  if (e !== "local" && e !== "slurm") throw new UsageError(`--executor must be local or slurm, got '${e}'`);
  return e;
}

/** A positive integer flag, or undefined when absent. */
export function positiveIntFlag(flags: Record<string, unknown>, name: string): number | undefined {
  if (flags[name] === undefined) return undefined;
  return num(flags, name, undefined, { integer: true, min: 1 });
}

/** The resource options of the Slurm flags. */
export function slurmOptionsFromFlags(flags: Record<string, unknown>): SlurmOptions {
  const extra = (flags["sbatch-arg"] as string[] | undefined) ?? [];
  for (const a of extra) {
    if (!a.startsWith("-")) throw new UsageError(`--sbatch-arg takes an sbatch flag, got '${a}'`);
  }
  return {
    partition: flags.partition as string | undefined,
    time: flags.time as string | undefined,
    mem: flags.mem as string | undefined,
    cpusPerTask: positiveIntFlag(flags, "cpus-per-task"),
    gres: flags.gres as string | undefined,
    arrayParallelism: positiveIntFlag(flags, "array-parallelism"),
    sbatchArgs: extra,
  };
}
