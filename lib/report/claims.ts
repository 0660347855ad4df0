/**
 * The paper's three claims, evaluated on a run's results table with intervals, and the validity checks that
 * go with them. Each claim is a contrast D (in ΔF1 percentage points) whose sign is the claim:
 *
 *   (1) sparsity trend (Sec. 4.1): D = mean ΔF1(z) at s ≥ 25 % − mean ΔF1(z) at s = 5 %; the paper: D > 0.
 *   (2) position vs magnitude (Sec. 4.2, at s = 5 %): D = ΔF1(z_mag) − ΔF1(z_pos); the paper: D > 0 for
 *       acoustic codecs (magnitude loses less), D < 0 for phonetic ones (position loses less).
 *   (3) bitrate (Sec. 4.3): D = mean ΔF1(z) at the lowest bitrate − at the highest of a codec family; D > 0.
 *
 * The interval of D is a 95 % t-interval over replicates: the seeds when the run has several (D computed per
 * seed, configurations averaged within it), else the configurations the contrast is paired over (q; for
 * bitrate, (q, s)) — said in `replicates`. Verdict: "holds" when the interval lies on the claimed side of 0,
 * "does not hold" when it lies on the other side, "inconclusive" when it contains 0 (or there is one
 * replicate). Caveats name cells with untrained SAEs and references not clearly above chance.
 */
import pl from "nodejs-polars";
import { seedInterval } from "../common/stats.ts";
import { distinct, orderCodecs, records, type Row, taskLabel, where } from "../plots/mod.ts";

export type Verdict = "holds" | "does not hold" | "inconclusive";

/** How each codec family is oriented (paper Sec. 4.2); Lyra v2 is not in the paper: SoundStream-type. */
export const CODEC_ORIENTATION: Record<string, "acoustic" | "phonetic"> = {
  encodec: "acoustic",
  dac: "acoustic",
  lyra: "acoustic",
  mimi: "phonetic",
  speechtokenizer: "phonetic",
};

export interface ClaimRow {
  claim: string;
  dataset: string;
  /** Pooling and probe protocol of the rows ("mean, split" = the paper's). */
  protocol: string;
  task: string;
  /** A codec id, or a family with its bitrates for the bitrate claim. */
  codec: string;
  /** What D is and the side of 0 the paper claims. */
  contrast: string;
  d_pct: number;
  low_pct: number;
  high_pct: number;
  replicates: string;
  verdict: Verdict;
  /** The means behind D. */
  numbers: string;
  /** Untrained SAEs among the cells used, references not clearly above chance. */
  caveats: string;
}

/**
 * Which protocol produced a row, in words: pooling and probe protocol ("mean, split" = the paper's; results
 * written before these columns existed are the paper's).
 */
export function protocolLabel(r: Row): string {
  if (typeof r.pooling !== "string") return "mean, split";
  return `${r.pooling}, ${r.probe_protocol === "kfold" ? `${r.probe_folds}-fold` : "split"}`;
}

/** Rows per (dataset, task, protocol), in first-seen protocol order. */
function settings(rows: Row[]): { dataset: string; task: string; protocol: string; rows: Row[] }[] {
  const out: { dataset: string; task: string; protocol: string; rows: Row[] }[] = [];
  for (const dataset of distinct<string>(rows, "dataset")) {
    for (const task of distinct<string>(where(rows, { dataset }), "task")) {
      const setting = where(rows, { dataset, task });
      const protocols = [...new Set(setting.map(protocolLabel))];
      for (const protocol of protocols) {
        out.push({ dataset, task, protocol, rows: setting.filter((r) => protocolLabel(r) === protocol) });
      }
    }
  }
  return out;
}

const pct = (x: number) => Math.round(x * 10000) / 100;
const fmt = (x: number) => (x >= 0 ? "+" : "") + pct(x).toFixed(2);

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * D per replicate: A's and B's ΔF1 means per seed (≥ 2 seeds), else per pairing key (configurations present
 * on both sides).
 */
