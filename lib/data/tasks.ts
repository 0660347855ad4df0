/**
 * Binary tasks as functions of a manifest. The paper's two accent tasks (Sec. 3.1):
 *   us-vs-uk:        North America = 0; British Isles except Irish = 1; everything else dropped.
 *   us-vs-non-us-uk: North America = 0; everything outside North America and the British Isles = 1.
 * and tasks a run config defines from any manifest column (`columnTask`, e.g. sex from `gender`): the
 * `negative` values are class 0, the `positive` ones class 1, a recording with another or no value is left
 * out of that task (counted: `columnTaskReport`).
 * The manifest's validation split is divided evenly into two non-overlapping, deterministic halves:
 * val1 monitors SAE training, val2 trains the probes; train fits the SAE; test is test.
 */
import type pl from "nodejs-polars";
import { type ManifestRow, manifestRows } from "./manifest.ts";

export {
  type AccentTaskId,
  columnTask,
  type ColumnTaskDefinition,
  SEX_TASK,
  TASK_IDS,
  type TaskId,
  type TaskRef,
  TASKS,
  type TaskSpec,
  taskSpec,
} from "./task_specs.ts";
import { type TaskRef, type TaskSpec, taskSpec } from "./task_specs.ts";

/**
 * Checks a column task against a manifest before any work: the column exists and every value the task names
 * occurs; returns how many recordings it leaves out (no value, or a value in neither class) for the caller
 * to report — never silently.
 */
export function columnTaskReport(
  manifest: pl.DataFrame,
  spec: TaskSpec,
  where: string,
): { leftOut: number; values: string[] } {
  if (!manifest.columns.includes(spec.column)) {
    throw new Error(
      `${where}: task '${spec.id}' reads column '${spec.column}', which the manifest does not have ` +
        `(columns: ${manifest.columns.join(", ")})`,
    );
  }
  const values = manifest.getColumn(spec.column).toArray().map((v: unknown) => String(v ?? "").trim());
  const present = [...new Set(values)].filter((v) => v !== "").sort();
  for (const [cls, name] of spec.classes.entries()) {
    for (const v of name.split("/")) {
      if (!present.includes(v)) {
        throw new Error(
          `${where}: task '${spec.id}': value "${v}" (class ${cls}) never occurs in column '${spec.column}' ` +
            `(values: ${present.slice(0, 12).join(", ")}${present.length > 12 ? ", …" : ""})`,
        );
      }
    }
  }
  return { leftOut: values.filter((v) => spec.label(v) === null).length, values: present };
}

export interface TaskRow {
  utterance_id: string;
  path: string;
  speaker_id: string;
  label: 0 | 1;
}

export interface TaskSplits {
  /** Fits the SAE. */
  train: TaskRow[];
  /** First half of validation: monitors SAE training. */
  val1: TaskRow[];
  /** Second half of validation: trains the probes. */
  val2: TaskRow[];
  test: TaskRow[];
}

/** FNV-1a: a small, stable string hash, so the validation halves do not depend on row order. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Splits validation rows into two halves: within each class, rows ordered by a hash of their utterance_id
 * are dealt alternately (the alternation carries across classes), so both halves get each class in equal
 * measure (±1), sizes differ by at most one, and the result depends only on the set of utterance ids.
 */
export function validationHalves(rows: TaskRow[]): { val1: TaskRow[]; val2: TaskRow[] } {
  const val1: TaskRow[] = [], val2: TaskRow[] = [];
  let turn = 0;
  for (const label of [0, 1] as const) {
    const cls = rows.filter((r) => r.label === label).map((r) => ({ r, h: fnv1a(r.utterance_id) }));
    cls.sort((a, b) => a.h - b.h || (a.r.utterance_id < b.r.utterance_id ? -1 : 1));
    for (const { r } of cls) (turn++ % 2 === 0 ? val1 : val2).push(r);
  }
  const byId = (
    a: TaskRow,
    b: TaskRow,
  ) => (a.utterance_id < b.utterance_id ? -1 : a.utterance_id > b.utterance_id ? 1 : 0);
  return { val1: val1.sort(byId), val2: val2.sort(byId) };
}

