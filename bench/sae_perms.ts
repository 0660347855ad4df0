/**
 * Writes the SAE trainer's per-epoch sample orders (lib/sae/train.ts epochPermutation) as an int32 .npy
 * (epochs × N), so bench/sae_torch.py can replay exactly our batches. Usage:
 *   deno run --allow-write bench/sae_perms.ts N SEED EPOCHS OUT.npy
 */
import { writeNpy } from "../lib/formats/npy.ts";
import { epochPermutation } from "../lib/sae/train.ts";

export function epochOrders(n: number, seed: number, epochs: number): Int32Array {
  const out = new Int32Array(n * epochs);
  for (let e = 0; e < epochs; e++) out.set(epochPermutation(n, seed, e), e * n);
  return out;
}

if (import.meta.main) {
  const [n, seed, epochs, out] = Deno.args;
  if (!out) {
    console.error("usage: deno run --allow-write bench/sae_perms.ts N SEED EPOCHS OUT.npy");
    Deno.exit(2);
  }
  await writeNpy(out, epochOrders(Number(n), Number(seed), Number(epochs)), [Number(epochs), Number(n)]);
}
