/**
 * Chart rendering and report writing speed on the synthetic fixture (3 codecs × 3 settings × 16 configs).
 * Run: deno bench --allow-read --allow-write --allow-env --allow-ffi --allow-sys --allow-run bench/report_render_bench.ts
 */
import { deltaF1Chart, densityChart, renderSvg, trainingCurvesChart } from "../lib/plots/mod.ts";
import { writeReport } from "../lib/report/mod.ts";
import { fixtureFrames, writeFixtureResults } from "../testdata/results_fixture.ts";

const f = fixtureFrames();
const fig2 = deltaF1Chart(f.results, { task: "us-vs-uk" });
const fig4 = densityChart(f.density, { task: "us-vs-uk" });
const curves = trainingCurvesChart(f.curves, { task: "us-vs-uk" });
const dir = await Deno.makeTempDir({ prefix: "nac-sae-bench-" });
await writeFixtureResults(dir);
await renderSvg(fig4); // load vega once, outside the timings

Deno.bench("renderSvg Fig 2 (4 panels × 3 codecs)", async () => {
  await renderSvg(fig2);
});
Deno.bench("renderSvg Fig 4 (16 groups × 3 codecs)", async () => {
  await renderSvg(fig4);
});
Deno.bench("renderSvg SAE curves (16 panels)", async () => {
  await renderSvg(curves);
});
Deno.bench("writeReport (10 charts, 5 tables)", { n: 5 }, async () => {
  await writeReport(dir);
});
