/**
 * The paper's three claims, evaluated on a run's results table with intervals, and the validity checks that
 * go with them. Each claim is a contrast D (in ΔF1 percentage points) whose sign is the claim:
 *
 *   (1) sparsity trend (Sec. 4.1): D = mean ΔF1(z) at s ≥ 25 % − mean ΔF1(z) at s = 5 %; the paper: D > 0.
 *   (2) position vs magnitude (Sec. 4.2, at s = 5 %): D = ΔF1(z_mag) − ΔF1(z_pos); the paper: D > 0 for
 *       acoustic codecs (magnitude loses less), D < 0 for phonetic ones (position loses less).
 *   (3) bitrate (Sec. 4.3): D = mean ΔF1(z) at the lowest bitrate − at the highest of a codec family; D > 0.
 *
 * The interval of D (95 %), named in the `method` column:
 *   - with the run's predictions: a paired two-stage bootstrap — test speakers resampled with all their
 *     recordings (one draw for every probe in the contrast, the reference included), then seeds when there
 *     are several (lib/common/speaker_bootstrap.ts). This is the interval a verdict needs: every probe is
 *     scored on the same test speakers, and which speakers those are is the largest source of error.
 *   - without predictions (results written before they were saved): the old t-interval over replicates —
 *     the seeds when there are several, else the configurations it is paired over (one seed) — which
 *     ignores which speakers are in the test set; the method says so.
 * Verdict: "holds" when the interval lies on the claimed side of 0, "does not hold" when it lies on the other
 * side, "inconclusive" when it contains 0. `to_flip_pp` is the distance from the interval's nearer end to 0:
 * how far the interval would have to move for the verdict to change. Caveats name untrained SAEs, references
 * not above chance or the majority baseline (then the claim is not evidence) and probes answering one class.
 */
import pl from "nodejs-polars";
import { seedInterval } from "../common/stats.ts";
import {
  answersOneClass,
  distinct,
  type Evidence,
  evidenceOf,
  type EvidenceSource,
  orderCodecs,
  type Row,
  settingKey,
  sizesText,
  taskClasses,
  taskLabel,
  testSetOf,
  where,
} from "../plots/mod.ts";

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
  /** The test set the rows were scored on. */
  test_set: string;
  task: string;
  /** A codec id, or a family with its bitrates for the bitrate claim. */
  codec: string;
  /** What D is and the side of 0 the paper claims. */
  contrast: string;
  d_pct: number;
  low_pct: number;
  high_pct: number;
  /** Distance (pp) from the interval's nearer end to 0: how far it would move before the verdict changes. */
  to_flip_pp: number;
  verdict: Verdict;
  /** How the interval was computed (speakers × seeds, or the seed-only fallback and why). */
  method: string;
  /** The means behind D. */
  numbers: string;
  /** Recordings behind the claim: probe training and test, per class. */
  n: string;
  /** Untrained SAEs, references not above chance or the majority baseline, probes answering one class. */
  caveats: string;
}

/** The suffix of a frame-level SAE's protocol label: its claims are a setting of their own. */
export const FRAME_LEVEL = ", frame-level SAE";

/**
 * Which protocol produced a row, in words: pooling and probe protocol ("mean, split" = the paper's; results
 * written before these columns existed are the paper's), and ", frame-level SAE" when the SAE was fit on
 * frames (the reference on u of such a row is the protocol's without the suffix: `referenceProtocol`).
 */
export function protocolLabel(r: Row): string {
  const frames = r.sae_input === "frames" ? FRAME_LEVEL : "";
  if (typeof r.pooling !== "string") return `mean, split${frames}`;
  const probe = r.probe_protocol === "kfold"
    ? `${r.probe_folds}-fold`
    : r.probe_protocol === "dev"
    ? "dev"
    : "split";
  return `${r.pooling}, ${probe}${frames}`;
}

/** The protocol label of the reference probes (on u) a setting's rows are compared with. */
export function referenceProtocol(protocol: string): string {
  return protocol.endsWith(FRAME_LEVEL) ? protocol.slice(0, -FRAME_LEVEL.length) : protocol;
}

export interface Setting {
  dataset: string;
  task: string;
  protocol: string;
  test_set: string;
  rows: Row[];
}

