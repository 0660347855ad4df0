/**
 * Intervals over test speakers for results rows, from the run's predictions table: the link between a results
 * row (cell_key, feature, seed) and its probe's predictions, its reference probe on u, and the test set whose
 * speakers are resampled (lib/common/speaker_bootstrap.ts holds the scheme). One bootstrap per (dataset, task,
 * test set): every row scored on those speakers shares its draws, so every contrast between them is paired.
 * Charts, the claims table and the report's findings all read their intervals from one instance.
 */
import {
  type ContrastTerm,
  type ScoredRecording,
  SpeakerBootstrap,
  type SpeakerInterval,
} from "../common/speaker_bootstrap.ts";
import type { PredictionRow } from "../formats/predictions.ts";
import type { Row } from "./rows.ts";

export type { SpeakerInterval };

/**
 * Which test set a row was scored on: the results column `test_set` ("split:test", "external:<file>");
 * results from before that column scored the manifest's test split.
 */
export function testSetOf(r: Row): string {
  return typeof r.test_set === "string" && r.test_set !== "" ? r.test_set : "split:test";
}

const unitOf = (r: Row) => `${r.cell_key}|${r.feature}`;
const groupOf = (r: Row) => `${r.dataset}|${r.task}|${testSetOf(r)}`;
const settingOf = (r: Row) =>
  [r.dataset, r.task, r.codec, r.pooling ?? "", r.probe_protocol ?? "", testSetOf(r)].join("|");

export interface SpeakerIntervalOptions {
  resamples?: number;
  seed?: number;
}

export class SpeakerIntervals {
  private readonly boots = new Map<string, SpeakerBootstrap>();
  /** The reference probe's unit of every setting (dataset, task, codec, protocol, test set). */
  private readonly refUnit = new Map<string, string>();
  /** Probes (cell_key|feature) whose F1 in the results differs from the F1 of their predictions. */
  readonly mismatched: string[] = [];
  /** Predictions rows whose probe is in no results row (a stale or foreign predictions table). */
  readonly unmatchedRows: number;
  /** Per probe: test recordings per true class, and the classes it predicted (bit 0: class 0, bit 1: class 1). */
  private readonly labels = new Map<string, [number, number]>();
  private readonly predictedClasses = new Map<string, number>();

  constructor(rows: Row[], predictions: readonly PredictionRow[], opts: SpeakerIntervalOptions = {}) {
    const byUnit = new Map<string, ScoredRecording[]>();
    for (const p of predictions) {
      const u = `${p.cell_key}|${p.feature}`;
      let list = byUnit.get(u);
      if (!list) byUnit.set(u, list = []);
      list.push(p);
      const l = this.labels.get(u) ?? [0, 0];
      l[p.label]++;
      this.labels.set(u, l);
      this.predictedClasses.set(u, (this.predictedClasses.get(u) ?? 0) | (1 << p.predicted));
    }
    const grouped = new Map<string, Map<string, ScoredRecording[]>>();
    const f1OfUnit = new Map<string, number>();
    let matched = 0;
    for (const r of rows) {
      if (r.feature === "u") this.refUnit.set(settingOf(r), unitOf(r));
      const u = unitOf(r), recs = byUnit.get(u);
      if (!recs) continue;
      let g = grouped.get(groupOf(r));
      if (!g) grouped.set(groupOf(r), g = new Map());
      if (!g.has(u)) matched += recs.length;
      g.set(u, recs);
      // k-fold rows may average F1 over folds rather than pool the out-of-fold predictions: not comparable.
      if (typeof r.f1 === "number" && r.probe_protocol !== "kfold") f1OfUnit.set(u, r.f1);
    }
    this.unmatchedRows = predictions.length - matched;
    for (const [key, units] of grouped) {
      const boot = new SpeakerBootstrap(units, opts);
      this.boots.set(key, boot);
      for (const u of units.keys()) {
        const f1 = f1OfUnit.get(u);
        if (f1 !== undefined && Math.abs(boot.f1(u) - f1) > 1e-6) this.mismatched.push(u);
      }
    }
  }

  /** Whether any row has predictions. */
  get empty(): boolean {
    return this.boots.size === 0;
  }

  /** Test recordings per class [class 0, class 1] of a row's probe; null without predictions. */
  labelCounts(r: Row): [number, number] | null {
    return this.labels.get(unitOf(r)) ?? null;
  }

  /** Whether a row's probe predicted one class for every test recording; null without predictions. */
  oneClass(r: Row): boolean | null {
    const c = this.predictedClasses.get(unitOf(r));
    return c === undefined ? null : c !== 3;
  }

  private term(r: Row, withRef: boolean): ContrastTerm {
    const ref = withRef && r.feature !== "u" ? this.refUnit.get(settingOf(r)) : undefined;
    if (withRef && r.feature !== "u" && ref === undefined) {
      throw new Error(`no reference (u) row for ${r.dataset} / ${r.task} / ${r.codec}`);
    }
    return { unit: unitOf(r), ref, seed: r.seed as number };
  }

  /**
   * The interval of D = mean over A of ΔF1 − mean over B of ΔF1 (F1 instead of ΔF1 with `f1`), seeds combined
   * by the two-stage scheme; null when a row lacks predictions or the rows span several test sets.
   */
  contrast(a: Row[], b: Row[] = [], opts: { f1?: boolean } = {}): SpeakerInterval | null {
    const all = [...a, ...b];
    if (all.length === 0) return null;
    const groups = new Set(all.map(groupOf));
    if (groups.size !== 1) return null;
    const boot = this.boots.get([...groups][0]);
    if (!boot) return null;
    const withRef = !opts.f1;
    const ta = a.map((r) => this.term(r, withRef)), tb = b.map((r) => this.term(r, withRef));
    for (const t of [...ta, ...tb]) {
      if (!boot.has(t.unit) || (t.ref !== undefined && !boot.has(t.ref))) return null;
    }
    // The reference rows repeat per seed under one probe: one term per (probe, seed) is enough.
    const dedupe = (ts: ContrastTerm[]) => [...new Map(ts.map((t) => [`${t.unit}|${t.seed}`, t])).values()];
    return boot.contrast({ a: dedupe(ta), b: tb.length ? dedupe(tb) : undefined });
  }
}
