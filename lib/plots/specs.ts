/**
 * Vega-Lite v5 spec builders for the paper's figures, from the results files' DataFrames
 * (schema: BRIEF "Results files"). Each builder filters, aggregates over seeds, and embeds the rows it plots.
 */
import type pl from "nodejs-polars";
import { CURVE_TABLE, DENSITY_TABLE, requiredColumns, RESULT_TABLE } from "../formats/results.ts";
import {
  distinct,
  FEATURE_LABELS,
  groupBy,
  meanInterval,
  meanOf,
  orderCodecs,
  records,
  round,
  type Row,
  taskLabel,
  where,
} from "./rows.ts";
import {
  answersOneClass,
  EVIDENCE,
  evidenceFlag,
  evidenceOf,
  type EvidenceSource,
  NOT_EVIDENCE,
  NOT_EVIDENCE_NOTE,
  settingKey,
} from "./validity.ts";

/** A results table, or a results bundle (results + predictions) for intervals over test speakers. */
export type ResultsInput = pl.DataFrame | EvidenceSource;

const resultsFrame = (input: ResultsInput): pl.DataFrame =>
  typeof (input as pl.DataFrame).toRecords === "function"
    ? input as pl.DataFrame
    : (input as EvidenceSource).results;

export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** A Vega-Lite v5 top-level spec (kept structural: the builders below are the only producers). */
export type VegaLiteSpec = Record<string, unknown> & { $schema: string };

const RESULT_COLUMNS = requiredColumns(RESULT_TABLE);
const DENSITY_COLUMNS = requiredColumns(DENSITY_TABLE);
const CURVE_COLUMNS = requiredColumns(CURVE_TABLE);

export interface DeltaF1Options {
  task: string;
  /** Required when the results hold several datasets. */
  dataset?: string;
  /** "z" (the paper's Figs 2/3), "z_pos" or "z_mag". */
  feature?: string;
  /** Restrict to these codecs (default: all in the results). */
  codecs?: string[];
}

const S_AXIS = {
  field: "s",
  type: "ordinal",
  sort: "ascending",
  title: "relative sparsity s",
  axis: { format: ".0%", labelAngle: 0 },
};

function pickDataset(rows: Row[], dataset: string | undefined, what: string): string {
  const datasets = distinct<string>(rows, "dataset");
  if (dataset !== undefined) {
    if (!datasets.includes(dataset)) {
      throw new Error(`${what}: no rows for dataset '${dataset}' (has: ${datasets})`);
    }
    return dataset;
  }
  if (datasets.length !== 1) {
    throw new Error(`${what}: results hold datasets ${datasets.join(", ")}; pass { dataset }`);
  }
  return datasets[0];
}

function codecColor(codecs: string[]) {
  return { field: "codec", type: "nominal", title: "codec", sort: codecs, scale: { domain: codecs } };
}

/**
 * One row per (codec, q, s): seed means of F1, F1_ref and ΔF1 in %, with the 95 % interval of ΔF1 — over test
 * speakers × seeds when the input carries predictions (paired with the reference), else over seeds (t), else
 * the run's own per-row bootstrap; `interval` says which. `evidence` is "not evidence" where the task's
 * reference is not above chance and the majority baseline; `one_class` counts probes answering one class.
 */
