/**
 * "How many latents carry the attribute": k-sparse probe F1 against the number of latents k (1, 2, 5, 10, 20,
 * all), from the k-sparse table (lib/formats/ksparse.ts). One panel per codec (and per protocol when the table
 * holds several), one line per feature kind, the reference F1 on u as a dashed rule.
 */
import type pl from "nodejs-polars";
import { KSPARSE_TABLE } from "../formats/ksparse.ts";
import { requiredColumns } from "../formats/results.ts";
import {
  distinct,
  FEATURE_LABELS,
  groupBy,
  meanOf,
  orderCodecs,
  records,
  round,
  type Row,
  taskLabel,
  where,
} from "./rows.ts";
import { taskSettings, VEGA_LITE_SCHEMA, type VegaLiteSpec } from "./specs.ts";

const KSPARSE_COLUMNS = requiredColumns(KSPARSE_TABLE);

/** The x label of the all-latents probe. */
export const ALL_LATENTS = "all";

export interface KSparseChartOptions {
  task: string;
  /** Required when the table holds several datasets for the task. */
  dataset?: string;
  /** One SAE configuration (default: every configuration, averaged, with their range as a band). */
  q?: number;
  s?: number;
  codecs?: string[];
}

/**
 * Which protocol produced a k-sparse row, in words: pooling, probe protocol ("mean, split" = the paper's),
 * and "frame-level SAE" when the SAE was fit on frames.
 */
export function ksparseProtocol(r: Row): string {
  const probe = r.probe_protocol === "kfold" ? `${r.probe_folds ?? "k"}-fold` : String(r.probe_protocol);
  return `${r.pooling}, ${probe}${r.sae_input === "frames" ? ", frame-level SAE" : ""}`;
}

function kLabel(r: Row): string {
  return r.all_latents ? ALL_LATENTS : String(r.k);
}

function pickDataset(rows: Row[], dataset: string | undefined, task: string): string {
  const datasets = distinct<string>(rows, "dataset");
  if (datasets.length === 0) throw new Error(`k-sparse: no rows for task '${task}' (and the q, s asked for)`);
  if (dataset !== undefined) {
    if (!datasets.includes(dataset)) throw new Error(`k-sparse (${task}): no rows for dataset '${dataset}'`);
    return dataset;
  }
  if (datasets.length !== 1) {
    throw new Error(`k-sparse (${task}): the table holds datasets ${datasets.join(", ")}; pass { dataset }`);
  }
  return datasets[0];
}

/**
 * One row per (protocol, codec, feature, k): F1 (%) averaged over the selected SAE configurations and seeds,
 * and a band — their range when several rows meet, else the row's interval over test speakers when it has one.
 */
export function ksparseRows(ksparse: pl.DataFrame, opts: KSparseChartOptions): Row[] {
  const all = where(records(ksparse, KSPARSE_COLUMNS, "k-sparse"), { task: opts.task, q: opts.q, s: opts.s });
  const dataset = pickDataset(all, opts.dataset, opts.task);
  let rows = where(all, { dataset });
  if (opts.codecs) rows = rows.filter((r) => opts.codecs!.includes(r.codec as string));
  if (rows.length === 0) throw new Error(`k-sparse: no rows for task '${opts.task}' on dataset '${dataset}'`);
  const labelled = rows.map((r) => ({ ...r, protocol: ksparseProtocol(r), k_label: kLabel(r) }));
  return groupBy(labelled, ["protocol", "codec", "feature", "k_label"]).map(({ key, rows: g }) => {
    const f1 = g.map((r) => (r.f1 as number) * 100);
    const own = g.length === 1 && typeof g[0].f1_low === "number" && typeof g[0].f1_high === "number";
    const [lo, hi] = own
      ? [(g[0].f1_low as number) * 100, (g[0].f1_high as number) * 100]
      : [Math.min(...f1), Math.max(...f1)];
    const ks = distinct<number>(g, "k");
    return {
      dataset,
      task: opts.task,
      protocol: key.protocol,
      codec: key.codec,
      codec_family: g[0].codec_family,
      bitrate_kbps: g[0].bitrate_kbps,
      feature: key.feature,
      feature_label: FEATURE_LABELS[key.feature as string] ?? key.feature,
      k_label: key.k_label,
      latents: ks.length === 1 ? String(ks[0]) : `${ks[0]}–${ks.at(-1)}`,
      f1_pct: round(meanOf(g, "f1") * 100),
      lo_pct: round(lo),
      hi_pct: round(hi),
      f1_ref_pct: round(meanOf(g, "f1_ref") * 100),
      rows: g.length,
      band: own ? "interval over test speakers" : g.length > 1 ? "range over configurations" : "none",
    };
  });
}