function contrast(
  a: Row[],
  b: Row[],
  pairBy: string[],
): { values: number[]; replicates: string; meanA: number; meanB: number } | null {
  const seeds = distinct<number>([...a, ...b], "seed");
  const key = (r: Row, fields: string[]) => fields.map((f) => String(r[f])).join("|");
  const byKey = (rows: Row[], fields: string[]) => {
    const m = new Map<string, number[]>();
    for (const r of rows) m.set(key(r, fields), [...(m.get(key(r, fields)) ?? []), r.delta_f1 as number]);
    return m;
  };
  let values: number[];
  let replicates: string;
  if (seeds.length >= 2) {
    const ma = byKey(a, ["seed"]), mb = byKey(b, ["seed"]);
    const common = seeds.map(String).filter((s) => ma.has(s) && mb.has(s));
    values = common.map((s) => mean(ma.get(s)!) - mean(mb.get(s)!));
    replicates = `${values.length} seeds`;
  } else {
    const ma = byKey(a, pairBy), mb = byKey(b, pairBy);
    const common = [...ma.keys()].filter((k) => mb.has(k));
    values = common.map((k) => mean(ma.get(k)!) - mean(mb.get(k)!));
    replicates = `${values.length} ${pairBy.join("×")} values (one seed)`;
  }
  if (values.length === 0) return null;
  return {
    values,
    replicates,
    meanA: mean(a.map((r) => r.delta_f1 as number)),
    meanB: mean(b.map((r) => r.delta_f1 as number)),
  };
}

function verdictOf(low: number, high: number, n: number, sign: 1 | -1): Verdict {
  if (n < 2) return "inconclusive";
  const [lo, hi] = sign > 0 ? [low, high] : [-high, -low];
  if (lo > 0) return "holds";
  if (hi < 0) return "does not hold";
  return "inconclusive";
}

/** Caveats of a set of rows: cells whose SAE is not trained, codecs whose reference is not above chance. */
function caveats(rows: Row[]): string {
  const out: string[] = [];
  if (rows.some((r) => typeof r.sae_trained === "boolean")) {
    const cells = new Map<string, boolean>();
    for (const r of rows) cells.set(`${r.codec}|${r.q}|${r.s}|${r.seed}`, r.sae_trained === true);
    const bad = [...cells.values()].filter((t) => !t).length;
    if (bad > 0) out.push(`${bad} of ${cells.size} cells with untrained SAEs`);
  }
  const weak = distinct<string>(rows.filter((r) => r.ref_above_chance === false), "codec");
  if (weak.length > 0) out.push(`reference F1 not clearly above chance: ${weak.join(", ")}`);
  return out.join("; ");
}

function claimRow(
  base: Omit<ClaimRow, "d_pct" | "low_pct" | "high_pct" | "replicates" | "verdict" | "numbers" | "caveats">,
  a: Row[],
  b: Row[],
  pairBy: string[],
  sign: 1 | -1,
  numbers: (meanA: number, meanB: number) => string,
): ClaimRow | null {
  const c = contrast(a, b, pairBy);
  if (!c) return null;
  const iv = seedInterval(c.values);
  const [low, high] = c.values.length < 2 ? [NaN, NaN] : [iv.low, iv.high];
  return {
    ...base,
    d_pct: pct(iv.mean),
    low_pct: pct(low),
    high_pct: pct(high),
    replicates: c.replicates,
    verdict: verdictOf(low, high, c.values.length, sign),
    numbers: numbers(c.meanA, c.meanB),
    caveats: caveats([...a, ...b]),
  };
}