export function deltaF1Rows(input: ResultsInput, opts: DeltaF1Options): Row[] {
  const results = resultsFrame(input);
  const feature = opts.feature ?? "z";
  const missing = RESULT_COLUMNS.filter((c) => !results.columns.includes(c));
  if (missing.length > 0) {
    throw new Error(`results: missing column(s) ${missing.join(", ")} (has: ${results.columns.join(", ")})`);
  }
  const ev = evidenceOf(input);
  const all = ev.rows;
  const dataset = pickDataset(where(all, { task: opts.task }), opts.dataset, `ΔF1 (${opts.task})`);
  let rows = where(all, { task: opts.task, dataset, feature });
  if (opts.codecs) rows = rows.filter((r) => opts.codecs!.includes(r.codec as string));
  if (rows.length === 0) {
    throw new Error(`ΔF1: no '${feature}' rows for task '${opts.task}' on dataset '${dataset}'`);
  }
  return groupBy(rows, ["codec", "q", "s"]).map(({ key, rows: g }) => {
    const d = meanInterval(g.map((r) => (r.delta_f1 as number) * 100));
    const speakers = ev.intervals?.contrast(g) ?? null;
    // One seed without predictions: the run's bootstrap over test utterances when it wrote one.
    const boot = !speakers && g.length === 1 && typeof g[0].delta_f1_low === "number" &&
      typeof g[0].delta_f1_high === "number";
    if (speakers) [d.lo, d.hi] = [speakers.low * 100, speakers.high * 100];
    else if (boot) {
      [d.lo, d.hi] = [(g[0].delta_f1_low as number) * 100, (g[0].delta_f1_high as number) * 100];
    }
    const oneClass = g.filter((r) => answersOneClass(r, ev.intervals) === true).length;
    return {
      dataset,
      task: opts.task,
      feature,
      codec: key.codec,
      codec_family: g[0].codec_family,
      bitrate_kbps: g[0].bitrate_kbps,
      q: key.q,
      s: key.s,
      k: g[0].k,
      d_z: g[0].d_z,
      f1_pct: round(meanOf(g, "f1") * 100),
      f1_ref_pct: round(meanOf(g, "f1_ref") * 100),
      delta_f1_pct: round(d.mean),
      lo_pct: round(d.lo),
      hi_pct: round(d.hi),
      seeds: d.n,
      interval: speakers
        ? speakers.method
        : boot
        ? "bootstrap over test utterances"
        : d.n > 1
        ? "t over seeds"
        : "none",
      sae_fit: saeFit(g),
      evidence: evidenceFlag(ev.validity, g[0]),
      one_class: oneClass,
      setting: settingKey(g[0]),
    };
  });
}

/**
 * Whether the cell's SAEs reached the PCA-k yardstick (results column `sae_trained`): "untrained" when any
 * seed's SAE did not, "not assessed" for results without the column.
 */
export function saeFit(rows: Row[]): "trained" | "untrained" | "not assessed" {
  const flags = rows.map((r) => r.sae_trained).filter((v) => typeof v === "boolean");
  if (flags.length === 0) return "not assessed";
  return flags.every((v) => v) ? "trained" : "untrained";
}

const FIT_SHAPES: Record<string, string> = {
  trained: "circle",
  untrained: "cross",
  "not assessed": "diamond",
};

/**
 * Points over the lines: a filled circle for a trained SAE, a cross for an untrained one, a diamond where
 * the fit was not assessed (never mixed in); grey where the setting is not evidence.
 */
function fitPoints(codecs: string[], rows: Row[]) {
  const domain = fitDomain(rows);
  return {
    mark: { type: "point", filled: true, size: 60 },
    encoding: {
      x: S_AXIS,
      y: { field: "delta_f1_pct", type: "quantitative" },
      color: evidenceColor(codecs),
      shape: {
        field: "sae_fit",
        type: "nominal",
        title: "SAE",
        // Each state its own shape (a legend of two grey dots cannot tell "trained" from "not assessed").
        scale: { domain, range: domain.map((d) => FIT_SHAPES[d]) },
      },
      tooltip: [
        ...DELTA_TOOLTIP,
        { field: "sae_fit", title: "SAE" },
        {
          field: "interval",
          title: "interval",
        },
        { field: "evidence", title: "task reference" },
        { field: "one_class", title: "probes answering one class" },
      ],
    },
  };
}

/** Subtitle words on untrained SAEs, probes answering one class and greyed settings, when there are any. */
function fitNote(rows: Row[]): string[] {
  const bad = rows.filter((r) => r.sae_fit === "untrained").length;
  const one = rows.filter((r) => (r.one_class as number) > 0).length;
  const grey = rows.some((r) => r.evidence === NOT_EVIDENCE);
  return [
    ...(bad > 0 ? [`✕ = untrained SAE (${bad} of ${rows.length} points)`] : []),
    ...(one > 0 ? [`red square = a probe answering one class (${one} of ${rows.length} points)`] : []),
    ...(grey ? wrapWords(NOT_EVIDENCE_NOTE) : []),
  ];
}

