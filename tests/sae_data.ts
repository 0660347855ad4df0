/** Small seeded data with planted sparse structure for the SAE tests (u = offset + Σ c_j atom_j + noise). */
import type { Matrix } from "../lib/common/matrix.ts";
import { Rng } from "../lib/common/random.ts";

export function plantedData(n: number, d: number, seed: number, active = 3): Matrix {
  const rng = new Rng(seed + 777);
  const m = 4 * d;
  const atoms = new Float32Array(m * d);
  for (let j = 0; j < m; j++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += (atoms[j * d + i] = rng.normal()) ** 2;
    for (let i = 0; i < d; i++) atoms[j * d + i] /= Math.sqrt(ss);
  }
  const offset = Array.from({ length: d }, () => rng.normal() * 0.5);
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
