/**
 * Seeded, stratified assignment of items (speakers) to train / validation / test. Within each stratum the
 * items, sorted by id, are shuffled by a generator seeded from (seed, stratum) and dealt by the midpoint
 * rule: item k of n goes to the split whose cumulative share contains (k + 0.5) / n. So each stratum is
 * split in proportion (±1), the result depends only on the set of (id, stratum) pairs and the seed, and
 * adding a speaker to one stratum leaves the others' assignment unchanged.
 */
import { Rng } from "../common/random.ts";
import { type Split, SPLITS } from "./manifest.ts";

export interface SplitFractions {
  train: number;
  validation: number;
  test: number;
}

export const DEFAULT_SPLIT_FRACTIONS: SplitFractions = { train: 0.5, validation: 0.25, test: 0.25 };

/** FNV-1a over a string, mixed into the seed so each stratum has its own stream. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** id → split, stratified by `stratum`; ids must be unique. */
export function stratifiedSplit(
  items: readonly { id: string; stratum: string }[],
  seed: number,
  fractions: SplitFractions = DEFAULT_SPLIT_FRACTIONS,
): Map<string, Split> {
  if (!Number.isInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  }
  const total = fractions.train + fractions.validation + fractions.test;
  if (Math.abs(total - 1) > 1e-9 || SPLITS.some((s) => fractions[s] < 0)) {
    throw new RangeError(
      `split fractions must be non-negative and sum to 1, got ${JSON.stringify(fractions)}`,
    );
  }
  const byStratum = new Map<string, string[]>();
  for (const it of items) byStratum.set(it.stratum, [...(byStratum.get(it.stratum) ?? []), it.id]);
  const bounds = [fractions.train, fractions.train + fractions.validation];
  const out = new Map<string, Split>();
  for (const [stratum, ids] of byStratum) {
    ids.sort();
    new Rng((seed ^ fnv1a(stratum)) >>> 0).shuffle(ids);
    ids.forEach((id, k) => {
      if (out.has(id)) throw new Error(`stratifiedSplit: duplicate id ${JSON.stringify(id)}`);
      const at = (k + 0.5) / ids.length;
      out.set(id, at < bounds[0] ? "train" : at < bounds[1] ? "validation" : "test");
    });
  }
  return out;
}