/** A long sentence as subtitle lines of at most `width` characters (Vega does not wrap titles). */
export function wrapWords(text: string, width = 100): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** The SAE-fit states present in the rows, in legend order (a legend lists only what the chart shows). */
function fitDomain(rows: Row[]): string[] {
  return ["trained", "untrained", "not assessed"].filter((d) => rows.some((r) => r.sae_fit === d));
}

const GREY = "#b0b0b0";

/** Codec colours, grey where the setting is not evidence. */
function evidenceColor(codecs: string[]) {
  return { ...codecColor(codecs), condition: { test: `datum.evidence === '${NOT_EVIDENCE}'`, value: GREY } };
}

/** Solid lines for evidence, dashed for "not evidence", with a legend naming it (only when some are not). */
function evidenceDash(rows: Row[]): Record<string, unknown> {
  if (!rows.some((r) => r.evidence === NOT_EVIDENCE)) return {};
  return {
    strokeDash: {
      field: "evidence",
      type: "nominal",
      title: "task reference",
      scale: { domain: [EVIDENCE, NOT_EVIDENCE], range: [[1, 0], [4, 3]] },
    },
  };
}

/** Red hollow squares on points whose probes answer one class (only when there are any). */
function oneClassLayer(rows: Row[]): unknown[] {
  if (!rows.some((r) => (r.one_class as number) > 0)) return [];
  return [{
    transform: [{ filter: "datum.one_class > 0" }],
    mark: { type: "point", shape: "square", size: 150, filled: false, color: "#a40000", strokeWidth: 1.5 },
    encoding: { x: S_AXIS, y: { field: "delta_f1_pct", type: "quantitative" } },
  }];
}

const DELTA_TOOLTIP = [
  { field: "codec", type: "nominal" },
  { field: "q", type: "ordinal", title: "q" },
  { field: "s", type: "quantitative", title: "s", format: ".0%" },
  { field: "k", type: "quantitative" },
  { field: "d_z", type: "quantitative", title: "d_z" },
  { field: "delta_f1_pct", type: "quantitative", title: "ΔF1 (%)" },
  { field: "f1_pct", type: "quantitative", title: "F1 (%)" },
  { field: "f1_ref_pct", type: "quantitative", title: "F1_ref (%)" },
  { field: "seeds", type: "quantitative" },
  { field: "lo_pct", title: "95 % lo" },
  { field: "hi_pct", title: "95 % hi" },
];

/** One panel per latent ratio q over the same rows, each panel drawn by `layer`. */
function qPanels(rows: Row[], layer: unknown[]) {
  return {
    data: { values: rows },
    facet: { column: qFacet() },
    spec: { width: 150, height: 170, layer },
    config: { view: { stroke: "#ddd" } },
  };
}

function qFacet() {
  return {
    field: "q",
    type: "ordinal",
    sort: "ascending",
    title: "latent ratio q = d_z / d_codec",
    header: { labelExpr: "'q = ' + datum.value" },
  };
}

/** Zero rule, drawn once per panel (the aggregate collapses each facet's rows to one). */
const ZERO_RULE = {
  transform: [{ aggregate: [{ op: "count", as: "n" }] }],
  mark: { type: "rule", color: "#888", strokeDash: [4, 3] },
  encoding: { y: { datum: 0 } },
};

/**
 * Figs 2/3: ΔF1 (%) against relative sparsity s, one panel per latent ratio q, one line per codec, a zero rule;
 * tooltips carry F1, F1_ref, k and d_z. Several seeds are averaged (see `deltaF1SeedChart` for intervals).
 */
