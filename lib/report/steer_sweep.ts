/**
 * The per-frame steering sweep in HTML (lib/experiment/steer_frames.ts writes `<results>/steer/sweep.json`):
 * its verdicts, a chart of the decision shift against α per condition (one panel per task and scorer), the
 * flip-rate / decision-shift table and players for the steered WAVs beside the unedited decode. For the run
 * report and the dashboards; `writeSteerSweepPage` also writes it as a page of its own (`steer/sweep.html`).
 */
import { join, relative } from "node:path";
import { exists, readJson, writeFileAtomic } from "../common/fs.ts";
import type { SweepResult, SweepRow } from "../experiment/steer_frames.ts";
import { renderSvg, VEGA_LITE_SCHEMA, type VegaLiteSpec } from "../plots/mod.ts";
import { escapeHtml } from "./html.ts";

/** Where the sweep sits under a results directory. */
export const STEER_SWEEP_DIR = "steer";
export const STEER_SWEEP_FILE = "sweep.json";

const CONDITION_LABEL: Record<string, string> = {
  edit: "edit (chosen latents)",
  random: "random latents, same α",
  none: "no edit (decode → re-encode)",
  reconstruction: "SAE reconstruction, no edit",
};

/** The sweep of a results directory, or null when none was run. */
export async function readSteerSweep(resultsDir: string): Promise<SweepResult | null> {
  const path = join(resultsDir, STEER_SWEEP_DIR, STEER_SWEEP_FILE);
  return (await exists(path)) ? await readJson<SweepResult>(path) : null;
}

/** Decision shift toward the target against α: a point and 95 % interval per condition, per task and scorer. */
export function steerSweepChart(rows: SweepRow[]): VegaLiteSpec {
  const values = rows.flatMap((r) => [
    {
      task: r.task,
      scorer: "reference probe on u′",
      alpha: r.alpha,
      condition: CONDITION_LABEL[r.condition] ?? r.condition,
      shift: r.decision_shift,
      low: r.decision_shift_low,
      high: r.decision_shift_high,
    },
    {
      task: r.task,
      scorer: "frame SAE's probe on z′",
      alpha: r.alpha,
      condition: CONDITION_LABEL[r.condition] ?? r.condition,
      shift: r.sae_decision_shift,
      low: r.sae_decision_shift_low,
      high: r.sae_decision_shift_high,
    },
  ]);
  const color = {
    field: "condition",
    type: "nominal",
    title: "condition",
    legend: { labelLimit: 260, orient: "bottom", columns: 2 },
    scale: {
      domain: Object.values(CONDITION_LABEL),
      range: ["#d62728", "#7f7f7f", "#1f77b4", "#2ca02c"],
    },
  };
  const x = { field: "alpha", type: "quantitative", title: "α (× typical target-class magnitude)" };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: "Decision shift toward the target class against α",
      subtitle: "mean over recordings, 95 % bootstrap interval; none and reconstruction do not depend on α",
    },
    data: { values },
    facet: {
      row: {
        field: "scorer",
        type: "nominal",
        title: null,
        sort: ["reference probe on u′", "frame SAE's probe on z′"],
      },
      column: { field: "task", type: "nominal", title: null, sort: [...new Set(rows.map((r) => r.task))] },
    },
    resolve: { scale: { y: "independent" } },
    spec: {
      width: 260,
      height: 180,
      layer: [
        { mark: { type: "rule", strokeDash: [2, 2], color: "#999" }, encoding: { y: { datum: 0 } } },
        {
          mark: { type: "line", point: true },
          encoding: {
            x,
            y: { field: "shift", type: "quantitative", title: "decision shift (logit)" },
            color,
          },
        },
        {
          mark: { type: "errorbar", ticks: true },
          encoding: {
            x,
            y: { field: "low", type: "quantitative", title: "decision shift (logit)" },
            y2: { field: "high" },
            color,
          },
        },
      ],
    },
  } as VegaLiteSpec;
}

const CONDITION_COLOR = {
  field: "condition",
  type: "nominal",
  title: "condition",
  legend: { labelLimit: 260, orient: "bottom", columns: 2 },
  scale: { domain: Object.values(CONDITION_LABEL), range: ["#d62728", "#7f7f7f", "#1f77b4", "#2ca02c"] },
};
const ALPHA_X = { field: "alpha", type: "quantitative", title: "α (× typical target-class magnitude)" };

