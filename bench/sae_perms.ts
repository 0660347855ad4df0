/**
 * Writes the SAE trainer's per-epoch sample orders (lib/sae/train.ts epochPermutation) as an int32 .npy
 * (epochs × N), so bench/sae_torch.py can replay exactly our batches. Usage:
 *   deno run --allow-write bench/sae_perms.ts N SEED EPOCHS OUT.npy
 */
import { writeNpy } from "../lib/formats/npy.ts";
import { epochOrders } from "../testdata/sae_orders.ts";

if (import.meta.main) {
  const [n, seed, epochs, out] = Deno.args;
  if (!out) {
    console.error("usage: deno run --allow-write bench/sae_perms.ts N SEED EPOCHS OUT.npy");
    Deno.exit(2);
  }
  await writeNpy(out, epochOrders(Number(n), Number(seed), Number(epochs)), [Number(epochs), Number(n)]);
}
