/**
 * SAE training steps per second on small corpora — the demo's shapes: 150–300 rows × d = 64 (Lyra; 128 with
 * mean+std pooling), full-batch Adam steps, d_z = q·d up to 1280 (2560). Planted-structure data
 * (testdata/sae_data.ts); each case trains `--steps` full-batch steps (epochs of one batch, no validation) after a
 * short warm-up, and reports steps per wall second and per CPU second of this process (all threads: the
 * CPU figure is the one to compare on a shared machine).
 *
 *   deno run --allow-read --allow-env --allow-ffi --allow-sys bench/sae_small_steps.ts [--steps 300] [--threads 1]
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { saeConfig } from "../lib/sae/config.ts";
import { trainSae } from "../lib/sae/train.ts";
import { plantedData } from "../testdata/sae_data.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: "string", default: "300" },
    threads: { type: "string", default: "1" },
    cases: {
      type: "string",
      default:
        "300,64,20,0.05;300,64,20,0.5;300,64,5,0.25;300,64,2,0.05;150,64,10,0.1;300,128,20,0.05;300,128,5,0.5",
    },
  },
});
const steps = Number(values.steps), threads = Number(values.threads);
const rowsOut: Record<string, unknown>[] = [];
for (const c of values.cases!.split(";")) {
  const [n, d, q, s] = c.split(",").map(Number);
  const X = plantedData(n, d, 0);
  const cfg = (epochs: number) => saeConfig(q, s, d, { epochs, batchSize: 1024, lr: 1e-3, seed: 0 });
  await trainSae(X, cfg(20), { quiet: true, threads }); // warm-up (JIT, ORT session creation paths)
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await trainSae(X, cfg(steps), { quiet: true, threads });
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const row = {
    rows: n,
    d,
    q,
    s,
    d_z: cfg(1).dZ,
    k: cfg(1).k,
    engine: r.engine,
    steps_per_s: Math.round(steps / wall),
    steps_per_cpu_s: Math.round(steps / cpuS),
  };
  rowsOut.push(row);
  console.log(JSON.stringify(row));
}
console.log(JSON.stringify({ threads, steps, loadAverage1m: Deno.loadavg()[0] }));