/** The claims table of a results table: one row per (claim, dataset, task, codec or family). */
export function paperClaims(results: pl.DataFrame): ClaimRow[] {
  const rows = records(
    results,
    ["dataset", "codec", "task", "q", "s", "seed", "feature", "delta_f1"],
    "results",
  )
    .filter((r) => r.feature !== "u" && typeof r.delta_f1 === "number");
  const out: ClaimRow[] = [];
  const push = (r: ClaimRow | null) => r && out.push(r);
  for (const { dataset, task, protocol, rows: setting } of settings(rows)) {
    const codecs = orderCodecs(setting);
    const infoOf = new Map(setting.map((r) => [r.codec as string, r]));
    const familyOf = (codec: string) => infoOf.get(codec)!.codec_family as string;
    const bitrateOf = (codec: string) => infoOf.get(codec)!.bitrate_kbps as number | null;
    for (const codec of codecs) {
      const z = where(setting, { codec, feature: "z" });
      push(claimRow(
        {
          claim: "(1) sparsity trend",
          dataset,
          protocol,
          task: taskLabel(task),
          codec,
          contrast: "ΔF1(s ≥ 25 %) − ΔF1(s = 5 %) > 0",
        },
        z.filter((r) => (r.s as number) >= 0.25 - 1e-9),
        where(z, { s: 0.05 }),
        ["q"],
        1,
        (hi, lo) => `s = 5 %: ${fmt(lo)}; s ≥ 25 %: ${fmt(hi)}`,
      ));
    }
    for (const codec of codecs) {
      const family = familyOf(codec);
      const orientation = CODEC_ORIENTATION[family];
      if (!orientation) continue;
      const at5 = where(setting, { codec, s: 0.05 });
      push(claimRow(
        {
          claim: "(2) position vs magnitude",
          dataset,
          protocol,
          task: taskLabel(task),
          codec,
          contrast:
            `ΔF1(z_mag) − ΔF1(z_pos) at s = 5 % ${
              orientation === "acoustic" ? "> 0" : "< 0"
            } (${orientation}` +
            `${family === "lyra" ? ", assumed: not in the paper" : ""})`,
        },
        where(at5, { feature: "z_mag" }),
        where(at5, { feature: "z_pos" }),
        ["q"],
        orientation === "acoustic" ? 1 : -1,
        (mag, pos) =>
          `z_pos ${fmt(pos)}, z_mag ${fmt(mag)}: ${mag > pos ? "magnitude" : "position"} loses less`,
      ));
    }
    const families = new Map<string, string[]>();
    for (const codec of codecs) {
      if (typeof bitrateOf(codec) === "number") {
        families.set(familyOf(codec), [...(families.get(familyOf(codec)) ?? []), codec]);
      }
    }
    for (const [family, variants] of families) {
      if (variants.length < 2) continue;
      const [low, high] = [variants[0], variants[variants.length - 1]];
      const z = where(setting, { feature: "z" });
      const means = variants.map((c) =>
        `${c} ${fmt(mean(where(z, { codec: c }).map((r) => r.delta_f1 as number)))}`
      );
      push(claimRow(
        {
          claim: "(3) bitrate",
          dataset,
          protocol,
          task: taskLabel(task),
          codec: `${family} (${variants.map(bitrateOf).join(" / ")} kbps)`,
          contrast: `ΔF1(${low}) − ΔF1(${high}) > 0`,
        },
        where(z, { codec: low }),
        where(z, { codec: high }),
        ["q", "s"],
        1,
        () => means.join("; "),
      ));
    }
  }
  return out;
}

/**
 * The claims table as a DataFrame (report, notebooks), D and its interval in percentage points; `claim`
 * keeps one of the three (notebooks 04, 05, 06 each show their own).
 */
export function claimsTable(results: pl.DataFrame, opts: { claim?: 1 | 2 | 3 } = {}): pl.DataFrame {
  const rows = paperClaims(results).filter((r) =>
    opts.claim === undefined || r.claim.startsWith(`(${opts.claim})`)
  );
  const col = (k: keyof ClaimRow) => rows.map((r) => r[k]);
  const num = (k: keyof ClaimRow) =>
    pl.Series(k, col(k).map((v) => (Number.isFinite(v) ? v : null)), pl.Float64);
  const text = (k: keyof ClaimRow) => pl.Series(k, col(k), pl.Utf8);
  return pl.DataFrame([
    text("claim"),
    text("dataset"),
    text("protocol"),
    text("task"),
    text("codec"),
    text("contrast"),
    num("d_pct"),
    num("low_pct"),
    num("high_pct"),
    text("replicates"),
    text("verdict"),
    text("numbers"),
    text("caveats"),
  ]);
}

/**
 * Differences of mean ΔF1(z) between codecs (per dataset, task, pair of codecs), with the same replicates and
 * interval as the claims: a pair whose interval contains 0 is flagged "within intervals" — its ranking is not
 * supported by these results.
 */