/** Flip rate (reference probe) against α: a point and 95 % Wilson interval per condition, one panel per task. */
export function steerFlipChart(rows: SweepRow[]): VegaLiteSpec {
  const values = rows.map((r) => ({
    task: r.task,
    alpha: r.alpha,
    condition: CONDITION_LABEL[r.condition] ?? r.condition,
    rate: r.flip_rate,
    low: r.flip_low,
    high: r.flip_high,
  }));
  const y = { type: "quantitative", title: "flip rate (reference probe)", scale: { domain: [0, 1] } };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: "Flip rate to the target class against α",
      subtitle:
        "share of source-class recordings the reference probe on u′ assigns to the target; 95 % Wilson",
    },
    data: { values },
    facet: {
      column: { field: "task", type: "nominal", title: null, sort: [...new Set(rows.map((r) => r.task))] },
    },
    spec: {
      width: 260,
      height: 160,
      layer: [
        {
          mark: { type: "line", point: true },
          encoding: { x: ALPHA_X, y: { field: "rate", ...y }, color: CONDITION_COLOR },
        },
        {
          mark: { type: "errorbar", ticks: true },
          encoding: { x: ALPHA_X, y: { field: "low", ...y }, y2: { field: "high" }, color: CONDITION_COLOR },
        },
      ],
    },
  } as VegaLiteSpec;
}

/** The edit's share surviving decode → re-encode and its log-spectral distance against α, per condition. */
export function steerSurvivalChart(rows: SweepRow[]): VegaLiteSpec {
  const values = rows.filter((r) => r.condition !== "none").flatMap((r) => [
    {
      task: r.task,
      alpha: r.alpha,
      condition: CONDITION_LABEL[r.condition] ?? r.condition,
      measure: "surviving share",
      value: r.survival,
    },
    {
      task: r.task,
      alpha: r.alpha,
      condition: CONDITION_LABEL[r.condition] ?? r.condition,
      measure: "LSD (dB)",
      value: r.lsd_db,
    },
  ]).filter((v) => v.value !== null && Number.isFinite(v.value));
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: "What survives the codec, and how far the audio moves, against α",
      subtitle:
        "means over recordings: the share of the intended frame change surviving decode → re-encode, " +
        "and the log-spectral distance of the decode to the unedited decode",
    },
    data: { values },
    facet: {
      row: { field: "measure", type: "nominal", title: null, sort: ["surviving share", "LSD (dB)"] },
      column: { field: "task", type: "nominal", title: null, sort: [...new Set(rows.map((r) => r.task))] },
    },
    resolve: { scale: { y: "independent" } },
    spec: {
      width: 260,
      height: 140,
      mark: { type: "line", point: true },
      encoding: {
        x: ALPHA_X,
        y: { field: "value", type: "quantitative", title: null },
        color: CONDITION_COLOR,
      },
    },
  } as VegaLiteSpec;
}

const fmt = (v: number | null | undefined, p = 3) =>
  v === null || v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(p);
const pct = (v: number) => `${(100 * v).toFixed(0)} %`;

function tableHtml(rows: SweepRow[]): string {
  const head = [
    "task",
    "α",
    "condition",
    "flips / n (reference)",
    "flip rate [95 % Wilson]",
    "decision shift [95 % bootstrap]",
    "flips / n (SAE probe)",
    "SAE-probe shift [95 % bootstrap]",
    "share surviving re-encode",
    "LSD to unedited decode, dB",
  ];
  const body = rows.map((r) =>
    `<tr><td>${escapeHtml(r.task)}</td><td class="num">${r.alpha}</td><td>${r.condition}</td>` +
    `<td class="num">${r.flips} / ${r.n}</td><td class="num">${pct(r.flip_rate)} [${pct(r.flip_low)}, ${
      pct(r.flip_high)
    }]</td><td class="num">${fmt(r.decision_shift)} [${fmt(r.decision_shift_low)}, ${
      fmt(r.decision_shift_high)
    }]</td><td class="num">${r.sae_flips} / ${r.n}</td><td class="num">${fmt(r.sae_decision_shift)} [${
      fmt(r.sae_decision_shift_low)
    }, ${fmt(r.sae_decision_shift_high)}]</td><td class="num">${fmt(r.survival, 2)}</td><td class="num">${
      fmt(r.lsd_db, 2)
    }</td></tr>`
  ).join("");
  return `<table class="steer-sweep"><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead>` +
    `<tbody>${body}</tbody></table>`;
}

function audioHtml(sweep: SweepResult, prefix: string, players: boolean): string {
  const parts: string[] = [];
  for (const t of sweep.tasks) {
    const recs = t.recordings.filter((r) => r.wavs && Object.keys(r.wavs).length);
    if (!recs.length) continue;
    const keys = ["none", "reconstruction", ...sweep.alphas.flatMap((a) => [`edit@${a}`, `random@${a}`])];
    const label = (k: string) => k.replace("@", " α ");
    const cell = (href: string, k: string) => {
      const h = escapeHtml(`${prefix}${href}`);
      return `<td>${players ? `<audio controls preload="none" src="${h}"></audio><br>` : ""}` +
        `<a href="${h}">${escapeHtml(label(k))}</a></td>`;
    };
    const body = recs.map((r) =>
      `<tr><td>${escapeHtml(r.id)}</td>${
        keys.map((k) => (r.wavs![k] ? cell(r.wavs![k], k) : "<td>—</td>")).join("")
      }</tr>`
    ).join("");
    parts.push(
      `<h4>${escapeHtml(t.task)}: ${escapeHtml(t.classes[t.source])} → ${
        escapeHtml(t.classes[t.target])
      }</h4>` +
        `<table class="steer-audio"><thead><tr><th>recording</th>${
          keys.map((k) => `<th>${escapeHtml(label(k))}</th>`).join("")
        }</tr></thead><tbody>${body}</tbody></table>`,
    );
  }
  return parts.length
    ? `<p>Steered audio (first ${sweep.seconds} s; WAV files beside the results, 16 kHz): the unedited decode ` +
      `(<i>none</i>), the SAE reconstruction, and the edit and its random control at each α.</p>${
        parts.join("")
      }`
    : "";
}

