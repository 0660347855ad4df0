/**
 * Key style of what the toolkit writes for others to read (JSON summaries, checkpoint metadata): snake_case,
 * converted at the boundary from the camelCase of the TypeScript objects, and back when reading.
 */

/**
 * "dIn" → "d_in", "samplesPerS" → "samples_per_s". Only identifier-like camelCase keys change: keys that are
 * data (accent labels such as "North America", task ids such as "us-vs-uk", snake_case keys) stay as they are.
 */
export function snakeKey(key: string): string {
  if (!/^[a-z][a-zA-Z0-9]*$/.test(key)) return key;
  return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

/** "d_in" → "dIn", "samples_per_s" → "samplesPerS"; keys already in camelCase are unchanged. */
export function camelKey(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function mapKeys(value: unknown, f: (k: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => mapKeys(v, f));
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [f(k), mapKeys(v, f)]));
  }
  return value;
}

/** A deep copy of plain objects and arrays with every key in snake_case. */
export function toSnakeKeys<T = Record<string, unknown>>(value: unknown): T {
  return mapKeys(value, snakeKey) as T;
}

/** A deep copy of plain objects and arrays with every key in camelCase. */
export function toCamelKeys<T>(value: unknown): T {
  return mapKeys(value, camelKey) as T;
}