export function deltaF1Chart(results: ResultsInput, opts: DeltaF1Options): VegaLiteSpec {
  const rows = deltaF1Rows(results, opts);
  const feature = opts.feature ?? "z";
  const codecs = orderCodecs(rows);
  const { dataset } = rows[0];
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: `ΔF1 (%) on ${FEATURE_LABELS[feature] ?? feature} — ${taskLabel(opts.task)}`,
      subtitle: [
        `dataset: ${dataset}; higher (less negative) = more interpretable; 0 = no accent information lost`,
        ...fitNote(rows),
      ],
    },
    ...qPanels(rows, [
      {
        mark: { type: "line" },
        encoding: {
          x: S_AXIS,
          y: { field: "delta_f1_pct", type: "quantitative", title: "ΔF1 (%)" },
          color: evidenceColor(codecs),
          ...evidenceDash(rows),
        },
      },
      fitPoints(codecs, rows),
      ...oneClassLayer(rows),
      ZERO_RULE,
    ]),
  };
}

/** ΔF1 (%) with the seed mean as a line and its 95 % interval as a band, one panel per q. */
export function deltaF1SeedChart(results: ResultsInput, opts: DeltaF1Options): VegaLiteSpec {
  const rows = deltaF1Rows(results, opts);
  const feature = opts.feature ?? "z";
  const codecs = orderCodecs(rows);
  const seeds = Math.max(...rows.map((r) => r.seeds as number));
  const speakers = rows.find((r) => String(r.interval).includes("test speakers"));
  const boot = rows.some((r) => r.interval === "bootstrap over test utterances");
  const how = speakers
    ? `line = ${
      seeds > 1 ? `mean of ${seeds} seeds` : "one seed"
    }, band = 95 % interval: ${speakers.interval}`
    : seeds > 1
    ? `line = mean of ${seeds} seeds, band = 95 % t-interval over seeds (test speakers not resampled)`
    : boot
    ? "one seed: band = 95 % bootstrap interval over scored utterances"
    : "one seed and no bootstrap: no interval";
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: `ΔF1 (%) on ${FEATURE_LABELS[feature] ?? feature}${
        speakers
          ? " with intervals over test speakers"
          : seeds > 1
          ? " over seeds"
          : boot
          ? " with bootstrap intervals"
          : ""
      } — ${taskLabel(opts.task)}`,
      subtitle: [`dataset: ${rows[0].dataset}`, ...wrapWords(how), ...fitNote(rows)],
    },
    ...qPanels(rows, [
      {
        mark: { type: "area", opacity: 0.25 },
        encoding: {
          // x and color per layer: shared, they would also group the zero rule's aggregate by s.
          x: S_AXIS,
          color: evidenceColor(codecs),
          y: { field: "lo_pct", type: "quantitative", title: "ΔF1 (%)" },
          y2: { field: "hi_pct" },
        },
      },
      {
        mark: { type: "line" },
        encoding: {
          x: S_AXIS,
          color: evidenceColor(codecs),
          y: { field: "delta_f1_pct", type: "quantitative" },
          ...evidenceDash(rows),
        },
      },
      fitPoints(codecs, rows),
      ...oneClassLayer(rows),
      ZERO_RULE,
    ]),
  };
}

export interface DensityOptions {
  /** Latent ratio (paper: 2). */
  q?: number;
  /** Relative sparsity (paper: 0.05). */
  s?: number;
  task?: string;
  dataset?: string;
  codecs?: string[];
  /**
   * The results (table or bundle): codecs whose SAEs at this (q, s) missed the PCA-k yardstick get dashed
   * lines; codecs whose task reference is not evidence are grey.
   */
  results?: ResultsInput;
}

/**
 * Fig 4: activation density over the 16 ordered latent-index groups for one (q, s), one line per codec;
 * several (dataset, task) settings become panels. Seeds are averaged. With `results`, a line whose SAEs are
 * untrained (results column `sae_trained`, any seed) is dashed and the subtitle says so.
 */
