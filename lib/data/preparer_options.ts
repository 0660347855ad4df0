/**
 * The options each built-in preparer takes from a run config's `datasets[].options`, checked before any work.
 * Free of any table library: the run config reads it.
 */

type OptionKind = "count" | "fractions" | "speakers";

/** Option → what it holds: a non-negative integer, SAA's split fractions, or a list of speaker ids. */
export const PREPARER_OPTIONS: Record<string, Readonly<Record<string, OptionKind>>> = {
  fsdd: {},
  saa: { seed: "count", splitFractions: "fractions", testSpeakers: "speakers" },
  synthetic: { seed: "count", speakersPerAccent: "count", utterancesPerSpeaker: "count", workers: "count" },
};

function valueProblem(kind: OptionKind, value: unknown): string | null {
  if (kind === "count") {
    return typeof value === "number" && Number.isInteger(value) && value >= 0
      ? null
      : "a non-negative integer";
  }
  if (kind === "speakers") {
    return Array.isArray(value) && value.length > 0 &&
        value.every((v) => typeof v === "string" && v.trim() !== "")
      ? null
      : "a non-empty list of speaker ids";
  }
  const f = value as Record<string, unknown> | null;
  const keys = ["train", "validation", "test"];
  const ok = f !== null && typeof f === "object" && !Array.isArray(f) &&
    Object.keys(f).every((k) => keys.includes(k)) &&
    keys.every((k) => typeof f[k] === "number" && (f[k] as number) >= 0) &&
    Math.abs(keys.reduce((a, k) => a + (f[k] as number), 0) - 1) <= 1e-9;
  return ok ? null : '{"train": T, "validation": V, "test": S}, non-negative and summing to 1';
}

/**
 * An unknown key (a typo, or an option of another dataset) or a value of the wrong kind is an error naming
 * the key and what is accepted. Returns the problem, or null.
 */
export function preparerOptionsProblem(dataset: string, options: Record<string, unknown>): string | null {
  const known = PREPARER_OPTIONS[dataset] ?? {};
  for (const [key, value] of Object.entries(options)) {
    const kind = known[key];
    if (!kind) {
      const names = Object.keys(known);
      return `unknown option "${key}" for dataset ${JSON.stringify(dataset)} (` +
        (names.length ? `it takes ${names.join(", ")}` : "it takes no options") + ")";
    }
    const want = valueProblem(kind, value);
    if (want) return `option "${key}" must be ${want}, got ${JSON.stringify(value)}`;
  }
  return null;
}
