/**
 * Row-level helpers shared by the chart builders and the report tables: results DataFrame → plain records,
 * display labels, codec ordering, and seed aggregation (mean with a 95 % t interval).
 */
import type pl from "nodejs-polars";
import { seedInterval } from "../common/stats.ts";

export type Row = Record<string, unknown>;

/** The paper's two binary accent tasks, as they are named in the results table. */
export const TASK_LABELS: Record<string, string> = {
  "us-vs-uk": "US vs UK",
  "us-vs-non-us-uk": "US vs Non-US-UK",
};

export const FEATURE_LABELS: Record<string, string> = {
  u: "u (reference)",
  z: "z (full)",
  z_pos: "position (z_pos)",
  z_mag: "magnitude (z_mag)",
};

export function taskLabel(task: string): string {
  return TASK_LABELS[task] ?? task;
}

/** Plain records of a DataFrame; fails with the missing column names when the frame lacks expected ones. */
export function records(df: pl.DataFrame, required: string[], what: string): Row[] {
  const missing = required.filter((c) => !df.columns.includes(c));
  if (missing.length > 0) {
    throw new Error(`${what}: missing column(s) ${missing.join(", ")} (has: ${df.columns.join(", ")})`);
  }
  return df.toRecords() as Row[];
}

/** Keeps rows whose listed fields equal the given values (undefined = no constraint). */
export function where(rows: Row[], eq: Record<string, unknown>): Row[] {
  const keys = Object.entries(eq).filter(([, v]) => v !== undefined);
  return rows.filter((r) => keys.every(([k, v]) => sameValue(r[k], v)));
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") return Math.abs(a - b) < 1e-9;
  return a === b;
}

/** Sorted distinct values of a field (numbers numerically, strings alphabetically). */
export function distinct<T = unknown>(rows: Row[], field: string): T[] {
  const set = new Set<unknown>();
  for (const r of rows) if (r[field] !== null && r[field] !== undefined) set.add(r[field]);
  return [...set].sort((a, b) =>
    typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b))
  ) as T[];
}

/**
 * The distinct codecs of result rows, ordered by family, then bitrate (the results columns `codec_family`,
 * `bitrate_kbps`), then id: bitrate variants sit together, lowest first.
 */
export function orderCodecs(rows: Row[]): string[] {
  const info = new Map<string, { family: string; bitrate: number }>();
  for (const r of rows) {
    const codec = r.codec as string;
    if (info.has(codec)) continue;
    if (typeof r.codec_family !== "string") {
      throw new Error(
        `codec '${codec}': the rows have no codec_family (results written before it; rerun the grid)`,
      );
    }
    info.set(codec, { family: r.codec_family, bitrate: (r.bitrate_kbps as number | null) ?? 0 });
  }
  return [...info.keys()].sort((a, b) => {
    const pa = info.get(a)!, pb = info.get(b)!;
    if (pa.family !== pb.family) return pa.family.localeCompare(pb.family);
    return pa.bitrate - pb.bitrate || a.localeCompare(b);
  });
}

export interface Interval {
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

/** Mean and 95 % t-interval of the finite values (the experiment stage's `seedInterval`); none gives NaNs. */
export function meanInterval(values: number[]): Interval {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return { mean: NaN, lo: NaN, hi: NaN, n: 0 };
  const iv = seedInterval(v);
  return { mean: iv.mean, lo: iv.low, hi: iv.high, n: iv.n };
}

/** Groups rows by the listed fields (in first-seen order). */
export function groupBy(rows: Row[], fields: string[]): { key: Row; rows: Row[] }[] {
  const groups = new Map<string, { key: Row; rows: Row[] }>();
  for (const r of rows) {
    const key: Row = {};
    for (const f of fields) key[f] = r[f];
    const id = JSON.stringify(fields.map((f) => r[f]));
    let g = groups.get(id);
    if (!g) groups.set(id, g = { key, rows: [] });
    g.rows.push(r);
  }
  return [...groups.values()];
}

/** Mean over the finite numbers of a field; NaN when there are none. */
export function meanOf(rows: Row[], field: string): number {
  return meanInterval(rows.map((r) => r[field] as number)).mean;
}

/** Rounds for display (keeps NaN → null so JSON/DataFrames show a gap, not "NaN"). */
export function round(x: number, digits = 2): number | null {
  if (!Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
