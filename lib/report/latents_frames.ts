/**
 * The frame-level latent dashboard ("latents in time"): one self-contained HTML page for a frame-level cell —
 * inline SVG charts, base64 WAV snippets (~1 s centred on each top-activating frame), and for a few recordings a
 * time × latent activation strip aligned with the waveform, whose cursor follows the playing audio (a few lines
 * of inline script; no network). The numbers come from lib/experiment/latents_frames.ts (also written as JSON).
 */
import { join } from "node:path";
import { decodeAudio, encodeWav, resample, toMono } from "../audio/mod.ts";
import { encodeBase64 } from "../common/base64.ts";
import { exists } from "../common/fs.ts";
import { sha256File } from "../common/hash.ts";
import { type CellContext, type CellSelector, loadCellContext } from "../experiment/cell_context.ts";
import {
  type ActivationStrip,
  type FrameLatentsOptions,
  type FrameLatentsReport,
  frameLatentsReport,
  type FrameLatentStats,
} from "../experiment/latents_frames.ts";
import { escapeHtml } from "./html.ts";
import { barsSvg, type DashboardSummary, writeDashboardFiles } from "./latents.ts";

export const FRAME_DASHBOARD_FILE = "latents_frames.html";

export interface FrameDashboardOptions extends FrameLatentsOptions {
  /** Snippet length (s) around each top frame, and the embedded audio's sample rate (Hz). */
  snippetSeconds?: number;
  excerptRate?: number;
  /** Extra HTML sections appended to the page (e.g. a steering sweep), in order. */
  extraSections?: string[];
}

export interface FrameDashboardSummary extends DashboardSummary {
  seconds: number;
}

const COLORS = ["#4c78a8", "#e45756"], SEX_COLOR = "#9d6fbf";
const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : "—");
const pct = (v: number, d = 3) => `${(100 * v).toFixed(d)}%`;

/** One recording's audio as decoded once: mono at the page's rate, plus the source file's own rate. */
interface LoadedAudio {
  samples: Float32Array;
  sourceRate: number;
}

/**
 * A recording's first `seconds` as mono at `rate`, refused when the file changed since it was encoded (its
 * frames would belong to other audio).
 */
async function loadRecording(
  info: { id: string; path: string; sha256: string },
  seconds: number,
  rate: number,
): Promise<LoadedAudio> {
  if (info.sha256 !== "") {
    const now = await sha256File(info.path).catch(() => "");
    if (now !== info.sha256) {
      throw new Error(
        `${info.path} (${info.id}) changed since it was encoded (sha256 ${info.sha256.slice(0, 12)}… then, ` +
          `${now === "" ? "unreadable" : now.slice(0, 12) + "…"} now): its frames were computed from other ` +
          `audio; run the grid again to re-encode it`,
      );
    }
  }
  const { channels, sampleRate } = await decodeAudio(info.path, { maxSeconds: seconds });
  return { samples: resample(toMono(channels), sampleRate, rate), sourceRate: sampleRate };
}

function wavUri(samples: Float32Array, rate: number): string {
  return `data:audio/wav;base64,${encodeBase64(encodeWav([samples], rate))}`;
}

/** The window [start, end) of `len` seconds centred on `centre`, shifted to stay inside [0, total]. */
export function snippetWindow(centre: number, len: number, total: number): [number, number] {
  const w = Math.min(len, total);
  const start = Math.min(Math.max(0, centre - w / 2), Math.max(0, total - w));
  return [start, start + w];
}

function player(src: string, attrs = ""): string {
  return `<audio controls preload="metadata"${attrs} src="${src}"></audio>`;
}

/**
 * A recording's strip: the waveform (min/max envelope) above one row per latent, each frame where the latent
 * fires drawn as a cell whose opacity grows with the activation; a cursor line the page's script moves with
 * the audio. The SVG's data-* attributes give the plot's left edge, width and duration for that script.
 */
