/**
 * The convergent SAE schedule on a real task: for each (q, s), train on the task's train rows (val1 stops it)
 * and print in-sample explained variance vs PCA-k, the held-out (test) pair, steps, the kept step and the time
 * per SAE (wall and process CPU, one compute thread). The features come from the feature store, extracted if
 * needed, exactly as the grid reads them.
 *
 *   deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys bench/sae_schedule.ts \
 *     --manifest <cache>/datasets/saa/manifest.csv --codec lyra-3.2kbps --task us-vs-uk [--lr 0.01] \
 *     [--window 100] [--q 2,5,10,20] [--s 0.5,0.25,0.1,0.05] [--seeds 0] [--models ../shared/models]
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { takeRows } from "../lib/common/matrix.ts";
import { readManifest, type TaskId, taskSplits } from "../lib/data/mod.ts";
import { extractFeatures } from "../lib/extract/mod.ts";
import { settingsFromEnv } from "../lib/cli/settings.ts";
import { locationsOf } from "../lib/common/settings.ts";
import {
  CONVERGENCE_DEFAULTS,
  CONVERGENT_LR,
  fitPca,
  pcaExplainedVariance,
  saeConfig,
  saeMetrics,
  trainSae,
} from "../lib/sae/mod.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    manifest: { type: "string" },
    codec: { type: "string", default: "lyra-3.2kbps" },
    task: { type: "string", default: "us-vs-uk" },
    lr: { type: "string", default: String(CONVERGENT_LR) },
    window: { type: "string", default: String(CONVERGENCE_DEFAULTS.window) },
    q: { type: "string", default: "2,5,10,20" },
    s: { type: "string", default: "0.5,0.25,0.1,0.05" },
    seeds: { type: "string", default: "0" },
    models: { type: "string" },
  },
});
if (!a.manifest) throw new Error("--manifest is required");
const list = (v: string) => v.split(",").map(Number);
const fs = await extractFeatures({
  ...locationsOf(settingsFromEnv()),
  manifestPath: a.manifest,
  codecId: a.codec!,
  modelsDir: a.models,
  quiet: true,
});
const rowOf = new Map(fs.ids.map((id, i) => [id, i]));
const splits = taskSplits(await readManifest(a.manifest), a.task as TaskId);
const pick = (rows: { utterance_id: string }[]) =>
  takeRows(fs.u, rows.map((r) => rowOf.get(r.utterance_id)).filter((i): i is number => i !== undefined));
const [train, val1, test] = [pick(splits.train), pick(splits.val1), pick(splits.test)];
const pca = fitPca(train);
const convergence = { ...CONVERGENCE_DEFAULTS, window: Number(a.window) };
console.log(
  `${fs.dataset} × ${a.codec}, ${a.task}: train ${train.rows}, val1 ${val1.rows}, test ${test.rows} rows; ` +
    `lr ${a.lr}, window ${convergence.window}; load ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")}`,
);
console.log(
  "| q | s | k | seed | EV in-sample | PCA-k | EV held-out | PCA-k held-out | steps | kept step | wall s | CPU s |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const q of list(a.q!)) {
  for (const s of list(a.s!)) {
    for (const seed of list(a.seeds!)) {
      const cfg = saeConfig(q, s, train.cols, { lr: Number(a.lr), seed, epochs: 0, convergence });
      const t0 = performance.now(), c0 = process.cpuUsage();
      const r = await trainSae(train, cfg, { val: val1, quiet: true, threads: 1 });
      const wall = (performance.now() - t0) / 1000, c = process.cpuUsage(c0);
      const evIn = (await saeMetrics(r.model, train)).explainedVariance;
      const evOut = (await saeMetrics(r.model, test)).explainedVariance;
      const f = (x: number) => x.toFixed(3);
      console.log(
        `| ${q} | ${s} | ${cfg.k} | ${seed} | ${f(evIn)} | ${f(pcaExplainedVariance(pca, train, cfg.k))} | ` +
          `${f(evOut)} | ${f(pcaExplainedVariance(pca, test, cfg.k))} | ${r.stopping!.steps} | ` +
          `${r.stopping!.bestStep} | ${wall.toFixed(2)} | ${((c.user + c.system) / 1e6).toFixed(2)} |`,
      );
    }
  }
}
