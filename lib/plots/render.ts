/**
 * Server-side rendering and notebook display. Every chart is shown as ONE MIME bundle: the Vega-Lite v5 spec
 * (interactive in VS Code / JupyterLab), an SVG rendered here with vega's headless SVG renderer (for
 * nbconvert HTML, GitHub and the report — no canvas: vega estimates text widths), and a text fallback.
 */
import process from "node:process";
import type { TopLevelSpec } from "vega-lite";
import type { VegaLiteSpec } from "./specs.ts";
import { encodeBase64 } from "../common/base64.ts";

type Vega = typeof import("vega");
type VegaLite = typeof import("vega-lite");
let engines: Promise<[Vega, VegaLite]> | undefined;

/**
 * vega and vega-lite, imported on first use. One of vega's dependencies requires node's deprecated `punycode`,
 * which prints a DeprecationWarning to stderr of every CLI run and notebook kernel; it is silenced for the
 * import only.
 */
function loadEngines(): Promise<[Vega, VegaLite]> {
  return engines ??= (async () => {
    // Node's documented flag (missing from @types/node's Process).
    const proc = process as unknown as { noDeprecation?: boolean };
    const before = proc.noDeprecation;
    proc.noDeprecation = true;
    try {
      return await Promise.all([import("vega"), import("vega-lite")]);
    } finally {
      proc.noDeprecation = before;
    }
  })();
}

export const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";

export type MimeBundle = Record<string, unknown>;

let svgCounter = 0;
// Per process too: notebooks from several kernels can share one page (JupyterLab).
const svgSession = crypto.randomUUID().slice(0, 6);

/**
 * Renders a Vega-Lite spec to an SVG string. Element ids (clip paths, gradients) are prefixed per chart so
 * several SVGs inlined in one HTML page do not capture each other's `url(#…)` references.
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const [vega, vegaLite] = await loadEngines();
  const { spec: vgSpec } = vegaLite.compile(spec as unknown as TopLevelSpec);
  const view = new vega.View(vega.parse(vgSpec), { renderer: "none", logLevel: vega.Warn });
  try {
    const svg = await view.toSVG();
    return prefixIds(svg, `nacsae-${svgSession}-${++svgCounter}-`);
  } finally {
    view.finalize();
  }
}

function prefixIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_m, id) => `id="${prefix}${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id) => `url(#${prefix}${id})`)
    .replace(/href="#([^"]+)"/g, (_m, id) => `href="#${prefix}${id}"`);
}

function titleOf(spec: VegaLiteSpec): string {
  const t = spec.title as string | { text?: string } | undefined;
  return typeof t === "string" ? t : t?.text ?? "chart";
}

/**
 * The chart's display bundle: Vega-Lite v5 JSON + rendered SVG + a plain-text line, and the SVG once more as a
 * Markdown image (data URI). Plain `jupyter nbconvert --to html` (VS Code's export) prefers Markdown to SVG and
 * strips every SVG element it shows inline (nbconvert 6.5's clean_html); the image passes through. JupyterLab and
 * VS Code still prefer the Vega-Lite spec or the SVG to Markdown.
 */
export async function chartBundle(spec: VegaLiteSpec): Promise<MimeBundle> {
  const svg = await renderSvg(spec);
  const n = Array.isArray((spec.data as { values?: unknown[] } | undefined)?.values)
    ? (spec.data as { values: unknown[] }).values.length
    : 0;
  return {
    [VEGA_LITE_MIME]: spec,
    "image/svg+xml": svg,
    "text/markdown": `![${titleOf(spec).replace(/[\[\]]/g, "")}](data:image/svg+xml;base64,${
      encodeBase64(new TextEncoder().encode(svg))
    })`,
    "text/plain": `[chart] ${titleOf(spec)} (${n} data rows)`,
  };
}

interface JupyterApi {
  display(bundle: MimeBundle, opts: { raw: boolean }): Promise<void>;
}

/**
 * Sends one MIME bundle to the notebook (`Deno.jupyter.display`). Notebooks display this way rather than through
 * a cell's last expression: Deno's kernel can publish an execute_result after reporting the cell idle, and
 * headless runners (nbclient) then lose it.
 */
export async function jupyterDisplay(bundle: MimeBundle): Promise<void> {
  const jupyter = (Deno as unknown as { jupyter?: JupyterApi }).jupyter;
  if (!jupyter) {
    throw new Error("display: runs inside the Deno Jupyter kernel (use chartBundle / tableHtml elsewhere)");
  }
  await jupyter.display(bundle, { raw: true });
}

/** For notebooks: `await displayChart(spec)` shows the chart bundle (Vega-Lite v5 + SVG + text). */
export async function displayChart(spec: VegaLiteSpec): Promise<void> {
  await jupyterDisplay(await chartBundle(spec));
}

/** For notebooks: displays several charts, each as its own bundle. */
export async function displayCharts(specs: VegaLiteSpec[]): Promise<void> {
  for (const spec of specs) await displayChart(spec);
}
