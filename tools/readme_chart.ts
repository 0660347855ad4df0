/**
 * Writes the README's chart: Fig. 2/3 (ΔF1 on z) of the first task setting of a results directory, as SVG.
 * Usage: deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys tools/readme_chart.ts \
 *          [RESULTS_DIR=results/demo] [OUT=docs/img/delta_f1_demo.svg]
 */
import { deltaF1Chart, renderSvg, taskSettings } from "../lib/plots/mod.ts";
import { loadResults } from "../lib/report/mod.ts";
import { writeFileAtomic } from "../lib/common/fs.ts";

const [dir = "results/demo", out = "docs/img/delta_f1_demo.svg"] = Deno.args;
const { results } = await loadResults(dir);
const setting = taskSettings(results)[0];
await writeFileAtomic(out, await renderSvg(deltaF1Chart(results, { ...setting, feature: "z" })) + "\n");
console.log(`${out}: ΔF1 on z, ${setting.task} on ${setting.dataset}, from ${dir}`);
