/**
 * Writes the README's chart: Fig. 2/3 (ΔF1 on z) of the first task setting of a results directory, as SVG.
 * Usage: deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys tools/readme_chart.ts \
 *          [RESULTS_DIR=results/demo] [OUT=docs/img/delta_f1_demo.svg] [TASK=the first task of the results]
 */
import { deltaF1Chart, renderSvg, taskSettings } from "../lib/plots/mod.ts";
import { loadResults } from "../lib/report/mod.ts";
import { writeFileAtomic } from "../lib/common/fs.ts";

const [dir = "results/demo", out = "docs/img/delta_f1_demo.svg", task] = Deno.args;
const bundle = await loadResults(dir);
const { results } = bundle;
const settings = taskSettings(results);
const setting = task ? settings.find((s) => s.task === task) : settings[0];
if (!setting) {
  throw new Error(`${dir}: no results for task ${task} (have ${settings.map((s) => s.task).join(", ")})`);
}
await writeFileAtomic(out, await renderSvg(deltaF1Chart(bundle, { ...setting, feature: "z" })) + "\n");
console.log(`${out}: ΔF1 on z, ${setting.task} on ${setting.dataset}, from ${dir}`);
