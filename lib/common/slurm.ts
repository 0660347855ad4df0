/**
 * A thin client of the Slurm commands (sbatch, squeue, scontrol, sacct, scancel, sinfo), run as external
 * processes. Job states come from squeue while a job is queued or running, then from scontrol (finished jobs
 * stay visible for MinJobAge, 300 s by default) or sacct (when accounting is on); a state no command knows any
 * more is reported as null and the caller judges from what the job left on disk.
 */

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
