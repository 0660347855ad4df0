import { decodeBase64 } from "../lib/common/base64.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import {
  chartBundle,
  deltaF1Chart,
  deltaF1SeedChart,
  densityChart,
  displayChart,
  renderSvg,
  trainingCurvesChart,
  VEGA_LITE_MIME,
  VEGA_LITE_SCHEMA,
} from "../lib/plots/mod.ts";
import { fixtureFrames } from "../testdata/results_fixture.ts";

const f = fixtureFrames();

/** Line marks vega draws: one `mark-line` group per series and panel. */
export function countLineMarks(svg: string): number {
  return (svg.match(/class="mark-line role-mark/g) ?? []).length;
}

Deno.test("Figs 2/3 render to SVG without a canvas: 4 panels × 3 codec lines, a zero rule per panel", async () => {
  const svg = await renderSvg(deltaF1Chart(f.results, { task: "us-vs-uk" }));
  assert(svg.startsWith("<svg"), svg.slice(0, 80));
  assertEquals(countLineMarks(svg), 12);
  for (const q of [2, 5, 10, 20]) assertStringIncludes(svg, `>q = ${q}<`);
  assertEquals((svg.match(/class="mark-rule role-mark/g) ?? []).length, 4);
  // Each panel's zero rule is a single line, not one per data row.
  const rules = svg.match(/class="mark-rule role-mark[^"]*"[^>]*>(.*?)<\/g>/g) ?? [];
  for (const r of rules) assertEquals((r.match(/<line/g) ?? []).length, 1);
  for (const codec of ["lyra-3.2kbps", "lyra-6kbps", "lyra-9.2kbps"]) assertStringIncludes(svg, codec);
  assert(!svg.includes("NaN"), "an axis label or mark position is NaN");
});

Deno.test("Fig 4 and curves render: 3 density lines; 16 panels × 2 curves", async () => {
  const density = await renderSvg(densityChart(f.density, { task: "us-vs-uk" }));
  assertEquals(countLineMarks(density), 3);
  const curves = await renderSvg(trainingCurvesChart(f.curves, { task: "us-vs-uk" }));
  assertEquals(countLineMarks(curves), 32);
});

Deno.test("SVG ids are unique per chart, so several charts can share one HTML page", async () => {
  // Clipped marks and gradient legends are what vega gives ids (and refers to with url(#id)).
  const spec = {
    $schema: VEGA_LITE_SCHEMA,
    data: { values: [{ x: 1, y: 2, c: 0.5 }, { x: 2, y: 5, c: 1 }] },
    mark: { type: "point", clip: true },
    encoding: {
      x: { field: "x", type: "quantitative", scale: { domain: [0, 1.5] } },
      y: { field: "y", type: "quantitative" },
      color: { field: "c", type: "quantitative" },
    },
  };
  const ids = (svg: string) => [...svg.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
  const refs = (svg: string) => [...svg.matchAll(/url\(#([^)]+)\)/g)].map((m) => m[1]);
  const svgA = await renderSvg(spec), svgB = await renderSvg(spec);
  const a = ids(svgA), b = ids(svgB);
  assert(a.length > 0, "vega clip paths / gradients carry ids");
  assertEquals(a.filter((x) => b.includes(x)), []);
  // Every reference still points at an element of its own chart.
  for (const r of refs(svgA)) assert(a.includes(r), r);
});

Deno.test("display bundle: Vega-Lite v5 spec + SVG + text, shown with Deno.jupyter.display", async () => {
  const spec = densityChart(f.density, { task: "us-vs-uk" });
  const bundle = await chartBundle(spec);
  assertEquals(
    Object.keys(bundle).sort(),
    [VEGA_LITE_MIME, "image/svg+xml", "text/markdown", "text/plain"].sort(),
  );
  // The Markdown image is the same SVG (what plain nbconvert HTML shows).
  const uri = (bundle["text/markdown"] as string).match(
    /\]\(data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)\)$/,
  )!;
  assertEquals(new TextDecoder().decode(decodeBase64(uri[1])), bundle["image/svg+xml"]);
  assertEquals(VEGA_LITE_MIME, "application/vnd.vegalite.v5+json");
  assertEquals(bundle[VEGA_LITE_MIME], spec);
  assertStringIncludes(bundle["text/plain"] as string, "Activation density");
  // Outside the Jupyter kernel there is nowhere to display to.
  await assertRejects(() => displayChart(spec), Error, "jupyter");
});

Deno.test("interval chart renders bands and lines per codec and panel, and no stray x value", async () => {
  const svg = await renderSvg(deltaF1SeedChart(f.results, { task: "us-vs-uk" }));
  assertEquals(countLineMarks(svg), 12);
  assertEquals((svg.match(/class="mark-area role-mark/g) ?? []).length, 12);
  assert(!svg.includes("NaN"), "an axis label or mark position is NaN");
});
