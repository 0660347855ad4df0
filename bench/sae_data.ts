/**
 * Writes the planted SAE training data of testdata/sae_data.ts as .npy:
 *   deno run --allow-write bench/sae_data.ts N D SEED OUT.npy
 */
import { writeMatrix } from "../lib/common/matrix.ts";
import { plantedData } from "../testdata/sae_data.ts";

if (import.meta.main) {
  const [n, d, seed, out] = Deno.args;
  if (!out) {
    console.error("usage: deno run --allow-write bench/sae_data.ts N D SEED OUT.npy");
    Deno.exit(2);
  }
  await writeMatrix(out, plantedData(Number(n), Number(d), Number(seed)));
}