export function densityChart(density: pl.DataFrame, opts: DensityOptions = {}): VegaLiteSpec {
  const q = opts.q ?? 2, s = opts.s ?? 0.05;
  let rows = where(records(density, DENSITY_COLUMNS, "density"), {
    q,
    s,
    task: opts.task,
    dataset: opts.dataset,
  });
  if (opts.codecs) rows = rows.filter((r) => opts.codecs!.includes(r.codec as string));
  if (rows.length === 0) throw new Error(`density: no rows for q=${q}, s=${s}`);
  const zRows = opts.results
    ? where(records(resultsFrame(opts.results), RESULT_COLUMNS, "results"), { q, s, feature: "z" })
    : [];
  const weak = new Set(
    opts.results
      ? [...evidenceOf(opts.results).validity.values()].filter((v) => !v.evidence)
        .map((v) => `${v.dataset}|${v.task}|${v.codec}`)
      : [],
  );
  const values = groupBy(rows, ["dataset", "task", "codec", "group"]).map(({ key, rows: g }) => ({
    setting: `${key.dataset} · ${taskLabel(key.task as string)}`,
    codec: key.codec,
    group: key.group,
    density: round(meanOf(g, "density"), 4),
    seeds: g.length,
    sae_fit: saeFit(where(zRows, { dataset: key.dataset, task: key.task, codec: key.codec })),
    evidence: weak.has(`${key.dataset}|${key.task}|${key.codec}`) ? NOT_EVIDENCE : EVIDENCE,
  }));
  const untrained = distinct<string>(values.filter((v) => v.sae_fit === "untrained"), "codec");
  const codecs = orderCodecs(rows);
  const settings = distinct<string>(values, "setting");
  const layer = {
    mark: { type: "line", point: true },
    encoding: {
      x: {
        field: "group",
        type: "ordinal",
        title: "latent-index group (16 ordered groups of z)",
        axis: { labelAngle: 0 },
      },
      y: { field: "density", type: "quantitative", title: "activation density" },
      color: evidenceColor(codecs),
      // Grey lines get a legend entry saying what grey means (only when there are any).
      ...(values.some((v) => v.evidence === NOT_EVIDENCE)
        ? {
          opacity: {
            field: "evidence",
            type: "ordinal",
            sort: [EVIDENCE, NOT_EVIDENCE],
            title: "task reference",
            scale: { domain: [EVIDENCE, NOT_EVIDENCE], range: [1, 0.55] },
          },
        }
        : {}),
      strokeDash: {
        field: "sae_fit",
        type: "nominal",
        title: "SAE",
        scale: { domain: ["trained", "untrained", "not assessed"], range: [[1, 0], [5, 4], [1, 0]] },
      },
      tooltip: [
        { field: "codec" },
        { field: "setting" },
        { field: "sae_fit", title: "SAE" },
        { field: "group", type: "ordinal" },
        { field: "density", type: "quantitative", format: ".4f" },
        { field: "seeds", type: "quantitative" },
        { field: "evidence", title: "task reference" },
      ],
    },
  };
  const title = {
    text: `Activation density of z over latent-index groups (q = ${q}, s = ${s})`,
    subtitle: [
      (settings.length === 1 ? settings[0] : "one panel per dataset · task") +
      (untrained.length > 0 ? `; dashed = untrained SAE (${untrained.join(", ")})` : ""),
      ...(values.some((v) => v.evidence === NOT_EVIDENCE) ? wrapWords(NOT_EVIDENCE_NOTE) : []),
    ],
  };
  const base = { $schema: VEGA_LITE_SCHEMA, title, data: { values }, config: { view: { stroke: "#ddd" } } };
  if (settings.length === 1) return { ...base, width: 420, height: 220, ...layer };
  return {
    ...base,
    facet: { column: { field: "setting", type: "nominal", title: null } },
    spec: { width: 250, height: 200, ...layer },
  };
}

export interface CurvesOptions {
  codec?: string;
  task?: string;
  dataset?: string;
  seed?: number;
}

/**
 * SAE training curves: train and validation loss per epoch, one panel per (q, s) configuration, for one
 * (dataset, codec, task, seed) — by default the first present.
 */