function taskRows(rows: ManifestRow[], spec: TaskSpec, split: string): TaskRow[] {
  const out: TaskRow[] = [];
  for (const r of rows) {
    if (r.split !== split) continue;
    const label = spec.label(String((r as unknown as Record<string, unknown>)[spec.column] ?? ""));
    if (label === null) continue;
    out.push({ utterance_id: r.utterance_id, path: r.path, speaker_id: r.speaker_id, label });
  }
  return out;
}

/** The task's rows per split: train, val1/val2 (validation halves), test. */
export function taskSplits(manifest: pl.DataFrame, task: TaskRef): TaskSplits {
  const spec = taskSpec(task);
  const rows = manifestRows(manifest);
  const { val1, val2 } = validationHalves(taskRows(rows, spec, "validation"));
  return { train: taskRows(rows, spec, "train"), val1, val2, test: taskRows(rows, spec, "test") };
}

/**
 * Whether the task can be run on this manifest: train is non-empty, and the probe's training half (val2)
 * and the test split each contain both classes.
 */
export function taskApplies(manifest: pl.DataFrame, task: TaskRef): boolean {
  return taskProblem(manifest, task) === null;
}

/** Why the task cannot run on this manifest (the first split that fails, with its class counts), or null. */
export function taskProblem(manifest: pl.DataFrame, task: TaskRef): string | null {
  const spec = taskSpec(task);
  const s = taskSplits(manifest, task);
  if (s.train.length === 0) return `no train rows of ${spec.classes.join(" or ")}`;
  for (const split of ["val2", "test"] as const) {
    const n0 = s[split].filter((r) => r.label === 0).length, n1 = s[split].length - n0;
    if (n0 === 0 || n1 === 0) {
      const what = split === "val2" ? "the probe's training half of validation (val2)" : "the test split";
      return `${what} has ${n0} ${spec.classes[0]} and ${n1} ${
        spec.classes[1]
      } rows (both classes are needed)`;
    }
  }
  return null;
}

export interface ClassBalance {
  n: number;
  /** Utterances per class (class 0 = US). */
  n0: number;
  n1: number;
  speakers: number;
  /** Share of class 0 (US), as the paper reports for its test sets (69.90 % and 63.98 %). */
  usShare: number;
}

function balance(rows: TaskRow[]): ClassBalance {
  const n0 = rows.filter((r) => r.label === 0).length;
  return {
    n: rows.length,
    n0,
    n1: rows.length - n0,
    speakers: new Set(rows.map((r) => r.speaker_id)).size,
    usShare: rows.length ? n0 / rows.length : 0,
  };
}

/** Class balance of every split of a task. */
export function taskBalance(manifest: pl.DataFrame, task: TaskRef): Record<keyof TaskSplits, ClassBalance> {
  const s = taskSplits(manifest, task);
  return { train: balance(s.train), val1: balance(s.val1), val2: balance(s.val2), test: balance(s.test) };
}

/**
 * Speaker-level stratified folds for cross-validating the probe stage: within each class, speakers ordered by
 * a hash of their id are dealt to folds 0, 1, …, k−1 in turn (the turn carries across classes), so every
 * speaker's rows share one fold, each class is spread over the folds, and the result depends only on the set
 * of (speaker, label) pairs. A speaker's class is the label of its first row. Returns the fold of each row.
 */
export function speakerFolds(rows: TaskRow[], folds: number, what = "probe rows"): Int32Array {
  if (!Number.isInteger(folds) || folds < 2) {
    throw new Error(`${what}: folds must be an integer ≥ 2, got ${folds}`);
  }
  const labelOf = new Map<string, 0 | 1>();
  for (const r of rows) if (!labelOf.has(r.speaker_id)) labelOf.set(r.speaker_id, r.label);
  const foldOf = new Map<string, number>();
  let turn = 0;
  for (const label of [0, 1] as const) {
    const speakers = [...labelOf].filter(([, l]) => l === label).map(([s]) => s);
    if (speakers.length < 2) {
      throw new Error(
        `${what}: class ${label} has ${speakers.length} speaker(s); speaker-level cross-validation needs ≥ 2 per class`,
      );
    }
    speakers.sort((a, b) => fnv1a(a) - fnv1a(b) || (a < b ? -1 : a > b ? 1 : 0));
    for (const s of speakers) foldOf.set(s, turn++ % folds);
  }
  if (labelOf.size < folds) throw new Error(`${what}: ${labelOf.size} speakers cannot fill ${folds} folds`);
  return Int32Array.from(rows, (r) => foldOf.get(r.speaker_id)!);
}
