/**
 * The convergent schedule: the stopping rule on hand-made loss streams, and a real training run that stops by
 * the rule, keeps its best-validation weights, and reaches the PCA-k yardstick in-sample.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { join } from "node:path";
import { takeRows, writeMatrix } from "../lib/common/matrix.ts";
import { main } from "../lib/cli/main.ts";
import { loadCheckpoint } from "../lib/sae/checkpoint.ts";
import { ConvergenceMonitor, CONVERGENT_LR } from "../lib/sae/convergence.ts";
import { saeConfig } from "../lib/sae/config.ts";
import { evaluate } from "../lib/sae/evaluate.ts";
import { fitPca, pcaExplainedVariance, saeTrained } from "../lib/sae/pca.ts";
import { trainSae } from "../lib/sae/train.ts";
import { plantedData } from "../testdata/sae_data.ts";

Deno.test("convergence rule: stops `window` steps after the last relative improvement ≥ ε; best is the minimum", () => {
  const m = new ConvergenceMonitor({ evalEvery: 10, window: 30, minImprovement: 0.01, maxSteps: 1000 });
  const stream: [number, number][] = [[0, 10], [10, 5], [20, 4], [30, 3.99], [40, 3.98], [50, 3.97]];
  const verdicts = stream.map(([step, loss]) => {
    m.observe(step, loss);
    return m.stopAfter(step);
  });
  // 3.99, 3.98, 3.97 improve by < 1 % on 4 (step 20), so the window runs out at step 50.
  assertEquals(verdicts, [null, null, null, null, null, "converged"]);
  assertEquals([m.bestStep, m.bestValLoss], [50, 3.97]);

  const capped = new ConvergenceMonitor({ evalEvery: 10, window: 100, minImprovement: 0, maxSteps: 20 });
  capped.observe(0, 3);
  capped.observe(10, 2);
  assertEquals(capped.stopAfter(10), null);
  capped.observe(20, 2.5);
  assertEquals(capped.stopAfter(20), "max-steps");
  assertEquals(capped.bestStep, 10);
  assertThrows(() => capped.observe(30, NaN), Error, "validation loss is NaN at step 30");
});

Deno.test("convergent training: stops by the rule, keeps the best-val1 weights, reaches PCA-k in-sample", async () => {
  const all = plantedData(360, 32, 4);
  const train = takeRows(all, Array.from({ length: 240 }, (_, i) => i));
  const val = takeRows(all, Array.from({ length: 120 }, (_, i) => 240 + i));
  const rule = { evalEvery: 10, window: 100, minImprovement: 1e-3, maxSteps: 3000 };
  const cfg = saeConfig(4, 0.25, 32, { lr: CONVERGENT_LR, seed: 1, epochs: 0, convergence: rule });
  const r = await trainSae(train, cfg, { val, quiet: true, threads: 1 });
  const stop = r.stopping!;
  assertEquals(stop.reason, "converged");
  assert(stop.steps < rule.maxSteps && stop.steps % rule.evalEvery === 0);
  assert(stop.steps - stop.bestStep >= rule.window, JSON.stringify(stop));
  // One record per measurement; the kept weights are the measured best.
  assertEquals(r.history.map((h) => h.step), Array.from({ length: stop.steps / 10 }, (_, i) => 10 * (i + 1)));
  const best = Math.min(...r.history.map((h) => h.valLoss!));
  assertEquals(stop.bestValLoss, best);
  assertEquals((await evaluate(r.model, val)).mse, best);
  // k = 8 of d_z = 128 ≥ 2k: a trained SAE explains at least PCA-8's share of the training variance.
  const ev = (await evaluate(r.model, train)).explainedVariance;
  const evPca = pcaExplainedVariance(fitPca(train), train, cfg.k);
  assert(saeTrained(ev, evPca), `in-sample EV ${ev} vs PCA-${cfg.k} ${evPca}`);
  // The same seed gives the same run.
  const again = await trainSae(train, cfg, { val, quiet: true, threads: 1 });
  assertEquals(again.stopping, stop);
  assertEquals(again.model.wDecT, r.model.wDecT);
});

Deno.test("convergent training: needs validation rows; cannot resume", async () => {
  const X = plantedData(64, 16, 1);
  const cfg = saeConfig(2, 0.25, 16, {
    epochs: 0,
    convergence: { evalEvery: 5, window: 10, minImprovement: 0, maxSteps: 10 },
  });
  await trainSae(X, cfg, { quiet: true }).then(
    () => assert(false, "expected an error"),
    (e) => assert(String(e).includes("needs validation rows (val1)"), String(e)),
  );
  assertThrows(
    () =>
      saeConfig(2, 0.25, 16, { convergence: { evalEvery: 5, window: 10, minImprovement: 0, maxSteps: 12 } }),
    Error,
    "convergence.maxSteps must be a positive multiple of evalEvery (5), got 12",
  );
});

Deno.test("sae train --until-converged: stops by the rule on --val, says so in the JSON summary; needs --val", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sae_conv_cli_" });
  const [log, err] = [console.log, console.error];
  const lines: string[] = [], errs: string[] = [];
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  console.error = (...a: unknown[]) => errs.push(a.join(" "));
  try {
    const xp = join(dir, "X.npy"), vp = join(dir, "V.npy"), out = join(dir, "ckpt");
    await writeMatrix(xp, plantedData(200, 16, 2));
    await writeMatrix(vp, plantedData(60, 16, 3));
    const args = ["sae", "train", "--features", xp, "--q", "4", "--s", "0.25", "--out", out, "--quiet"];
    assertEquals(await main([...args, "--val", vp, "--until-converged", "--json"]), 0);
    const summary = JSON.parse(lines.at(-1)!);
    assertEquals(summary.epochs, null);
    assertEquals(summary.stopping.reason, "converged");
    assertEquals(summary.steps, summary.stopping.steps);
    assertEquals((await loadCheckpoint(out)).model.config.lr, CONVERGENT_LR);
    errs.length = 0;
    assertEquals(await main([...args, "--until-converged"]), 2);
    assert(errs.some((e) => e.includes("--until-converged needs --val")), errs.join("\n"));
    errs.length = 0;
    assertEquals(await main([...args, "--val", vp, "--until-converged", "--epochs", "3"]), 2);
    assert(errs.some((e) => e.includes("exclude each other")), errs.join("\n"));
  } finally {
    [console.log, console.error] = [log, err];
    await Deno.remove(dir, { recursive: true });
  }
});