/** The x order: the numeric sizes ascending, then "all". */
function kOrder(rows: Row[]): string[] {
  const sizes = distinct<string>(rows.filter((r) => r.k_label !== ALL_LATENTS), "k_label")
    .map(Number).sort((a, b) => a - b).map(String);
  return [...sizes, ALL_LATENTS];
}

/**
 * F1 (%) of the k-sparse probes against k for one task: panels per codec (rows per protocol), one line per
 * feature kind with its band, the reference F1 on u as a dashed rule.
 */
export function ksparseChart(ksparse: pl.DataFrame, opts: KSparseChartOptions): VegaLiteSpec {
  const rows = ksparseRows(ksparse, opts);
  const codecs = orderCodecs(rows);
  const protocols = distinct<string>(rows, "protocol");
  const features = distinct<string>(rows, "feature_label");
  const x = {
    field: "k_label",
    type: "ordinal",
    sort: kOrder(rows),
    title: "latents the probe uses (k)",
    axis: { labelAngle: 0 },
  };
  const color = { field: "feature_label", type: "nominal", title: "feature", sort: features };
  const configs = opts.q !== undefined || opts.s !== undefined
    ? `q = ${opts.q ?? "all"}, s = ${opts.s ?? "all"}`
    : "line = mean over the SAE configurations (q, s) and seeds, band = their range";
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: `How many latents carry ${taskLabel(opts.task)}? k-sparse probe F1 (%)`,
      subtitle: [
        `dataset: ${rows[0].dataset}; ${configs}; dashed rule = reference F1 on u`,
        "top k latents by class-mean difference on the probe-training rows; all = every latent (the full probe)",
      ],
    },
    data: { values: rows },
    facet: {
      column: { field: "codec", type: "nominal", sort: codecs, title: "codec" },
      ...(protocols.length > 1 ? { row: { field: "protocol", type: "nominal", title: "protocol" } } : {}),
    },
    spec: {
      width: 170,
      height: 160,
      layer: [
        {
          mark: { type: "area", opacity: 0.2 },
          encoding: { x, color, y: { field: "lo_pct", type: "quantitative" }, y2: { field: "hi_pct" } },
        },
        {
          mark: { type: "line", point: true },
          encoding: {
            x,
            color,
            y: { field: "f1_pct", type: "quantitative", title: "macro-F1 (%)" },
            tooltip: [
              { field: "codec" },
              { field: "protocol" },
              { field: "feature_label", title: "feature" },
              { field: "k_label", title: "k" },
              { field: "latents", title: "latents used" },
              { field: "f1_pct", type: "quantitative", title: "F1 (%)" },
              { field: "lo_pct", title: "band lo" },
              { field: "hi_pct", title: "band hi" },
              { field: "band" },
              { field: "f1_ref_pct", type: "quantitative", title: "F1_ref on u (%)" },
              { field: "rows", type: "quantitative", title: "probes averaged" },
            ],
          },
        },
        {
          mark: { type: "rule", color: "#666", strokeDash: [4, 3] },
          encoding: { y: { field: "f1_ref_pct", aggregate: "mean", type: "quantitative" } },
        },
      ],
    },
    config: { view: { stroke: "#ddd" } },
  };
}

/** One k-sparse chart per (task, dataset) in the table, paper task order first. */
export function ksparseCharts(ksparse: pl.DataFrame, opts: { q?: number; s?: number } = {}): VegaLiteSpec[] {
  return taskSettings(ksparse).map(({ task, dataset }) => ksparseChart(ksparse, { task, dataset, ...opts }));
}