export function stripSvg(
  strip: ActivationStrip,
  audio: Float32Array,
  opts: { rate: number; frameRate: number; rowLabel: (j: number) => { text: string; color: string } },
): string {
  const left = 150, width = 900, waveH = 60, rowH = 16, top = 18;
  const duration = strip.frames / opts.frameRate;
  const h = top + waveH + strip.latents.length * rowH + 20;
  const x = (sec: number) => left + (sec / duration) * width;
  // Envelope: one min/max pair per pixel column over the audio that lies under the frames.
  const cols = width, per = (duration * opts.rate) / cols;
  let env = "";
  for (let c = 0; c < cols; c++) {
    const a = Math.floor(c * per), b = Math.min(audio.length, Math.floor((c + 1) * per));
    let lo = 0, hi = 0;
    for (let i = a; i < b; i++) {
      if (audio[i] < lo) lo = audio[i];
      if (audio[i] > hi) hi = audio[i];
    }
    const mid = top + waveH / 2;
    env += `M${left + c + 0.5} ${(mid - hi * (waveH / 2)).toFixed(1)}V${(mid - lo * (waveH / 2)).toFixed(1)}`;
  }
  const rows = strip.latents.map((j, r) => {
    const y = top + waveH + r * rowH, vals = strip.values[r];
    const max = Math.max(1e-12, ...vals);
    const label = opts.rowLabel(j);
    const cellW = Math.max(1.5, width / strip.frames);
    let cells = "", firing = 0;
    vals.forEach((v, t) => {
      if (v <= 0) return;
      firing++;
      cells += `<rect x="${x(t / opts.frameRate).toFixed(1)}" y="${y + 2}" width="${cellW.toFixed(1)}" ` +
        `height="${rowH - 4}" fill="${label.color}" fill-opacity="${(0.25 + (0.75 * v) / max).toFixed(2)}">` +
        `<title>z_${j} = ${fmt(v)} at ${(t / opts.frameRate).toFixed(2)} s</title></rect>`;
    });
    return `<text x="${left - 6}" y="${y + 12}" text-anchor="end" fill="${label.color}">${
      escapeHtml(label.text)
    } · ${firing} fr</text><line x1="${left}" x2="${left + width}" y1="${y + rowH}" y2="${
      y + rowH
    }" stroke="#eee"/>${cells}`;
  }).join("");
  const ticks: string[] = [];
  const step = duration > 20 ? 5 : duration > 6 ? 2 : 1;
  for (let s = 0; s <= duration + 1e-9; s += step) {
    ticks.push(`<text x="${x(s).toFixed(1)}" y="${h - 4}" text-anchor="middle">${s} s</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" class="strip" width="${left + width + 10}" height="${h}" ` +
    `font-family="sans-serif" font-size="10" data-left="${left}" data-width="${width}" data-duration="${
      duration.toFixed(3)
    }"><text x="0" y="12" font-weight="600">${
      escapeHtml(strip.id)
    }: waveform and z_t of ${strip.latents.length} latents (click to seek)</text><text x="${left - 6}" y="${
      top + waveH / 2 + 4
    }" text-anchor="end">waveform</text><path d="${env}" stroke="#888" stroke-width="1"/>${rows}${
      ticks.join("")
    }<line class="cursor" x1="${left}" x2="${left}" y1="${top}" y2="${
      h - 14
    }" stroke="#000" stroke-width="1.5"/></svg>`;
}

/** Per class grouped bars of one quantity over the shown latents. */
function classBars(
  r: FrameLatentsReport,
  title: string,
  value: (l: FrameLatentStats, c: number) => number,
  format: (v: number) => string,
): string {
  return barsSvg(
    r.latents.flatMap((l) =>
      [0, 1].map((c) => ({ label: `z_${l.latent} · ${r.classes[c]}`, value: value(l, c), color: COLORS[c] }))
    ),
    { title, format },
  );
}

function latentTable(r: FrameLatentsReport): string {
  const [c0, c1] = r.classes.map(escapeHtml);
  const head = [
    "latent",
    "probe coef (std. pooled z)",
    "k-sparse rank",
    `firing rate ${c0} / ${c1}`,
    `mean magnitude when firing ${c0} / ${c1}`,
    "cos(d_j, Δ mean u)",
  ];
  const rows = r.latents.map((l) =>
    `<tr><td><a href="#latent-${l.latent}">z_${l.latent}</a></td><td class="num">${fmt(l.coef, 4)} → ${
      escapeHtml(r.classes[l.favours])
    }</td><td class="num">${l.ksparseRank} / ${r.dZ}</td><td class="num">${pct(l.firingRate[0])} / ${
      pct(l.firingRate[1])
    }</td><td class="num">${fmt(l.meanMagnitude[0])} / ${fmt(l.meanMagnitude[1])}</td><td class="num">${
      fmt(l.cosineClassMeans)
    }</td></tr>`
  ).join("");
  return `<table class="top"><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead>` +
    `<tbody>${rows}</tbody></table>`;
}

function latentCard(l: FrameLatentStats, r: FrameLatentsReport, clips: Map<string, string>): string {
  const rows = l.top.map((t) =>
    `<tr><td>${escapeHtml(t.id)}</td><td>${escapeHtml(t.narrow)}</td><td>${
      escapeHtml(r.classes[t.label])
    }</td><td class="num">${t.frame}</td><td class="num">${t.time.toFixed(2)} s</td><td class="num">${
      fmt(t.activation)
    }</td><td>${player(clips.get(`${t.id}@${t.frame}`) ?? "")}</td></tr>`
  ).join("");
  const body = l.top.length
    ? `<table class="top"><thead><tr><th>recording</th><th>narrow accent</th><th>class</th><th>frame</th>` +
      `<th>centre</th><th>z_t</th><th>snippet</th></tr></thead><tbody>${rows}</tbody></table>`
    : `<p class="note">z_${l.latent} fires on no frame of the test recordings.</p>`;
  return `<section class="latent" id="latent-${l.latent}"><h3>Latent ${l.latent} ` +
    `<small>(coef ${fmt(l.coef, 4)} → ${escapeHtml(r.classes[l.favours])}; k-sparse rank ${l.ksparseRank}; ` +
    `fires on ${pct(l.firingRate[0])} / ${pct(l.firingRate[1])} of ${escapeHtml(r.classes[0])} / ` +
    `${escapeHtml(r.classes[1])} frames)</small></h3>` +
    `<p class="note">Top-activating frames on test, the highest frame of each recording (so snippets are not ` +
    `neighbouring frames of one recording):</p>${body}</section>`;
}

/**
 * Moves each strip's cursor with its audio and seeks on a click (inline, no network). data-bound on a strip and
 * data-duration on a player (its clip's decoded length) let a headless browser confirm both worked.
 */
const SCRIPT = `document.querySelectorAll("audio").forEach(function(a){
function m(){a.dataset.duration=a.duration.toFixed(3);}if(a.readyState>0)m();a.addEventListener("loadedmetadata",m);});
document.querySelectorAll("figure.strip").forEach(function(f){
var a=f.querySelector("audio"),s=f.querySelector("svg"),c=s.querySelector(".cursor");
var L=+s.dataset.left,W=+s.dataset.width,D=+s.dataset.duration;
function draw(){var x=L+Math.min(1,a.currentTime/D)*W;c.setAttribute("x1",x);c.setAttribute("x2",x);
if(!a.paused)requestAnimationFrame(draw);}
a.addEventListener("play",draw);a.addEventListener("timeupdate",draw);a.addEventListener("seeked",draw);
s.addEventListener("click",function(e){var r=s.getBoundingClientRect(),t=(e.clientX-r.left-L)/W*D;
if(t>=0&&t<=D){a.currentTime=t;draw();}});f.dataset.bound="1";});`;

const CSS =
  `body{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;padding:0 1em;color:#222}
h1{font-size:1.4em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}h3{margin:.2em 0}
section.latent{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;margin:1em 0}
div.charts{display:flex;flex-wrap:wrap;gap:1.5em;margin:.5em 0}table{border-collapse:collapse;font-size:13px}
td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}td.num{text-align:right}
audio{height:28px;vertical-align:middle}figure.strip{margin:1em 0}figure.strip audio{width:600px;display:block}
svg.strip{cursor:crosshair}.note{color:#555}.caveat{background:#fff8e1;border-left:4px solid #f0b429;padding:.4em .8em}`;

/** What the page embeds besides the numbers. */
export interface FrameDashboardParts {
  /** Snippets by `${id}@${frame}` and each strip recording's audio by id (data: URIs). */
  clips: Map<string, string>;
  stripAudio: Map<string, { uri: string; samples: Float32Array }>;
  snippetSeconds: number;
  rate: number;
  /** Sample rates of the source files behind the embedded audio. */
  sourceRates: number[];
  extraSections?: string[];
}

/**
 * What the audio lacks: a source sampled below the codec's rate (SAA: 8 kHz) has nothing above its Nyquist
 * frequency, so the codec heard an empty upper band and no latent can have learned high-frequency cues.
 */
function caveat(r: FrameLatentsReport, parts: FrameDashboardParts): string {
  if (parts.sourceRates.length === 0) return "No audio embedded.";
  const rates = parts.sourceRates.map((v) => `${v / 1000} kHz`).join(", ");
  const low = Math.min(...parts.sourceRates);
  if (low >= r.codecRate) {
    return `The source recordings are sampled at ${rates}, at or above the codec's ${
      r.codecRate / 1000
    } kHz.`;
  }
  return `The source recordings are sampled at ${rates}: nothing above ${
    low / 2000
  } kHz exists in them, and ` +
    `the codec heard them resampled to ${r.codecRate / 1000} kHz with an empty band above ${
      low / 2000
    } kHz — ` +
    `the latents never saw higher-frequency cues${
      r.dataset === "saa" ? " (the Speech Accent Archive recordings are 8 kHz)" : ""
    }.`;
}

/** The page from its numbers and audio (pure, so layout tests can build it without models). */
export function renderFrameLatentsDashboard(r: FrameLatentsReport, parts: FrameDashboardParts): string {
  const [c0, c1] = r.classes.map(escapeHtml);
  const sexOf = new Map(r.sexLatents.map((l) => [l.latent, l]));
  const coefOf = new Map(r.latents.map((l) => [l.latent, l]));
  const rowLabel = (j: number) => {
    const a = coefOf.get(j);
    if (a) return { text: `z_${j} → ${r.classes[a.favours]}`, color: COLORS[a.favours] };
    return { text: `z_${j} (sex #${sexOf.get(j)?.rank ?? "?"})`, color: SEX_COLOR };
  };
  const head =
    `<p>Cell <code>${escapeHtml(r.cellKey)}</code> — ${escapeHtml(r.dataset)}, ${escapeHtml(r.codec)}, ` +
    `task ${
      escapeHtml(r.task)
    } (${c0} vs ${c1}), q = ${r.q}, s = ${r.s} (k = ${r.k} of d_z = ${r.dZ}), seed ` +
    `${r.seed}; a frame-level SAE (fit on the codec frames ê_t, ${r.frameRate} frames/s), its probe on the ` +
    `pooled z = mean_t z_t; ${escapeHtml(r.chosenBy)}.</p>` +
    `<p>Macro-F1 on pooled z ${fmt(100 * r.f1, 1)} %, reference F1 on u ${fmt(100 * r.f1Ref, 1)} %, ΔF1 ` +
    `${fmt(100 * r.deltaF1, 1)} points; the L1 probe (${escapeHtml(r.probe.name)}) keeps ${r.probe.nnz} of ` +
    `${r.dZ} latents. Test recordings: ${r.nTest[0]} ${c0} (${r.nFrames[0]} frames), ${r.nTest[1]} ${c1} ` +
    `(${r.nFrames[1]} frames).</p>` +
    `<p class="caveat"><b>Audio caveat.</b> ${caveat(r, parts)} The embedded audio is the source audio, ` +
    `mono, ${parts.rate / 1000} kHz 16-bit PCM WAV as base64 data URIs (${parts.clips.size} snippets of ` +
    `${parts.snippetSeconds} s centred on the frame, frame t covering [t, t + 1) / ${r.frameRate} s; ` +
    `${parts.stripAudio.size} whole recordings under the strips).</p>`;
  const defs =
    `<p class="note">Per latent j, on the test recordings' frames z_t: <i>firing rate</i> = share ` +
    `of a class's frames with z_t[j] &gt; 0; <i>mean magnitude when firing</i> = mean z_t[j] over those frames; ` +
    `<i>cos(d_j, Δ mean u)</i> = cosine of the decoder direction with mean(u | ${c1}) − mean(u | ${c0}) over ` +
    `the train recordings (u = mean_t ê_t, so this is the recording-weighted class-mean difference of the ` +
    `frames); <i>k-sparse rank</i> = the latent's place in the ranking the grid's k-sparse probes use ` +
    `(|class-mean difference| of pooled z on the probe's training recordings; 1 = the 1-sparse probe's latent). ` +
    `The k-sparse top 20: ${r.ksparseTop.map((j) => `z_${j}`).join(", ")}.</p>`;
  const charts = `<div class="charts">${
    classBars(r, "firing rate on test frames, per class", (l, c) => l.firingRate[c], (v) => pct(v))
  }${classBars(r, "mean z_t when firing, per class", (l, c) => l.meanMagnitude[c], (v) => fmt(v))}</div>`;
  const sex = r.sexLatents.length
    ? `<p class="note">Sex latents (purple rows): the top ${r.sexLatents.length} of this SAE by the same ` +
      `ranking on the speakers' sex (|mean pooled z female − male| over ${
        r.sexLatents[0].nFemale
      } female and ` +
      `${r.sexLatents[0].nMale} male non-test recordings): ${
        r.sexLatents.map((l) => `z_${l.latent} (${fmt(l.score)})`).join(", ")
      }.</p>`
    : `<p class="note">No sex latents: the manifest gives no gender for both sexes among the non-test ` +
      `recordings.</p>`;
  const strips = r.strips.map((s) => {
    const a = parts.stripAudio.get(s.id);
    const svg = stripSvg(s, a?.samples ?? new Float32Array(0), {
      rate: parts.rate,
      frameRate: r.frameRate,
      rowLabel,
    });
    return `<figure class="strip" id="strip-${escapeHtml(s.id)}"><figcaption>${escapeHtml(s.id)} — ` +
      `${escapeHtml(r.classes[s.label])}, ${escapeHtml(s.narrow)}${
        s.gender ? `, ${escapeHtml(s.gender)}` : ""
      }; ` +
      `probe decision on pooled z ${fmt(s.decision)} (&gt; 0: ${c1})</figcaption>${
        a ? player(a.uri, ` class="strip-audio"`) : ""
      }${svg}</figure>`;
  }).join("\n");
  const title = `nac-sae latents in time — ${escapeHtml(r.dataset)} × ${escapeHtml(r.codec)}`;
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title>` +
    `<style>${CSS}</style></head><body>\n<h1>${title}</h1>\n${head}\n` +
    `<h2>Top ${r.latents.length} latents by |probe coefficient|</h2>\n${
      latentTable(r)
    }\n${defs}\n${charts}\n` +
    `<h2>Activation strips</h2>\n<p class="note">The ${r.strips.length} test recordings the probe is surest ` +
    `about (classes in turn). Rows: the task's top latents by |probe coefficient| (coloured by the class they favour) and the sex ` +
    `latents; a cell per frame where the latent fires, darker = stronger (relative to the row's maximum). ` +
    `Play the audio: the cursor follows it; click the strip to seek.</p>\n${sex}\n${strips}\n` +
    `<h2>Top-activating frames</h2>\n${r.latents.map((l) => latentCard(l, r, parts.clips)).join("\n")}\n` +
    `${(parts.extraSections ?? []).join("\n")}\n<script>${SCRIPT}</script>\n</body></html>\n`;
}

/** Builds the page of a loaded frame-level cell: numbers, then the audio each part needs (one decode a file). */
export async function buildFrameLatentsDashboard(
  ctx: CellContext,
  opts: FrameDashboardOptions = {},
): Promise<{ html: string; report: FrameLatentsReport }> {
  const len = opts.snippetSeconds ?? 1, rate = opts.excerptRate ?? 8000;
  const report = await frameLatentsReport(ctx, opts);
  // Each recording's audio up to the last second any part of the page needs.
  const need = new Map<string, number>();
  const want = (id: string, sec: number) => need.set(id, Math.max(need.get(id) ?? 0, sec));
  for (const l of report.latents) for (const t of l.top) want(t.id, t.time + len);
  for (const s of report.strips) want(s.id, s.frames / report.frameRate);
  const clips = new Map<string, string>();
  const stripAudio = new Map<string, { uri: string; samples: Float32Array }>();
  const sourceRates = new Set<number>();
  for (const [id, seconds] of [...need.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    const info = ctx.info.get(id);
    if (!info) throw new Error(`${ctx.storeDir}: no manifest entry for recording ${id}`);
    const audio = await loadRecording(info, seconds, rate);
    sourceRates.add(audio.sourceRate);
    const total = audio.samples.length / rate;
    for (const l of report.latents) {
      for (const t of l.top.filter((t) => t.id === id)) {
        const [a, b] = snippetWindow(t.time, len, total);
        clips.set(
          `${id}@${t.frame}`,
          wavUri(audio.samples.subarray(Math.floor(a * rate), Math.floor(b * rate)), rate),
        );
      }
    }
    const strip = report.strips.find((s) => s.id === id);
    if (strip) {
      const samples = audio.samples.subarray(0, Math.round((strip.frames / report.frameRate) * rate));
      stripAudio.set(id, { uri: wavUri(samples, rate), samples });
    }
  }
  const html = renderFrameLatentsDashboard(report, {
    clips,
    stripAudio,
    snippetSeconds: len,
    rate,
    sourceRates: [...sourceRates].sort((a, b) => a - b),
    extraSections: opts.extraSections,
  });
  return { html, report };
}

/**
 * Writes `<out>` (default `<results>/latents_frames.html`) and its numbers beside it (`latents_frames.json`)
 * for the selected frame-level cell (the selector's saeInput defaults to "frames").
 */
export async function writeFrameLatentsDashboard(
  resultsDir: string,
  opts: FrameDashboardOptions & { select?: CellSelector; out?: string; context?: CellContext } = {},
): Promise<FrameDashboardSummary> {
  const t0 = performance.now();
  const ctx = opts.context ??
    await loadCellContext(resultsDir, { ...opts.select, saeInput: opts.select?.saeInput ?? "frames" });
  const path = opts.out ?? join(ctx.outDir, FRAME_DASHBOARD_FILE);
  const { html, report } = await buildFrameLatentsDashboard(ctx, opts);
  return { ...await writeDashboardFiles(path, html, report), seconds: (performance.now() - t0) / 1000 };
}

/** The run report's paragraph on the frame-level dashboard: a link by file name, or how to write it. */
export async function frameLatentsReportSection(resultsDir: string): Promise<string> {
  if (!(await exists(join(resultsDir, FRAME_DASHBOARD_FILE)))) {
    return `<p>No frame-level latent dashboard in this folder. Write one for a frame-level cell with ` +
      `<code>deno task cli inspect --results ${escapeHtml(resultsDir)} --sae-input frames</code>.</p>`;
  }
  return `<p><a href="${FRAME_DASHBOARD_FILE}">${FRAME_DASHBOARD_FILE}</a>: latents in time for one ` +
    `frame-level cell — per latent its firing rate and magnitude per class, decoder-direction cosine and ` +
    `k-sparse rank, ~1 s audio snippets of its top-activating frames, and activation strips of the top accent ` +
    `and sex latents aligned with the waveform, with a cursor that follows the audio (8 kHz source audio).</p>`;
}
