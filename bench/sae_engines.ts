/**
 * Engine crossover: seconds per training step of the "sparse" and "dense" SAE engines at several (q, s), to
 * set SPARSE_MAX_DENSITY in lib/sae/engine.ts. Usage:
 *   deno run --allow-read --allow-env --allow-ffi --allow-sys bench/sae_engines.ts X.npy [rows=4096] [d-configs "q,s;q,s;..."]
 */
import { readMatrix, takeRows } from "../lib/common/matrix.ts";
import { saeConfig } from "../lib/sae/config.ts";
import { trainSae } from "../lib/sae/train.ts";

const [path, rowsArg, specArg] = Deno.args;
const X0 = await readMatrix(path);
const n = Math.min(Number(rowsArg ?? 4096), X0.rows);
const X = takeRows(X0, Array.from({ length: n }, (_, i) => i));
const specs = (specArg ?? "20,0.05;2,0.05;10,0.1;5,0.1;20,0.25;2,0.25;2,0.5;20,0.5").split(";")
  .map((t) => t.split(",").map(Number));
for (const [q, s] of specs) {
  const row: Record<string, unknown> = { d: X.cols, q, s };
  for (const engine of ["sparse", "dense"] as const) {
    const cfg = saeConfig(q, s, X.cols, { epochs: 1, engine });
    row.k_over_dz = +(cfg.k / cfg.dZ).toFixed(4);
    const r = await trainSae(X, cfg, { quiet: true });
    row[`${engine}_s_per_step`] = +(r.history[0].seconds / Math.ceil(n / cfg.batchSize)).toFixed(3);
  }
  console.log(JSON.stringify(row));
}
