/** The SAE trainer's per-epoch sample orders (epochs × N), shared by the parity test and bench/sae_perms.ts. */
import { epochPermutation } from "../lib/sae/train.ts";

export function epochOrders(n: number, seed: number, epochs: number): Int32Array {
  const out = new Int32Array(n * epochs);
  for (let e = 0; e < epochs; e++) out.set(epochPermutation(n, seed, e), e * n);
  return out;
}
