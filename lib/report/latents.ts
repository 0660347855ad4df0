/**
 * The latent dashboard: one self-contained HTML page for one grid cell (inline SVG charts, embedded audio, no
 * scripts or network) showing which SAE latents the accent probe uses and what they respond to, with short
 * audio excerpts of each latent's top-activating test utterances and, when a steering run sits beside it, the
 * flip-rate table and the steered WAVs. The numbers come from lib/experiment/latents.ts (also written as JSON).
 */
import { join, relative } from "node:path";
import { encodeWav, loadAudio } from "../audio/mod.ts";
import { sha256File } from "../common/hash.ts";
import { exists, readJson, writeFileAtomic, writeJsonAtomic } from "../common/fs.ts";
import { type CellContext, type CellSelector, loadCellContext } from "../experiment/cell_context.ts";
import {
  type LatentsOptions,
  type LatentsReport,
  latentsReport,
  type LatentStats,
} from "../experiment/latents.ts";
import { steerCell, type SteerResult } from "../experiment/steer.ts";
import { log } from "../common/progress.ts";
import { type Locations, locationsOf } from "../common/settings.ts";
import { encodeBase64 } from "../common/base64.ts";
import { escapeHtml } from "./html.ts";

export const DASHBOARD_FILE = "latents.html";
export const DASHBOARD_JSON = "latents.json";
/** Where the demo (and `steer --out` by default next to a dashboard) keeps its steering run. */
export const STEER_DIR = "steer";
/** The page-size goal: a dashboard over this warns (audio excerpts dominate its size). */
export const DASHBOARD_MAX_BYTES = 10_000_000;

export interface DashboardOptions extends LatentsOptions {
  /** Excerpt length (s) and sample rate (Hz) of the embedded audio: mono 16-bit PCM WAV, base64. */
  excerptSeconds?: number;
  excerptRate?: number;
  /** A steering run's folder (with steer.json) to show and link; default `<results>/steer` when present. */
  steerDir?: string;
}

export interface DashboardSummary {
  path: string;
  json: string;
  bytes: number;
  svg: number;
  audio: number;
  cellKey: string;
  latents: number[];
}

const COLORS = ["#4c78a8", "#e45756"];

const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : "—");
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** Groups of the test split smaller than this are not drawn as a share (1 recording reads as 0 % or 100 %). */
export const MIN_GROUP = 5;

/** Width (px) of a text at 11 px sans-serif, generously: SVG text is not measured here, so estimate wide. */
function textWidth(text: string): number {
  return Math.ceil(text.length * 6.6) + 6;
}

/**
 * Horizontal bars with labels; values ≥ 0. The SVG is as wide as its labels and value texts need, so no label
 * is cut (a fixed width cut "1.524 → Non-US-UK" to "1.524 → Non").
 */
export function barsSvg(
  items: { label: string; value: number; color?: string; note?: string }[],
  opts: { title: string; max?: number; format?: (v: number) => string },
): string {
  const row = 16, barW = 380;
  const f = opts.format ?? ((v: number) => fmt(v));
  const valueText = (it: { value: number; note?: string }) => `${f(it.value)}${it.note ? ` ${it.note}` : ""}`;
  const left = Math.max(60, ...items.map((it) => textWidth(it.label) + 6));
  const right = Math.max(40, ...items.map((it) => textWidth(valueText(it)) + 4));
  const width = Math.max(left + barW + right, textWidth(opts.title) + 12);
  const max = opts.max ?? Math.max(1e-12, ...items.map((i) => i.value));
  const h = 22 + items.length * row + 4;
  const bars = items.map((it, i) => {
    const y = 22 + i * row, w = Math.max(0, (it.value / max) * barW);
    return `<text x="${left - 6}" y="${y + 11}" text-anchor="end">${escapeHtml(it.label)}</text>` +
      `<rect x="${left}" y="${y + 2}" width="${w.toFixed(1)}" height="${row - 4}" fill="${
        it.color ?? COLORS[0]
      }"/>` +
      `<text x="${(left + w + 4).toFixed(1)}" y="${y + 11}">${escapeHtml(valueText(it))}</text>`;
  }).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" font-family="sans-serif" ` +
    `font-size="11"><text x="0" y="13" font-weight="600">${escapeHtml(opts.title)}</text>${bars}</svg>`;
}