export function codecDifferences(results: pl.DataFrame): pl.DataFrame {
  const rows = records(
    results,
    ["dataset", "codec", "task", "q", "s", "seed", "feature", "delta_f1"],
    "results",
  )
    .filter((r) => r.feature === "z" && typeof r.delta_f1 === "number");
  const out: Row[] = [];
  for (const { dataset, task, protocol, rows: setting } of settings(rows)) {
    const codecs = orderCodecs(setting);
    for (let i = 0; i < codecs.length; i++) {
      for (let j = i + 1; j < codecs.length; j++) {
        const c = contrast(where(setting, { codec: codecs[i] }), where(setting, { codec: codecs[j] }), [
          "q",
          "s",
        ]);
        if (!c) continue;
        const iv = seedInterval(c.values);
        const ok = c.values.length >= 2;
        out.push({
          dataset,
          protocol,
          task: taskLabel(task),
          codec_a: codecs[i],
          codec_b: codecs[j],
          delta_f1_a_pct: pct(c.meanA),
          delta_f1_b_pct: pct(c.meanB),
          difference_pct: pct(iv.mean),
          low_pct: ok ? pct(iv.low) : null,
          high_pct: ok ? pct(iv.high) : null,
          replicates: c.replicates,
          reading: !ok || (iv.low <= 0 && iv.high >= 0)
            ? "within intervals: not distinguishable"
            : iv.low > 0
            ? `${codecs[i]} higher`
            : `${codecs[j]} higher`,
        });
      }
    }
  }
  const str = (k: string) => pl.Series(k, out.map((r) => r[k]), pl.Utf8);
  const num = (k: string) => pl.Series(k, out.map((r) => r[k]), pl.Float64);
  return pl.DataFrame([
    str("dataset"),
    str("protocol"),
    str("task"),
    str("codec_a"),
    str("codec_b"),
    num("delta_f1_a_pct"),
    num("delta_f1_b_pct"),
    num("difference_pct"),
    num("low_pct"),
    num("high_pct"),
    str("replicates"),
    str("reading"),
  ]);
}

/**
 * Table 1 with its validity: per (dataset, task, codec) the reference F1 on u with its bootstrap interval, the
 * label-permuted chance level with its range, and whether the reference is clearly above chance (its interval
 * lies above the chance range). Runs written before these columns existed show nulls.
 */
export function referenceValidity(results: pl.DataFrame): pl.DataFrame {
  const rows = records(results, ["dataset", "codec", "task", "feature", "f1"], "results")
    .filter((r) => r.feature === "u");
  const seen = new Map<string, Row>();
  for (const r of rows) {
    const k = `${r.dataset}|${r.task}|${r.codec}|${r.pooling}|${r.probe_protocol}`;
    if (!seen.has(k)) seen.set(k, r);
  }
  const list = [...seen.values()];
  const get = (k: string, scale = 100) =>
    list.map((r) => (typeof r[k] === "number" ? Math.round((r[k] as number) * scale * 100) / 100 : null));
  const protocol = list.map(protocolLabel);
  return pl.DataFrame([
    pl.Series("dataset", list.map((r) => r.dataset), pl.Utf8),
    pl.Series("task", list.map((r) => taskLabel(r.task as string)), pl.Utf8),
    pl.Series("codec", list.map((r) => r.codec), pl.Utf8),
    pl.Series("protocol", protocol, pl.Utf8),
    pl.Series("f1_ref_pct", get("f1"), pl.Float64),
    pl.Series("low_pct", get("f1_ref_low"), pl.Float64),
    pl.Series("high_pct", get("f1_ref_high"), pl.Float64),
    pl.Series("chance_pct", get("chance_f1"), pl.Float64),
    pl.Series("chance_low_pct", get("chance_f1_low"), pl.Float64),
    pl.Series("chance_high_pct", get("chance_f1_high"), pl.Float64),
    pl.Series(
      "above_chance",
      list.map((
        r,
      ) => (typeof r.ref_above_chance === "boolean" ? (r.ref_above_chance ? "yes" : "NO") : "unknown")),
      pl.Utf8,
    ),
  ]);
}