export interface SteerSweepSectionOptions {
  /** Audio players (default) or plain links only. */
  players?: boolean;
  /** The folder the HTML will sit in (default: the results directory): WAV paths are made relative to it. */
  pageDir?: string;
  /** Heading level of the section title (default 2). */
  level?: number;
}

/** The sweep's HTML section ("" when the results hold no sweep). */
export async function steerSweepSection(
  resultsDir: string,
  opts: SteerSweepSectionOptions = {},
): Promise<string> {
  const sweep = await readSteerSweep(resultsDir);
  if (!sweep) return "";
  const steerDir = join(resultsDir, STEER_SWEEP_DIR);
  const rel = relative(opts.pageDir ?? resultsDir, steerDir).split("\\").join("/");
  const prefix = rel === "" ? "" : `${rel}/`;
  const h = opts.level ?? 2;
  const tasks = sweep.tasks.map((t) =>
    `<li><b>${escapeHtml(t.task)}</b>: ${t.recordings.length} recordings of ${
      escapeHtml(t.classes[t.source])
    } steered toward ${escapeHtml(t.classes[t.target])}; latents ${t.latents.join(", ")} (typical ` +
    `target-class magnitudes ${t.magnitudes.map((m) => fmt(m, 2)).join(", ")}); probes: ${
      escapeHtml(t.probeNote)
    }.</li>`
  ).join("");
  const verdicts = sweep.verdicts.map((v) =>
    `<li class="${v.verdict === "causal effect shown" ? "ok" : "no"}">${escapeHtml(v.text)}</li>`
  ).join("");
  const charts: string[] = [];
  for (const spec of [steerSweepChart, steerFlipChart, steerSurvivalChart].map((f) => f(sweep.rows))) {
    try {
      charts.push(`<figure>${await renderSvg(spec)}</figure>`);
    } catch (e) {
      charts.push(`<p class="note">(chart not rendered: ${escapeHtml(String(e))})</p>`);
    }
  }
  const chart = charts.join("");
  return `<section class="steer-sweep" id="steer-sweep"><h${h}>Steering in SAE space, per frame</h${h}>` +
    `<p>On every frame of a ${sweep.seconds} s crop the frame SAE's chosen latents are set to α × their typical ` +
    `firing magnitude in the target class (α 0 ablates them), keeping the SAE's error term: ` +
    `ê′<sub>t</sub> = ê<sub>t</sub> + D(z′<sub>t</sub>) − D(z<sub>t</sub>). The result is decoded with ` +
    `${
      escapeHtml(sweep.codec)
    }, re-encoded, and scored by the reference probe on u′ (primary) and by the frame ` +
    `SAE's own probe on pooled z′. Controls: the same number of random latents at the same α (seeded), no edit ` +
    `(decode → re-encode) and the SAE reconstruction without an edit (ê′<sub>t</sub> = D(z<sub>t</sub>)). A ` +
    `causal effect is claimed only where the edit's decision-shift interval lies above both the random and the ` +
    `no-edit control's. Frame SAE of cell <code>${escapeHtml(sweep.cellKey.slice(0, 12))}</code>; seed ` +
    `${sweep.seed}.</p><ul>${tasks}</ul><p><b>Verdicts</b></p><ul>${verdicts}</ul>${chart}` +
    `${tableHtml(sweep.rows)}${audioHtml(sweep, prefix, opts.players ?? true)}` +
    `<p class="note">Data: <a href="${escapeHtml(prefix)}sweep.csv">sweep.csv</a>, ` +
    `<a href="${escapeHtml(prefix)}sweep.json">sweep.json</a> (per-recording decisions, the random latents ` +
    `drawn).</p></section>`;
}

const PAGE_CSS =
  `body{font-family:system-ui,sans-serif;max-width:1300px;margin:1.5em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}
td.num{text-align:right}audio{height:28px;width:180px}.note{color:#555}li.ok{color:#1a6b1a}`;

/** Writes `<results>/steer/sweep.html`, the section as a page of its own; returns its path (null: no sweep). */
export async function writeSteerSweepPage(resultsDir: string): Promise<string | null> {
  const steerDir = join(resultsDir, STEER_SWEEP_DIR);
  const section = await steerSweepSection(resultsDir, { pageDir: steerDir, level: 1 });
  if (!section) return null;
  const path = join(steerDir, "sweep.html");
  await writeFileAtomic(
    path,
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Steering sweep</title>` +
      `<style>${PAGE_CSS}</style></head><body>\n${section}\n</body></html>\n`,
  );
  return path;
}