/** Activation histogram per class: grouped vertical bars over the bins (bin 0 holds the zeros). */
export function histogramSvg(l: LatentStats, classes: [string, string]): string {
  const w = 360, h = 150, pad = 28, bins = l.histogram.counts[0].length;
  const max = Math.max(1, ...l.histogram.counts[0], ...l.histogram.counts[1]);
  const bw = (w - pad - 8) / bins;
  const bars: string[] = [];
  for (let b = 0; b < bins; b++) {
    for (const c of [0, 1]) {
      const v = l.histogram.counts[c][b], bh = (v / max) * (h - 2 * pad);
      bars.push(
        `<rect x="${(pad + b * bw + (c * bw) / 2).toFixed(1)}" y="${(h - pad - bh).toFixed(1)}" ` +
          `width="${(bw / 2 - 1).toFixed(1)}" height="${bh.toFixed(1)}" fill="${COLORS[c]}"><title>${
            escapeHtml(classes[c])
          }: ${v}</title></rect>`,
      );
    }
  }
  const edges = l.histogram.edges;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" ` +
    `font-size="10"><text x="0" y="12" font-weight="600">z_${l.latent} on test, per class (counts; first bin ` +
    `includes 0)</text>${bars.join("")}` +
    `<line x1="${pad}" y1="${h - pad}" x2="${w - 8}" y2="${h - pad}" stroke="#444"/>` +
    `<text x="${pad}" y="${h - pad + 12}">0</text><text x="${w - 8}" y="${h - pad + 12}" text-anchor="end">${
      fmt(edges[edges.length - 1], 2)
    }</text><text x="2" y="${pad + 4}">${max}</text>` +
    `<rect x="${w - 150}" y="20" width="8" height="8" fill="${COLORS[0]}"/><text x="${w - 138}" y="28">${
      escapeHtml(classes[0])
    }</text><rect x="${w - 150}" y="32" width="8" height="8" fill="${COLORS[1]}"/><text x="${
      w - 138
    }" y="40">${escapeHtml(classes[1])}</text></svg>`;
}

/** The first `seconds` of a file as a mono 16-bit WAV at `rate`, base64 (a data: URI for <audio>). */
export async function audioExcerpt(path: string, seconds: number, rate: number): Promise<string> {
  const audio = await loadAudio(path, { sampleRate: rate, maxSeconds: seconds });
  return `data:audio/wav;base64,${encodeBase64(encodeWav([audio], rate))}`;
}

/**
 * The excerpt of a recording as it was encoded: a file changed since (its sha256 differs from the store's) is
 * refused — its audio would be shown as "top-activating" for numbers computed from other audio.
 */
export async function encodedExcerpt(
  info: { id: string; path: string; sha256: string },
  opts: { seconds: number; rate: number },
): Promise<string> {
  if (info.sha256 !== "") {
    const now = await sha256File(info.path).catch(() => "");
    if (now !== info.sha256) {
      throw new Error(
        `${info.path} (${info.id}) changed since it was encoded (sha256 ${info.sha256.slice(0, 12)}… then, ` +
          `${
            now === "" ? "unreadable" : now.slice(0, 12) + "…"
          } now): its latents were computed from other ` +
          `audio; run the grid again to re-encode it and recompute the cells`,
      );
    }
  }
  return await audioExcerpt(info.path, opts.seconds, opts.rate);
}

/** An audio player; preload="metadata" so it shows the clip's length before it is played (not "0:00 / 0:00"). */
function player(src: string): string {
  return `<audio controls preload="metadata" src="${src}"></audio>`;
}

