/**
 * Whether a task's numbers are evidence: per setting (dataset, task, codec, protocol, test set) the reference
 * probe on u against the label-permuted chance level and the majority-class baseline, with the recordings
 * behind it per class, and which probes answer a single class. A ΔF1 read where the reference is not above
 * both measures noise, however positive it looks: charts grey it and tables mark it "not evidence".
 */
import type pl from "nodejs-polars";
import { TASKS } from "../data/tasks.ts";
import type { PredictionRow } from "../formats/predictions.ts";
import { type Row, taskLabel } from "./rows.ts";
import { type SpeakerInterval, SpeakerIntervals, testSetOf } from "./speaker_intervals.ts";

export const NOT_EVIDENCE = "not evidence";
export const EVIDENCE = "evidence";

/** The words under every greyed chart and marked table. */
export const NOT_EVIDENCE_NOTE = "grey = not evidence: the task's reference F1 on u is not above the " +
  "label-permuted chance level and the majority-class baseline, so ΔF1 there measures noise";

/** The key of a row's setting: the rows sharing one reference probe. */
export function settingKey(r: Row): string {
  return [r.dataset, r.task, r.codec, r.pooling ?? "", r.probe_protocol ?? "", testSetOf(r)].join("|");
}

export interface ReferenceValidity {
  dataset: string;
  task: string;
  codec: string;
  row: Row;
  f1: number;
  /** The reference F1's 95 % interval: over test speakers (× seeds) with predictions, else the run's own. */
  low: number | null;
  high: number | null;
  interval: string;
  chance: number | null;
  chanceLow: number | null;
  chanceHigh: number | null;
  /** Macro-F1 of always answering the probe-training majority class on the test recordings. */
  majority: number | null;
  /** The reference's interval lies above the chance range / the majority baseline; null = not measured. */
  aboveChance: boolean | null;
  aboveMajority: boolean | null;
  /** False only when a measured check failed. */
  evidence: boolean;
  /** Recordings per class: [class 0, class 1], null where the run did not record them. */
  train: [number, number] | null;
  test: [number, number] | null;
  /** Total recordings (the older results columns), when per-class counts are absent. */
  nTrain: number | null;
  nTest: number | null;
  speakers: number | null;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The reference validity of every setting in the rows (first u row of each setting). */
export function referenceValidities(
  rows: Row[],
  intervals: SpeakerIntervals | null,
): Map<string, ReferenceValidity> {
  const bySetting = new Map<string, Row[]>();
  for (const r of rows) {
    if (r.feature !== "u") continue;
    const k = settingKey(r);
    bySetting.set(k, [...(bySetting.get(k) ?? []), r]);
  }
  const out = new Map<string, ReferenceValidity>();
  for (const [key, us] of bySetting) {
    const r = us[0];
    const iv: SpeakerInterval | null = intervals?.contrast(us, [], { f1: true }) ?? null;
    const low = iv ? iv.low : num(r.f1_ref_low), high = iv ? iv.high : num(r.f1_ref_high);
    const chance = num(r.chance_f1), chanceLow = num(r.chance_f1_low), chanceHigh = num(r.chance_f1_high);
    const majority = num(r.majority_f1);
    const aboveChance = low !== null && chanceHigh !== null
      ? low > chanceHigh
      : typeof r.ref_above_chance === "boolean"
      ? r.ref_above_chance
      : null;
    const aboveMajority = low !== null && majority !== null ? low > majority : null;
    const pair = (a: unknown, b: unknown): [number, number] | null =>
      num(a) !== null && num(b) !== null ? [num(a)!, num(b)!] : null;
    // Column names: class 1 is the task's "positive" class (UK, Non-US-UK), class 0 the other (US).
    let test = pair(r.n_test_neg, r.n_test_pos);
    const labels = intervals?.labelCounts(r);
    if (!test && labels) test = labels;
    out.set(key, {
      dataset: String(r.dataset),
      task: String(r.task),
      codec: String(r.codec),
      row: r,
      f1: r.f1 as number,
      low,
      high,
      interval: iv
        ? iv.method
        : low !== null
        ? "bootstrap over test recordings (speakers not resampled)"
        : "none",
      chance,
      chanceLow,
      chanceHigh,
      majority,
      aboveChance,
      aboveMajority,
      evidence: aboveChance !== false && aboveMajority !== false,
      train: pair(r.n_train_neg, r.n_train_pos),
      test,
      nTrain: num(r.n_probe_train),
      nTest: num(r.n_test),
      speakers: iv ? iv.speakers : null,
    });
  }
  return out;
}

/** The evidence flag of a row's setting: "not evidence" when its reference failed a measured check. */
export function evidenceFlag(validity: Map<string, ReferenceValidity>, r: Row): string {
  return validity.get(settingKey(r))?.evidence === false ? NOT_EVIDENCE : EVIDENCE;
}

/** The names of a task's classes 0 and 1: the accent tasks' own, else "class 0" / "class 1". */
export function taskClasses(task: string): [string, string] {
  return TASKS[task as keyof typeof TASKS]?.classes ?? ["class 0", "class 1"];
}

/** "probe training 67 (US 29 / UK 38), test 137 (US 60 / UK 77)" — the recordings behind a setting. */
export function sizesText(v: ReferenceValidity): string {
  const classes = taskClasses(v.task);
  const part = (what: string, perClass: [number, number] | null, total: number | null) =>
    perClass
      ? `${what} ${perClass[0] + perClass[1]} (${classes[0]} ${perClass[0]} / ${classes[1]} ${perClass[1]})`
      : total !== null
      ? `${what} ${total}`
      : `${what} ?`;
  return `${part("probe training", v.train, v.nTrain)}, ${part("test", v.test, v.nTest)}` +
    (v.speakers !== null ? ` from ${v.speakers} speakers` : "");
}

/** One sentence naming the recordings behind each task of a table (n with every table). */
export function sizesNote(validity: Map<string, ReferenceValidity>): string {
  const seen = new Map<string, string>();
  for (const v of validity.values()) {
    const what = `${v.dataset} · ${taskLabel(v.task)}`;
    const text = sizesText(v);
    const prev = seen.get(what);
    if (prev === undefined) seen.set(what, text);
    else if (prev !== text) seen.set(what, `${prev}; ${v.codec}: ${text}`);
  }
  return "n (recordings): " + [...seen].map(([k, t]) => `${k}: ${t}`).join(". ") + ".";
}

/**
 * Whether a row's probe answers a single class on the test recordings: the results column
 * `predicts_one_class` when present, else its predictions; null when neither says.
 */
export function answersOneClass(r: Row, intervals: SpeakerIntervals | null): boolean | null {
  if (typeof r.predicts_one_class === "boolean") return r.predicts_one_class;
  return intervals?.oneClass(r) ?? null;
}

/** What the validity checks and intervals of a run are computed from. */
export interface EvidenceSource {
  results: pl.DataFrame;
  /** The run's predictions table (null: results from before predictions were saved). */
  predictions?: readonly PredictionRow[] | null;
}

/** A run's rows with their intervals over test speakers and the reference validity of every setting. */
export interface Evidence {
  rows: Row[];
  /** Null without predictions: intervals fall back to seeds (or the run's own columns). */
  intervals: SpeakerIntervals | null;
  validity: Map<string, ReferenceValidity>;
}

const cache = new WeakMap<pl.DataFrame, WeakMap<object, Evidence>>();
const NO_PREDICTIONS = {};

/**
 * The evidence of a results table (a DataFrame alone: no predictions), computed once per (results,
 * predictions) pair and shared by every chart and table that asks, so their intervals use the same draws.
 */
export function evidenceOf(input: pl.DataFrame | EvidenceSource): Evidence {
  // A DataFrame has toRecords; a results bundle (or { results, predictions }) does not.
  const src: EvidenceSource = typeof (input as pl.DataFrame).toRecords === "function"
    ? { results: input as pl.DataFrame }
    : input as EvidenceSource;
  const preds = src.predictions ?? null;
  let inner = cache.get(src.results);
  if (!inner) cache.set(src.results, inner = new WeakMap());
  const key = preds ?? NO_PREDICTIONS;
  let ev = inner.get(key);
  if (!ev) {
    const rows = src.results.toRecords() as Row[];
    const intervals = preds && preds.length > 0 ? new SpeakerIntervals(rows, preds) : null;
    ev = { rows, intervals: intervals && !intervals.empty ? intervals : null, validity: new Map() };
    ev.validity = referenceValidities(rows, ev.intervals);
    inner.set(key, ev);
  }
  return ev;
}