export function trainingCurvesChart(curves: pl.DataFrame, opts: CurvesOptions = {}): VegaLiteSpec {
  const all = records(curves, CURVE_COLUMNS, "curves");
  if (all.length === 0) throw new Error("curves: no rows");
  // Defaults are chosen one after another among what the earlier choices leave (e.g. a dataset having the task).
  const sel: Record<string, unknown> = {};
  let rows = all;
  for (const field of ["task", "dataset", "codec", "seed"] as const) {
    sel[field] = opts[field] ?? distinct(rows, field)[0];
    rows = where(rows, { [field]: sel[field] });
  }
  if (rows.length === 0) throw new Error(`curves: no rows for ${JSON.stringify(sel)}`);
  // The convergent schedule records every few Adam steps: plot against steps when the table has them.
  const bySteps = rows.every((r) => typeof r.step === "number");
  const x = bySteps ? "step" : "epoch";
  const values = rows.flatMap((r) => [
    { q: r.q, s: r.s, [x]: r[x], split: "train", loss: r.train_loss },
    { q: r.q, s: r.s, [x]: r[x], split: "validation", loss: r.val_loss },
  ]).filter((r) => typeof r.loss === "number" && Number.isFinite(r.loss) && (r.loss as number) > 0);
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: `SAE training curves (reconstruction MSE per ${bySteps ? "Adam step" : "epoch"})`,
      subtitle: `${sel.codec} · ${sel.dataset} · ${
        taskLabel(String(sel.task))
      } · seed ${sel.seed}; rows: q, columns: s`,
    },
    data: { values },
    facet: {
      row: {
        field: "q",
        type: "ordinal",
        sort: "ascending",
        header: { labelExpr: "'q = ' + datum.value" },
        title: null,
      },
      column: {
        field: "s",
        type: "ordinal",
        sort: "ascending",
        header: { labelExpr: "'s = ' + format(datum.value, '.0%')" },
        title: null,
      },
    },
    spec: {
      width: 120,
      height: 80,
      mark: { type: "line" },
      encoding: {
        x: { field: x, type: "quantitative", title: bySteps ? "Adam step" : "epoch" },
        y: { field: "loss", type: "quantitative", scale: { type: "log" }, title: "loss" },
        color: { field: "split", type: "nominal", title: "split", sort: ["train", "validation"] },
        tooltip: [{ field: x }, { field: "split" }, { field: "loss", format: ".4g" }],
      },
    },
    resolve: { scale: { y: "independent" } },
  };
}

/**
 * Is the reference above chance? Per (dataset · task) panel and codec: the reference F1 on u with its 95 %
 * interval (over test speakers with predictions), the label-permuted chance range (grey bar) and the
 * majority-class baseline (black tick). A codec whose reference does not clear both is drawn grey ("not
 * evidence"): ΔF1 read there measures noise.
 */