/**
 * The per-accent bars of a latent: groups of at least MIN_GROUP test recordings, largest first, each labelled
 * with its n; smaller groups are listed under the chart instead of drawn at 0 % or 100 %.
 */
export function narrowBarsHtml(l: LatentStats): string {
  const shown = l.byNarrow.filter((b) => b.n >= MIN_GROUP).sort((a, b) =>
    b.n - a.n || a.accent.localeCompare(b.accent)
  );
  const tiny = l.byNarrow.filter((b) => b.n < MIN_GROUP);
  const title = `share of test recordings with z_${l.latent} > 0, by narrow accent (n = recordings)`;
  const svg = shown.length > 0
    ? barsSvg(
      shown.map((b) => ({ label: `${b.accent} (n=${b.n})`, value: b.freq, color: "#72b7b2" })),
      { title, max: 1, format: pct },
    )
    : `<p class="note">${escapeHtml(title)}: no accent has ${MIN_GROUP} or more test recordings.</p>`;
  const note = tiny.length > 0
    ? `<p class="note">Not drawn: ${tiny.length} accent${tiny.length === 1 ? "" : "s"} with fewer than ` +
      `${MIN_GROUP} test recordings (a share of so few reads as 0 % or 100 %): ${
        tiny.map((b) => `${escapeHtml(b.accent)} (${b.n})`).join(", ")
      }.</p>`
    : "";
  return `<div>${svg}${note}</div>`;
}

function latentCard(l: LatentStats, r: LatentsReport, clips: Map<string, string>): string {
  const cls = r.classes;
  const stats = [
    ["probe coefficient (standardized z)", `${fmt(l.coef, 4)} (favours ${escapeHtml(cls[l.favours])})`],
    [
      `active on test: ${escapeHtml(cls[0])} / ${escapeHtml(cls[1])}`,
      `${pct(l.freq[0])} / ${pct(l.freq[1])}`,
    ],
    ["mean z on test per class", `${fmt(l.meanActivation[0])} / ${fmt(l.meanActivation[1])}`],
    ["cos(decoder direction, mean u class 1 − class 0; train)", fmt(l.cosineClassMeans)],
    [
      `class purity of top ${l.top.length} (in favoured class, task-labelled only)`,
      l.classPurity === null ? "—" : pct(l.classPurity),
    ],
    [
      "narrow-accent purity of top",
      l.narrowPurity ? `${escapeHtml(l.narrowPurity.accent)} ${pct(l.narrowPurity.share)}` : "—",
    ],
  ].map(([k, v]) => `<tr><td>${k}</td><td class="num">${v}</td></tr>`).join("");
  const narrowBars = narrowBarsHtml(l);
  const top = l.top.map((t) =>
    `<tr><td>${escapeHtml(t.id)}</td><td>${escapeHtml(t.narrow)}</td><td>${
      t.label === null ? "(not in task)" : escapeHtml(cls[t.label])
    }</td><td class="num">${fmt(t.activation)}</td><td>${player(clips.get(t.id) ?? "")}</td></tr>`
  ).join("");
  return `<section class="latent" id="latent-${l.latent}"><h3>Latent ${l.latent}</h3>` +
    `<table class="stats">${stats}</table><div class="charts">${histogramSvg(l, cls)}${narrowBars}</div>` +
    `<table class="top"><thead><tr><th>top-activating test utterance</th><th>narrow accent</th><th>class</th>` +
    `<th>z</th><th>excerpt</th></tr></thead><tbody>${top}</tbody></table></section>`;
}

