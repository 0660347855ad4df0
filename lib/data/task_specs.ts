/**
 * Task definitions, free of any table library (the run config reads them): the paper's two accent tasks and
 * tasks from a manifest column. How a task splits a manifest is lib/data/tasks.ts.
 */
import { type BroadLabel, NARROW_TO_BROAD } from "./taxonomy.ts";

/** A built-in accent task's id, or the name a run config gives a column task. */
export type TaskId = string;
/** The paper's tasks. */
export type AccentTaskId = "us-vs-uk" | "us-vs-non-us-uk";

export interface TaskSpec {
  id: TaskId;
  title: string;
  /** Names of class 0 and class 1. */
  classes: [string, string];
  /** The manifest column the label is read from. */
  column: string;
  /** The label of an utterance with this value in `column`, or null when the task drops it. */
  label(value: string): 0 | 1 | null;
}

/** A task defined from a manifest column (a run config's `tasks` entry). */
export interface ColumnTaskDefinition {
  name: string;
  column: string;
  /** Value(s) of class 1. */
  positive: string | string[];
  /** Value(s) of class 0. */
  negative: string | string[];
}

/** A task whose label follows from the utterance's broad accent (and, for exceptions, its narrow one). */
function taskOfAccents(
  id: TaskId,
  title: string,
  classes: [string, string],
  labelOf: (broad: BroadLabel | undefined, narrow: string) => 0 | 1 | null,
): TaskSpec {
  return {
    id,
    title,
    classes,
    column: "accent_narrow",
    label: (narrow) => labelOf(NARROW_TO_BROAD[narrow], narrow),
  };
}

const asList = (v: string | string[]) => (Array.isArray(v) ? v : [v]).map((x) => x.trim());

/**
 * The positive control: speaker sex (SAA's `gender`, known for the english, arabic and mandarin speakers), an
 * attribute a codec that encodes voices clearly carries. If a probe cannot find it, the pipeline cannot show
 * anything; if it can, that says the probes find what is there — not that accent is.
 */
export const SEX_TASK: ColumnTaskDefinition = {
  name: "sex",
  column: "gender",
  positive: "female",
  negative: "male",
};

/** A task labelled by a manifest column's values (trimmed; compared exactly). */
export function columnTask(def: ColumnTaskDefinition): TaskSpec {
  const pos = asList(def.positive), neg = asList(def.negative);
  const both = pos.find((v) => neg.includes(v));
  if (both !== undefined) {
    throw new Error(`task '${def.name}': value "${both}" is both positive and negative`);
  }
  return {
    id: def.name,
    title: def.name,
    classes: [neg.join("/"), pos.join("/")],
    column: def.column,
    label: (value) => {
      const v = value.trim();
      return pos.includes(v) ? 1 : neg.includes(v) ? 0 : null;
    },
  };
}

export const TASKS: Record<AccentTaskId, TaskSpec> = {
  "us-vs-uk": taskOfAccents("us-vs-uk", "US vs UK", ["US", "UK"], (broad, narrow) => {
    if (broad === "North America") return 0;
    if (broad === "British Isles" && narrow !== "Irish") return 1;
    return null;
  }),
  "us-vs-non-us-uk": taskOfAccents(
    "us-vs-non-us-uk",
    "US vs Non-US-UK",
    ["US", "Non-US-UK"],
    (broad) => broad === "North America" ? 0 : broad === "Other" ? 1 : null,
  ),
};

export const TASK_IDS = Object.keys(TASKS) as AccentTaskId[];

/** A task given by its spec, or a built-in task by id. */
export type TaskRef = TaskId | TaskSpec;

export function taskSpec(task: TaskRef): TaskSpec {
  if (typeof task !== "string") return task;
  const spec = TASKS[task as AccentTaskId];
  if (!spec) throw new Error(`unknown task ${JSON.stringify(task)} (known: ${TASK_IDS.join(", ")})`);
  return spec;
}