export function referenceChart(results: ResultsInput): VegaLiteSpec {
  const ev = evidenceOf(results);
  const pctOf = (v: number | null) => (v === null ? null : round(v * 100));
  const values = [...ev.validity.values()].map((v) => ({
    setting: `${v.dataset} · ${taskLabel(v.task)}${
      v.row.probe_protocol && v.row.probe_protocol !== "split"
        ? ` · ${v.row.pooling}, ${v.row.probe_protocol}`
        : ""
    }`,
    codec: v.codec,
    codec_family: v.row.codec_family,
    bitrate_kbps: v.row.bitrate_kbps,
    f1_pct: pctOf(v.f1),
    lo_pct: pctOf(v.low),
    hi_pct: pctOf(v.high),
    chance_lo_pct: pctOf(v.chanceLow),
    chance_hi_pct: pctOf(v.chanceHigh),
    chance_pct: pctOf(v.chance),
    majority_pct: pctOf(v.majority),
    evidence: v.evidence ? EVIDENCE : NOT_EVIDENCE,
    interval: v.interval,
  }));
  if (values.length === 0) throw new Error("reference chart: no reference (u) rows in the results");
  const codecs = orderCodecs(values);
  const y = { field: "codec", type: "nominal", sort: codecs, title: null };
  const grey = values.some((v) => v.evidence === NOT_EVIDENCE);
  const hasChance = values.some((v) => v.chance_lo_pct !== null && v.chance_hi_pct !== null);
  const hasMajority = values.some((v) => v.majority_pct !== null);
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: "Reference macro-F1 (%) on u against chance and the majority-class baseline",
      subtitle: [
        "point = reference F1, whisker = its 95 % interval; " +
        (hasChance
          ? "grey bar = label-permuted chance (2.5–97.5 %);"
          : "chance level not measured in this run;"),
        hasMajority
          ? "black tick = always answering the probe-training majority class"
          : "majority-class baseline not recorded in these results (older run)",
        ...(grey ? wrapWords(NOT_EVIDENCE_NOTE) : []),
      ],
    },
    data: { values },
    facet: {
      row: { field: "setting", type: "nominal", title: null, header: { labelAngle: 0, labelAlign: "left" } },
    },
    spec: {
      width: 420,
      height: { step: 22 },
      // Baselines the run did not measure are left out (an all-null layer draws nothing and warns).
      layer: [
        ...(hasChance
          ? [{
            mark: { type: "bar", color: "#e3e3e3", height: 14 },
            encoding: {
              y,
              x: {
                field: "chance_lo_pct",
                type: "quantitative",
                title: "macro-F1 (%)",
                scale: { zero: false },
              },
              x2: { field: "chance_hi_pct" },
            },
          }]
          : []),
        ...(hasMajority
          ? [{
            mark: { type: "tick", color: "#222", thickness: 2, size: 16 },
            encoding: { y, x: { field: "majority_pct", type: "quantitative", title: "macro-F1 (%)" } },
          }]
          : []),
        {
          mark: { type: "rule", strokeWidth: 2 },
          encoding: {
            y,
            x: { field: "lo_pct", type: "quantitative" },
            x2: { field: "hi_pct" },
            color: evidenceColor(codecs),
          },
        },
        {
          mark: { type: "point", filled: true, size: 70 },
          encoding: {
            y,
            x: { field: "f1_pct", type: "quantitative" },
            color: evidenceColor(codecs),
            shape: {
              field: "evidence",
              type: "nominal",
              title: "task reference",
              scale: { domain: [EVIDENCE, NOT_EVIDENCE], range: ["circle", "triangle-down"] },
            },
            tooltip: [
              { field: "codec" },
              { field: "f1_pct", title: "reference F1 (%)" },
              { field: "lo_pct", title: "95 % lo" },
              { field: "hi_pct", title: "95 % hi" },
              { field: "chance_pct", title: "chance (%)" },
              { field: "majority_pct", title: "majority class (%)" },
              { field: "evidence", title: "task reference" },
              { field: "interval" },
            ],
          },
        },
      ],
    },
    config: { view: { stroke: "#ddd" } },
  };
}

/** The (task, dataset) settings present in the results, paper task order first. */
export function taskSettings(results: pl.DataFrame): { task: string; dataset: string }[] {
  const order = ["us-vs-uk", "us-vs-non-us-uk"];
  const r = (t: string) => order.includes(t) ? order.indexOf(t) : order.length;
  return groupBy(records(results, ["task", "dataset"], "results"), ["task", "dataset"])
    .map((g) => ({ task: g.key.task as string, dataset: g.key.dataset as string }))
    .sort((a, b) =>
      r(a.task) - r(b.task) || a.task.localeCompare(b.task) || a.dataset.localeCompare(b.dataset)
    );
}

/** Figs 2/3 for every (task, dataset) in the results, for one feature kind. */
export function deltaF1Charts(results: ResultsInput, opts: { feature?: string } = {}): VegaLiteSpec[] {
  return taskSettings(resultsFrame(results)).map(({ task, dataset }) =>
    deltaF1Chart(results, { task, dataset, ...opts })
  );
}

/** Values of one or more vectors (e.g. u per codec) against their dimension index, one line per label. */
export function vectorChart(
  vectors: { label: string; values: ArrayLike<number> }[],
  opts: { title: string; yTitle?: string },
): VegaLiteSpec {
  const values = vectors.flatMap((v) =>
    Array.from(v.values, (x, i) => ({ label: v.label, dim: i, value: x }))
  );
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: opts.title,
    width: 520,
    height: 180,
    data: { values },
    mark: { type: "line", point: { size: 12 } },
    encoding: {
      x: { field: "dim", type: "quantitative", title: "dimension" },
      y: { field: "value", type: "quantitative", title: opts.yTitle ?? "value" },
      color: { field: "label", type: "nominal", title: null },
      tooltip: [{ field: "label" }, { field: "dim" }, { field: "value", format: ".4f" }],
    },
  };
}