/** The steering table and its WAVs: players on the dashboard, plain links in the run report (kept light). */
function steerSection(steer: SteerResult, relDir: string, players = true): string {
  const head = [
    "condition",
    "target decisions / n",
    "flip rate",
    "95 % Wilson",
    "decision shift",
    "along δ / ‖δ‖",
    "LSD dB",
  ];
  const rows = steer.table.map((t) =>
    `<tr><td>${t.condition}</td><td class="num">${t.flips} / ${t.n}</td><td class="num">${
      pct(t.flip_rate)
    }</td><td class="num">[${pct(t.flip_low)}, ${pct(t.flip_high)}]</td><td class="num">${
      fmt(t.mean_decision_shift)
    }</td><td class="num">${
      t.mean_along_ratio === null ? "—" : fmt(t.mean_along_ratio)
    }</td><td class="num">${t.mean_lsd_db === null ? "—" : fmt(t.mean_lsd_db, 2)}</td></tr>`
  ).join("");
  const wavs = steer.utterances.filter((u) => u.wavs).map((u) =>
    `<tr><td>${escapeHtml(u.id)} (${escapeHtml(u.narrow)})</td>${
      (["none", "edit", "random"] as const).map((c) =>
        `<td>${players ? `${player(`${relDir}/${u.wavs![c]}`)} ` : ""}<a href="${relDir}/${
          u.wavs![c]
        }">${c}</a></td>`
      ).join("")
    }</tr>`
  ).join("");
  const what = steer.edit === "ablate"
    ? `ablating latents ${steer.latents.join(", ")} (δ = −Σ z_j d_j)`
    : steer.edit === "add"
    ? `adding ${fmt(steer.alpha ?? 0)} · d_${steer.latents[0]}`
    : `moving toward ${escapeHtml(steer.classes[steer.target])} along the probe-weighted latents ` +
      `${steer.latents.join(", ")} (‖δ‖ = ${fmt(steer.alpha ?? 0)} × distance between class means of u)`;
  return `<h2>Steering through the decoder</h2><p>Edit: ${what}, on ${steer.utterances.length} test ` +
    `utterances of class ${
      escapeHtml(steer.classes[steer.source])
    } (first ${steer.seconds} s of each). δ is ` +
    `added to every frame of ê, decoded with the codec's decoder, re-encoded, and the reference probe on u decides ` +
    `the class of u′. A flip is a decision for ${escapeHtml(steer.classes[steer.target])}. ` +
    `<i>random</i>: a random direction of the same norm; <i>none</i>: decode → re-encode alone; <i>original</i>: ` +
    `u of the crop before any decode (the probe's own errors). Decision shift is ` +
    `toward the target class, against u before decoding. LSD: log-spectral distance to the unedited decode.</p>` +
    `<table class="top"><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>${rows}` +
    `</tbody></table><p>The steered audio (16 kHz WAV files beside this page, linked, not embedded):</p>` +
    `<table class="top"><thead><tr><th>utterance</th><th>none (unedited decode)</th><th>edit</th>` +
    `<th>random</th></tr></thead><tbody>${wavs}</tbody></table>`;
}

const CSS =
  `body{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;padding:0 1em;color:#222}
h1{font-size:1.4em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}h3{margin:.2em 0}
section.latent{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;margin:1em 0}
div.charts{display:flex;flex-wrap:wrap;gap:1.5em;margin:.5em 0}table{border-collapse:collapse;font-size:13px}
td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}td.num{text-align:right}
audio{height:28px;vertical-align:middle}.note{color:#555}`;

/** Builds the dashboard page of a loaded cell. */
export async function buildLatentsDashboard(
  ctx: CellContext,
  opts: DashboardOptions & { steer?: { result: SteerResult; relDir: string } } = {},
): Promise<{ html: string; report: LatentsReport }> {
  const seconds = opts.excerptSeconds ?? 3, rate = opts.excerptRate ?? 8000;
  const report = await latentsReport(ctx, opts);
  const clips = new Map<string, string>();
  for (const l of report.latents) {
    for (const t of l.top) {
      if (!clips.has(t.id)) clips.set(t.id, await encodedExcerpt(ctx.info.get(t.id)!, { seconds, rate }));
    }
  }
  const coef = [...ctx.zProbe.coef.entries()].filter(([, c]) => c !== 0)
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]) || a[0] - b[0]).slice(0, 30);
  const html = renderLatentsDashboard(report, { coef, clips, seconds, rate, steer: opts.steer });
  return { html, report };
}