/** Rows per (dataset, task, protocol, test set), in first-seen protocol order. */
export function settings(rows: Row[]): Setting[] {
  const out: Setting[] = [];
  for (const dataset of distinct<string>(rows, "dataset")) {
    for (const task of distinct<string>(where(rows, { dataset }), "task")) {
      const setting = where(rows, { dataset, task });
      const keys = [...new Set(setting.map((r) => `${protocolLabel(r)}\u0000${testSetOf(r)}`))];
      for (const k of keys) {
        const [protocol, test_set] = k.split("\u0000");
        out.push({
          dataset,
          task,
          protocol,
          test_set,
          rows: setting.filter((r) => protocolLabel(r) === protocol && testSetOf(r) === test_set),
        });
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

export interface ContrastResult {
  d: number;
  low: number;
  high: number;
  method: string;
  /** Whether the interval can decide a verdict (the fallback needs ≥ 2 replicates). */
  decidable: boolean;
  meanA: number;
  meanB: number;
}

/**
 * D = mean ΔF1 of A − mean ΔF1 of B with its 95 % interval: over test speakers × seeds when every row has
 * predictions, else the seed-only fallback (per seed when ≥ 2 seeds, else per pairing key).
 */
export function contrastInterval(ev: Evidence, a: Row[], b: Row[], pairBy: string[]): ContrastResult | null {
  if (a.length === 0 || b.length === 0) return null;
  const meanA = mean(a.map((r) => r.delta_f1 as number)), meanB = mean(b.map((r) => r.delta_f1 as number));
  const iv = ev.intervals?.contrast(a, b) ?? null;
  if (iv) {
    return { d: iv.estimate, low: iv.low, high: iv.high, method: iv.method, decidable: true, meanA, meanB };
  }
  const seeds = distinct<number>([...a, ...b], "seed");
  const key = (r: Row, fields: string[]) => fields.map((f) => String(r[f])).join("|");
  const byKey = (rows: Row[], fields: string[]) => {
    const m = new Map<string, number[]>();
    for (const r of rows) m.set(key(r, fields), [...(m.get(key(r, fields)) ?? []), r.delta_f1 as number]);
    return m;
  };
  const fields = seeds.length >= 2 ? ["seed"] : pairBy;
  const ma = byKey(a, fields), mb = byKey(b, fields);
  const values = [...ma.keys()].filter((k) => mb.has(k)).map((k) => mean(ma.get(k)!) - mean(mb.get(k)!));
  if (values.length === 0) return null;
  const replicates = seeds.length >= 2
    ? `${values.length} seeds`
    : `${values.length} ${pairBy.join("×")} values (one seed)`;
  const t = seedInterval(values);
  const decidable = values.length >= 2;
  return {
    d: t.mean,
    low: decidable ? t.low : NaN,
    high: decidable ? t.high : NaN,
    method: `t-interval over ${replicates}; no predictions saved, so test speakers are not resampled`,
    decidable,
    meanA,
    meanB,
  };
}

function verdictOf(c: ContrastResult, sign: 1 | -1): Verdict {
  if (!c.decidable) return "inconclusive";
  const [lo, hi] = sign > 0 ? [c.low, c.high] : [-c.high, -c.low];
  if (lo > 0) return "holds";
  if (hi < 0) return "does not hold";
  return "inconclusive";
}

/** Distance (pp) from the interval's nearer end to 0; NaN without an interval. */
function toFlip(c: ContrastResult): number {
  return c.decidable ? pct(Math.min(Math.abs(c.low), Math.abs(c.high))) : NaN;
}

/**
 * Caveats of a set of rows: cells whose SAE is not trained, codecs whose reference is not above chance or the
 * majority baseline (not evidence), probes answering one class.
 */
export function caveats(ev: Evidence, rows: Row[]): string {
  const out: string[] = [];
  if (rows.some((r) => typeof r.sae_trained === "boolean")) {
    const cells = new Map<string, boolean>();
    for (const r of rows) cells.set(`${r.codec}|${r.q}|${r.s}|${r.seed}`, r.sae_trained === true);
    const bad = [...cells.values()].filter((t) => !t).length;
    if (bad > 0) out.push(`${bad} of ${cells.size} cells with untrained SAEs`);
  }
  const refs = [...new Set(rows.map(settingKey))].map((k) => ev.validity.get(k)).filter((v) => v);
  const below = refs.filter((v) => v!.aboveChance === false).map((v) => v!.codec);
  const underMajority = refs.filter((v) => v!.aboveMajority === false).map((v) => v!.codec);
  const both = below.filter((c) => underMajority.includes(c));
  const only = (xs: string[]) => xs.filter((c) => !both.includes(c));
  if (both.length > 0) {
    out.push(
      `NOT EVIDENCE: reference F1 above neither chance nor the majority baseline (${both.join(", ")})`,
    );
  }
  if (only(below).length > 0) {
    out.push(`NOT EVIDENCE: reference F1 not above chance (${only(below).join(", ")})`);
  }
  if (only(underMajority).length > 0) {
    out.push(
      `NOT EVIDENCE: reference F1 not above the majority-class baseline (${only(underMajority).join(", ")})`,
    );
  }
  const flags = rows.map((r) => answersOneClass(r, ev.intervals)).filter((v) => v !== null);
  const one = flags.filter((v) => v).length;
  if (one > 0) out.push(`${one} of ${flags.length} probes answer one class`);
  return out.join("; ");
}

/** The recordings behind rows: their settings' sizes, one text when they agree. */
function sizesOf(ev: Evidence, rows: Row[]): string {
  const texts = new Set<string>();
  for (const k of new Set(rows.map(settingKey))) {
    const v = ev.validity.get(k);
    if (v) texts.add(sizesText(v));
  }
  return [...texts].join("; ");
}

function claimRow(
  ev: Evidence,
  base: Pick<ClaimRow, "claim" | "dataset" | "protocol" | "test_set" | "task" | "codec" | "contrast">,
  a: Row[],
  b: Row[],
  pairBy: string[],
  sign: 1 | -1,
  numbers: (meanA: number, meanB: number) => string,
): ClaimRow | null {
  const c = contrastInterval(ev, a, b, pairBy);
  if (!c) return null;
  return {
    ...base,
    d_pct: pct(c.d),
    low_pct: pct(c.low),
    high_pct: pct(c.high),
    to_flip_pp: toFlip(c),
    verdict: verdictOf(c, sign),
    method: c.method,
    numbers: numbers(c.meanA, c.meanB),
    n: sizesOf(ev, [...a, ...b]),
    caveats: caveats(ev, [...a, ...b]),
  };
}

/**
 * The claims of a run: one row per (claim, dataset, task, protocol, test set, codec or family). Give the
 * results bundle (or { results, predictions }) for intervals over test speakers; a results DataFrame alone
 * gets the seed-only fallback.
 */
export function paperClaims(input: pl.DataFrame | EvidenceSource): ClaimRow[] {
  const ev = evidenceOf(input);
  const required = ["dataset", "codec", "task", "q", "s", "seed", "feature", "delta_f1"];
  const missing = required.filter((c) => !(ev.rows.length === 0 || c in ev.rows[0]));
  if (missing.length > 0) throw new Error(`results: missing column(s) ${missing.join(", ")}`);
  const rows = ev.rows.filter((r) => r.feature !== "u" && typeof r.delta_f1 === "number");
  const out: ClaimRow[] = [];
  const push = (r: ClaimRow | null) => r && out.push(r);
  for (const { dataset, task, protocol, test_set, rows: setting } of settings(rows)) {
    const codecs = orderCodecs(setting);
    const infoOf = new Map(setting.map((r) => [r.codec as string, r]));
    const familyOf = (codec: string) => infoOf.get(codec)!.codec_family as string;
    const bitrateOf = (codec: string) => infoOf.get(codec)!.bitrate_kbps as number | null;
    const base = { dataset, protocol, test_set, task: taskLabel(task) };
    for (const codec of codecs) {
      const z = where(setting, { codec, feature: "z" });
      push(claimRow(
        ev,
        { ...base, claim: "(1) sparsity trend", codec, contrast: "ΔF1(s ≥ 25 %) − ΔF1(s = 5 %) > 0" },
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
        ev,
        {
          ...base,
          claim: "(2) position vs magnitude",
          codec,
          contrast: `ΔF1(z_mag) − ΔF1(z_pos) at s = 5 % ${orientation === "acoustic" ? "> 0" : "< 0"} ` +
            `(${orientation}${family === "lyra" ? ", assumed: not in the paper" : ""})`,
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
        ev,
        {
          ...base,
          claim: "(3) bitrate",
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
 * A results table, a results bundle (results + predictions: intervals over test speakers), or several (runs
 * of the same data under other protocols, each evaluated on its own and listed together).
 */
export type ClaimsInput = pl.DataFrame | EvidenceSource | (pl.DataFrame | EvidenceSource)[];

const inputs = (input: ClaimsInput) => (Array.isArray(input) ? input : [input]);

const CLAIM_COLUMNS: [keyof ClaimRow, "str" | "num"][] = [
  ["claim", "str"],
  ["dataset", "str"],
  ["protocol", "str"],
  ["test_set", "str"],
  ["task", "str"],
  ["codec", "str"],
  ["contrast", "str"],
  ["d_pct", "num"],
  ["low_pct", "num"],
  ["high_pct", "num"],
  ["to_flip_pp", "num"],
  ["verdict", "str"],
  ["method", "str"],
  ["numbers", "str"],
  ["n", "str"],
  ["caveats", "str"],
];

/**
 * The claims table as a DataFrame (report, notebooks), D, its interval and its distance to flipping in
 * percentage points; `claim` keeps one of the three (notebooks 04, 05, 06 each show their own).
 */
export function claimsTable(
  input: ClaimsInput,
  opts: { claim?: 1 | 2 | 3 } = {},
): pl.DataFrame {
  const rows = inputs(input).flatMap(paperClaims).filter((r) =>
    opts.claim === undefined || r.claim.startsWith(`(${opts.claim})`)
  );
  return pl.DataFrame(
    CLAIM_COLUMNS.map(([k, kind]) =>
      kind === "num"
        ? pl.Series(k, rows.map((r) => (Number.isFinite(r[k]) ? r[k] : null)), pl.Float64)
        : pl.Series(k, rows.map((r) => r[k]), pl.Utf8)
    ),
  );
}

/**
 * Differences of mean ΔF1(z) between codecs (per dataset, task, protocol, test set, pair of codecs), with the
 * same intervals as the claims: a pair whose interval contains 0 is flagged "within intervals" — its ranking
 * is not supported by these results. No rows when the run has one codec per setting.
 */
export function codecDifferences(input: ClaimsInput): pl.DataFrame {
  const out: Row[] = [];
  for (const one of inputs(input)) codecPairs(evidenceOf(one), out);
  return codecDifferencesFrame(out);
}

function codecPairs(ev: Evidence, out: Row[]): void {
  const rows = ev.rows.filter((r) => r.feature === "z" && typeof r.delta_f1 === "number");
  for (const { dataset, task, protocol, test_set, rows: setting } of settings(rows)) {
    const codecs = orderCodecs(setting);
    for (let i = 0; i < codecs.length; i++) {
      for (let j = i + 1; j < codecs.length; j++) {
        const a = where(setting, { codec: codecs[i] }), b = where(setting, { codec: codecs[j] });
        const c = contrastInterval(ev, a, b, ["q", "s"]);
        if (!c) continue;
        out.push({
          dataset,
          protocol,
          test_set,
          task: taskLabel(task),
          codec_a: codecs[i],
          codec_b: codecs[j],
          delta_f1_a_pct: pct(c.meanA),
          delta_f1_b_pct: pct(c.meanB),
          difference_pct: pct(c.d),
          low_pct: c.decidable ? pct(c.low) : null,
          high_pct: c.decidable ? pct(c.high) : null,
          method: c.method,
          reading: !c.decidable || (c.low <= 0 && c.high >= 0)
            ? "within intervals: not distinguishable"
            : c.low > 0
            ? `${codecs[i]} higher`
            : `${codecs[j]} higher`,
          caveats: caveats(ev, [...a, ...b]),
        });
      }
    }
  }
}

function codecDifferencesFrame(out: Row[]): pl.DataFrame {
  const str = (k: string) => pl.Series(k, out.map((r) => r[k]), pl.Utf8);
  const num = (k: string) => pl.Series(k, out.map((r) => r[k]), pl.Float64);
  return pl.DataFrame([
    str("dataset"),
    str("protocol"),
    str("test_set"),
    str("task"),
    str("codec_a"),
    str("codec_b"),
    num("delta_f1_a_pct"),
    num("delta_f1_b_pct"),
    num("difference_pct"),
    num("low_pct"),
    num("high_pct"),
    str("method"),
    str("reading"),
    str("caveats"),
  ]);
}

/**
 * Table 1 with its validity: per (dataset, task, codec, protocol, test set) the reference F1 on u with its
 * 95 % interval (over test speakers with predictions), the label-permuted chance level with its range, the
 * majority-class baseline, whether the reference is above both (`evidence`), and the recordings per class.
 * Runs written before these columns existed show nulls ("unknown").
 */
export function referenceValidity(input: ClaimsInput): pl.DataFrame {
  const list = inputs(input).flatMap((one) => [...evidenceOf(one).validity.values()]);
  const p = (v: number | null) => (v === null ? null : pct(v));
  const flag = (b: boolean | null) => (b === null ? "unknown" : b ? "yes" : "NO");
  const classes = (i: 0 | 1, which: "train" | "test") => list.map((v) => (v[which] ? v[which]![i] : null));
  return pl.DataFrame([
    pl.Series("dataset", list.map((v) => v.dataset), pl.Utf8),
    pl.Series("task", list.map((v) => taskLabel(v.task)), pl.Utf8),
    pl.Series("codec", list.map((v) => v.codec), pl.Utf8),
    pl.Series("protocol", list.map((v) => protocolLabel(v.row)), pl.Utf8),
    pl.Series("test_set", list.map((v) => testSetOf(v.row)), pl.Utf8),
    pl.Series("f1_ref_pct", list.map((v) => pct(v.f1)), pl.Float64),
    pl.Series("low_pct", list.map((v) => p(v.low)), pl.Float64),
    pl.Series("high_pct", list.map((v) => p(v.high)), pl.Float64),
    pl.Series("chance_pct", list.map((v) => p(v.chance)), pl.Float64),
    pl.Series("chance_low_pct", list.map((v) => p(v.chanceLow)), pl.Float64),
    pl.Series("chance_high_pct", list.map((v) => p(v.chanceHigh)), pl.Float64),
    pl.Series("majority_pct", list.map((v) => p(v.majority)), pl.Float64),
    pl.Series("above_chance", list.map((v) => flag(v.aboveChance)), pl.Utf8),
    pl.Series("above_majority", list.map((v) => flag(v.aboveMajority)), pl.Utf8),
    pl.Series("evidence", list.map((v) => (v.evidence ? "yes" : "NOT EVIDENCE")), pl.Utf8),
    pl.Series(
      "classes_0_1",
      list.map((v) => taskClasses(v.task).join(" / ")),
      pl.Utf8,
    ),
    pl.Series("n_train_0", classes(0, "train"), pl.Float64).cast(pl.Int32),
    pl.Series("n_train_1", classes(1, "train"), pl.Float64).cast(pl.Int32),
    pl.Series("n_test_0", classes(0, "test"), pl.Float64).cast(pl.Int32),
    pl.Series("n_test_1", classes(1, "test"), pl.Float64).cast(pl.Int32),
    pl.Series("test_speakers", list.map((v) => v.speakers), pl.Float64).cast(pl.Int32),
    pl.Series("interval", list.map((v) => v.interval), pl.Utf8),
  ]);
}

/**
 * The claims under both interval methods, side by side: the seed-only t-interval (the old method, which ignores
 * which speakers are in the test set) and the paired bootstrap over test speakers × seeds, with whether the
 * verdict moved. Needs the run's predictions; the same D either way.
 */
export function claimsIntervalComparison(input: EvidenceSource | EvidenceSource[]): pl.DataFrame {
  const rows: Row[] = [];
  for (const one of inputs(input) as EvidenceSource[]) {
    if (!one.predictions || one.predictions.length === 0) {
      throw new Error("claims interval comparison: these results carry no predictions (rerun the grid)");
    }
    const old = paperClaims(one.results), now = paperClaims(one);
    for (const [i, n] of now.entries()) {
      const o = old[i];
      rows.push({
        claim: n.claim,
        dataset: n.dataset,
        protocol: n.protocol,
        test_set: n.test_set,
        task: n.task,
        codec: n.codec,
        d_pct: n.d_pct,
        seed_only_low_pct: Number.isFinite(o.low_pct) ? o.low_pct : null,
        seed_only_high_pct: Number.isFinite(o.high_pct) ? o.high_pct : null,
        seed_only_verdict: o.verdict,
        speakers_low_pct: n.low_pct,
        speakers_high_pct: n.high_pct,
        speakers_verdict: n.verdict,
        moved: o.verdict === n.verdict ? "" : `${o.verdict} → ${n.verdict}`,
        seed_only_method: o.method,
        speakers_method: n.method,
        caveats: n.caveats,
      });
    }
  }
  const names = rows.length > 0 ? Object.keys(rows[0]) : ["claim"];
  return pl.DataFrame(names.map((k) =>
    pl.Series(
      k,
      rows.map((r) => r[k]),
      k.endsWith("_pct") ? pl.Float64 : pl.Utf8,
    )
  ));
}
