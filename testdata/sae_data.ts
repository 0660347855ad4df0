/**
 * Seeded synthetic SAE training data with planted sparse structure, like the acceptance check's generator:
 * u = offset + Σ_{j∈S} c_j D_j + 0.05·noise with 4d unit-norm atoms D, |S| = max(4, d/64), c_j ~ 0.5 + Exp(1).
 * Shared by the SAE tests and benchmarks (bench/sae_data.ts writes it as .npy).
 */
import type { Matrix } from "../lib/common/matrix.ts";
import { Rng } from "../lib/common/random.ts";

export function plantedData(
  n: number,
  d: number,
  seed: number,
  active = Math.max(4, Math.floor(d / 64)),
): Matrix {
  const rng = new Rng(seed + 777);
  const m = 4 * d;
  const atoms = new Float32Array(m * d);
  for (let j = 0; j < m; j++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += (atoms[j * d + i] = rng.normal()) ** 2;
    for (let i = 0; i < d; i++) atoms[j * d + i] /= Math.sqrt(ss);
  }
  const offset = Array.from({ length: d }, () => (2 * rng.normal() * Math.sqrt(active)) / Math.sqrt(d));
  const data = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < d; i++) data[r * d + i] = offset[i] + 0.05 * rng.normal();
    for (let a = 0; a < active; a++) {
      const j = rng.int(m), c = 0.5 - Math.log(1 - rng.next());
      for (let i = 0; i < d; i++) data[r * d + i] += c * atoms[j * d + i];
    }
  }
  return { rows: n, cols: d, data };
}