/**
 * The dashboard page from its numbers (pure: no audio decoding or model loading, so layout tests can build it):
 * the report, the probe's largest coefficients on z as [latent, coefficient], the audio clips by utterance id.
 */
export function renderLatentsDashboard(
  r: LatentsReport,
  parts: {
    coef: [number, number][];
    clips: Map<string, string>;
    seconds: number;
    rate: number;
    steer?: { result: SteerResult; relDir: string };
  },
): string {
  const { clips, seconds, rate } = parts;
  const coefBars = barsSvg(
    parts.coef.map(([j, c]) => ({
      label: `z_${j}`,
      value: Math.abs(c),
      color: COLORS[c > 0 ? 1 : 0],
      note: `→ ${r.classes[c > 0 ? 1 : 0]}`,
    })),
    { title: "|probe coefficient| on standardized z (top 30 non-zero; colour: favoured class)" },
  );
  const head =
    `<p>Cell <code>${escapeHtml(r.cellKey)}</code> — ${escapeHtml(r.dataset)}, ${escapeHtml(r.codec)}, ` +
    `task ${escapeHtml(r.task)} (${escapeHtml(r.classes[0])} vs ${escapeHtml(r.classes[1])}), q = ${r.q}, ` +
    `s = ${r.s} (k = ${r.k} of d_z = ${r.dZ}), seed ${r.seed}; ${escapeHtml(r.chosenBy)}.</p>` +
    `<p>Macro-F1 on z ${fmt(100 * r.f1, 1)} %, reference F1 on u ${fmt(100 * r.f1Ref, 1)} %, ΔF1 ` +
    `${fmt(100 * r.deltaF1, 1)} points. ` +
    `The L1 probe on z (${
      escapeHtml(r.probe.name)
    }, C = ${r.probe.C}) keeps <b>${r.probe.nnz} of ${r.dZ}</b> ` +
    `latents (${pct(r.probe.nnz / r.dZ)}). Test utterances: ${r.nTaskTest[0]} ${escapeHtml(r.classes[0])}, ` +
    `${r.nTaskTest[1]} ${
      escapeHtml(r.classes[1])
    }; the whole test split (${r.nSplitTest} utterances, every ` +
    `narrow accent: ${
      Object.entries(r.testNarrow).map(([a, n]) => `${escapeHtml(a)} ${n}`).join(", ")
    }) is used for top-activating utterances and per-accent shares.</p>` +
    `<p class="note">Audio: the embedded excerpts are the first ${seconds} s of each source file, mono, ` +
    `${rate / 1000} kHz 16-bit PCM WAV as base64 data URIs (${clips.size} distinct utterances).</p>`;
  const steer = parts.steer ? steerSection(parts.steer.result, parts.steer.relDir) : "";
  const title = `nac-sae latent dashboard — ${escapeHtml(r.dataset)} × ${escapeHtml(r.codec)}`;
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title>` +
    `<style>${CSS}</style></head><body>\n<h1>${title}</h1>\n${head}\n<figure>${coefBars}</figure>\n` +
    `<h2>Top ${r.latents.length} latents by |probe coefficient|</h2>\n` +
    r.latents.map((l) => latentCard(l, r, clips)).join("\n") + `\n${steer}\n</body></html>\n`;
}

/**
 * Writes `<out>` (default `<results>/latents.html`) and its numbers beside it (`latents.json`) for the selected
 * cell; links a steering run found in `steerDir` (default `<results>/steer`).
 */
export async function writeLatentsDashboard(
  resultsDir: string,
  opts: DashboardOptions & { select?: CellSelector; out?: string; context?: CellContext } = {},
): Promise<DashboardSummary> {
  const ctx = opts.context ?? await loadCellContext(resultsDir, opts.select ?? {});
  const path = opts.out ?? join(ctx.outDir, DASHBOARD_FILE);
  const steerDir = opts.steerDir ?? join(ctx.outDir, STEER_DIR);
  let steer: { result: SteerResult; relDir: string } | undefined;
  if (await exists(join(steerDir, "steer.json"))) {
    const result = await readJson<SteerResult>(join(steerDir, "steer.json"));
    if (result.cellKey === ctx.cellKey) {
      steer = { result, relDir: relative(join(path, ".."), steerDir) || "." };
    }
  }
  const { html, report } = await buildLatentsDashboard(ctx, { ...opts, steer });
  return await writeDashboardFiles(path, html, report);
}

/**
 * Writes a dashboard page and its JSON beside it (`<page>.json`), and says what the page holds: the latent
 * dashboard's and the frame-level one's shared last step.
 */
export async function writeDashboardFiles(
  path: string,
  html: string,
  report: { cellKey: string; latents: { latent: number }[] },
): Promise<DashboardSummary> {
  await writeFileAtomic(path, html);
  const json = path.replace(/\.html?$/, "") + ".json";
  await writeJsonAtomic(json, report);
  return {
    path,
    json,
    bytes: new TextEncoder().encode(html).length,
    svg: (html.match(/<svg/g) ?? []).length,
    audio: (html.match(/<audio/g) ?? []).length,
    cellKey: report.cellKey,
    latents: report.latents.map((l) => l.latent),
  };
}

/**
 * The run report's section on latents: a link to the dashboard beside the report (by file name) and the
 * steering run's flip-rate table when present; otherwise how to write them.
 */
export async function latentsReportSection(resultsDir: string): Promise<string> {
  const dash = join(resultsDir, DASHBOARD_FILE);
  if (!(await exists(dash))) {
    return `<p>No latent dashboard in this folder. Write one with <code>deno task cli inspect --results ` +
      `${
        escapeHtml(resultsDir)
      }</code> (and hear steering with <code>deno task cli steer --results …</code>).</p>`;
  }
  let html =
    `<p><a href="${DASHBOARD_FILE}">${DASHBOARD_FILE}</a>: the latent dashboard of one cell — latents ` +
    `ranked by |probe coefficient| on z, their activation per class and per narrow accent, decoder-direction ` +
    `cosines, and audio excerpts of their top-activating test utterances.</p>`;
  const steerJson = join(resultsDir, STEER_DIR, "steer.json");
  if (await exists(steerJson)) {
    const steer = await readJson<SteerResult>(steerJson);
    html += steerSection(steer, STEER_DIR, false).replace("<h2>Steering through the decoder</h2>", "") +
      `<p>Tables: <a href="${STEER_DIR}/flip_rates.csv">${STEER_DIR}/flip_rates.csv</a>, ` +
      `<a href="${STEER_DIR}/flip_rates.json">${STEER_DIR}/flip_rates.json</a>.</p>`;
  }
  return html;
}

/**
 * The demo's closing step: for the most interpretable cell (or `select`), a steering run on a handful of test
 * utterances into `<results>/steer` (when the cell's codec has a decoder) and the dashboard linking it.
 */
export async function writeLatentsAndSteering(
  resultsDir: string,
  opts: Locations & { select?: CellSelector; utterances?: number; seconds?: number; quiet?: boolean } = {},
): Promise<{ dashboard: DashboardSummary; steer: SteerResult | null }> {
  const ctx = await loadCellContext(resultsDir, opts.select ?? {});
  let steer: SteerResult | null = null;
  try {
    steer = await steerCell(ctx, {
      ...locationsOf(opts),
      edit: "toward",
      utterances: opts.utterances ?? 4,
      seconds: opts.seconds ?? 3,
      outDir: join(ctx.outDir, STEER_DIR),
      modelsDir: ctx.modelsDir,
      quiet: opts.quiet,
    });
  } catch (e) {
    // A codec without a decoder (or a mean+std run) still gets its dashboard; the reason is shown.
    log(`steering skipped: ${(e as Error).message}`, opts.quiet);
  }
  const dashboard = await writeLatentsDashboard(resultsDir, { context: ctx });
  return { dashboard, steer };
}
