/**
 * Declared validation tables (one table of keys → type, constraints, default; nested levels), checked once at
 * the boundary. The same table validates a parsed JSON value (errors name the path, e.g.
 * `sae.learning_rate: unknown key; did you mean lr?`) and generates the JSON Schema that editors use, so
 * the two never drift. Numbers from the command line go through the same `checkNumber`.
 */

/** Numeric constraints, shared by config fields and CLI flags (see limits.ts). */
export interface NumberRule {
  integer?: boolean;
  min?: number;
  max?: number;
  /** Strict lower bound (value > exclusiveMin). */
  exclusiveMin?: number;
}

interface Base {
  description?: string;
  /** Used when the key is absent (or undefined); applies to object fields only. */
  default?: unknown;
  /** A required key of its object. */
  required?: boolean;
  /** Common misspellings or other-tool names that get a "did you mean" hint. */
  aliases?: readonly string[];
}

export type Spec =
  | Base & { type: "string"; enum?: readonly string[]; const?: string }
  /** A non-empty string resolved against the config file's folder. */
  | Base & { type: "path" }
  | Base & { type: "number"; rule: NumberRule }
  | Base & { type: "boolean" }
  | Base & { type: "array"; items: Spec; minItems?: number; unique?: boolean }
  | Base & { type: "object"; fields: Record<string, Spec>; exactlyOne?: boolean; freeForm?: boolean }
  | Base & { type: "oneOf"; variants: readonly Spec[] };

export class SchemaError extends Error {
  constructor(readonly path: string, readonly detail: string) {
    super(`${path || "(top level)"}: ${detail}`);
    this.name = "SchemaError";
  }
}

/** Context of one validation: where relative paths resolve, and a resolver (injected so this stays pure). */
export interface ValidateContext {
  resolvePath(p: string): string;
}

const describe = (v: unknown): string =>
  v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "string" ? JSON.stringify(v) : typeof v;

/** Checks a number against a rule; returns the reason it fails, or undefined. */
export function numberProblem(v: number, rule: NumberRule): string | undefined {
  if (!Number.isFinite(v)) return `must be a finite number, got ${v}`;
  if (rule.integer && !Number.isInteger(v)) return `must be an integer, got ${v}`;
  const range = rangeText(rule);
  if (rule.min !== undefined && v < rule.min) return `must be ${range}, got ${v}`;
  if (rule.max !== undefined && v > rule.max) return `must be ${range}, got ${v}`;
  if (rule.exclusiveMin !== undefined && !(v > rule.exclusiveMin)) return `must be ${range}, got ${v}`;
  return undefined;
}

/** "an integer in 1..64", "a number > 0", "a number in (0, 1]". */
export function rangeText(rule: NumberRule): string {
  const kind = rule.integer ? "an integer" : "a number";
  if (rule.exclusiveMin !== undefined && rule.max !== undefined) {
    return `${kind} in (${rule.exclusiveMin}, ${rule.max}]`;
  }
  if (rule.min !== undefined && rule.max !== undefined) return `${kind} in ${rule.min}..${rule.max}`;
  if (rule.exclusiveMin !== undefined) return `${kind} > ${rule.exclusiveMin}`;
  if (rule.min !== undefined) return `${kind} ≥ ${rule.min}`;
  if (rule.max !== undefined) return `${kind} ≤ ${rule.max}`;
  return kind;
}

/** Validates `value` at `path` against `spec`; returns the value with defaults filled and paths resolved. */
export function validate(spec: Spec, value: unknown, path: string, ctx: ValidateContext): unknown {
  const fail = (detail: string): never => {
    throw new SchemaError(path, detail);
  };
  switch (spec.type) {
    case "string": {
      if (typeof value !== "string" || value === "") {
        fail(`must be a non-empty string, got ${describe(value)}`);
      }
      const s = value as string;
      if (spec.const !== undefined && s !== spec.const) fail(`must be "${spec.const}", got ${describe(s)}`);
      if (spec.enum && !spec.enum.includes(s)) {
        fail(`unknown value ${describe(s)} (known: ${spec.enum.join(", ")})${didYouMean(s, spec.enum)}`);
      }
      return s;
    }
    case "path":
      if (typeof value !== "string" || value === "") fail(`must be a non-empty path, got ${describe(value)}`);
      return ctx.resolvePath(value as string);
    case "number": {
      if (typeof value !== "number") fail(`must be ${rangeText(spec.rule)}, got ${describe(value)}`);
      const p = numberProblem(value as number, spec.rule);
      if (p) fail(p);
      return value;
    }
    case "boolean":
      if (typeof value !== "boolean") fail(`must be true or false, got ${describe(value)}`);
      return value;
    case "array": {
      if (!Array.isArray(value)) fail(`must be an array, got ${describe(value)}`);
      const a = value as unknown[];
      if (spec.minItems !== undefined && a.length < spec.minItems) {
        fail(spec.minItems === 1 ? "must not be empty" : `must have at least ${spec.minItems} items`);
      }
      const out = a.map((v, i) => validate(spec.items, v, `${path}[${i}]`, ctx));
      if (spec.unique) {
        const seen = new Set<string>();
        for (const v of a) {
          const k = JSON.stringify(v);
          if (seen.has(k)) fail(`has duplicates (${k})`);
          seen.add(k);
        }
      }
      return out;
    }
    case "object":
      return validateObject(spec, value, path, ctx);
    case "oneOf": {
      let objectProblem: SchemaError | undefined;
      for (const v of spec.variants) {
        try {
          return validate(v, value, path, ctx);
        } catch (e) {
          if (!(e instanceof SchemaError)) throw e;
          // An object that reached an object variant's own checks (a string, an enum's) has the more
          // precise message.
          if (v.type === "object" && value && typeof value === "object" && !Array.isArray(value)) {
            objectProblem = e;
          }
          if (v.type === "string" && typeof value === "string") objectProblem ??= e;
        }
      }
      if (objectProblem) throw objectProblem;
      return fail(`must be ${spec.variants.map(variantText).join(" or ")}; got ${JSON.stringify(value)}`);
    }
  }
}

function validateObject(
  spec: Extract<Spec, { type: "object" }>,
  value: unknown,
  path: string,
  ctx: ValidateContext,
): Record<string, unknown> {
  const at = (k: string) => (path ? `${path}.${k}` : k);
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new SchemaError(path, `must be an object, got ${describe(value)}`);
  }
  const o = value as Record<string, unknown>;
  if (spec.freeForm) return { ...o };
  const known = Object.keys(spec.fields);
  for (const k of Object.keys(o)) {
    if (!(k in spec.fields)) {
      throw new SchemaError(at(k), `unknown key${didYouMean(k, known, spec.fields)}`);
    }
  }
  if (spec.exactlyOne) {
    const given = known.filter((k) => o[k] !== undefined);
    if (given.length !== 1) {
      throw new SchemaError(
        path,
        given.length === 0
          ? `give one of ${known.join(", ")}`
          : `give exactly one of ${known.join(", ")}, not ${given.join(" and ")}`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(spec.fields)) {
    const v = o[k];
    if (v === undefined) {
      // The members not chosen in an exactly-one object stay absent (filling them would choose them too).
      if (spec.exactlyOne) continue;
      if (f.required) throw new SchemaError(at(k), "required key is missing");
      if (f.default !== undefined) out[k] = structuredClone(f.default);
      // A nested table without its own default takes its fields' defaults (one definition of each default).
      else if (f.type === "object" && !f.exactlyOne && !f.freeForm) out[k] = validate(f, {}, at(k), ctx);
      continue;
    }
    out[k] = validate(f, v, at(k), ctx);
  }
  return out;
}

function variantText(s: Spec): string {
  if (s.type === "string" && s.const) return JSON.stringify(s.const);
  if (s.type === "object" && s.exactlyOne) {
    return Object.keys(s.fields).map((k) => `{"${k}": …}`).join(" or ");
  }
  if (s.type === "object") return `{${Object.keys(s.fields).map((k) => `"${k}": …`).join(", ")}}`;
  return s.type;
}

/**
 * "; did you mean X?" for the nearest known key (edit distance, case, declared aliases), else "; known <noun>:
 * …". Config keys and enum values use it, and the CLI's flags (lib/common/cli.ts).
 */
export function didYouMean(
  word: string,
  known: readonly string[],
  fields: Record<string, Spec> = {},
  noun = "keys",
): string {
  const lower = word.toLowerCase();
  for (const k of known) {
    if (k.toLowerCase() === lower) return `; did you mean ${k}?`;
    if (fields[k]?.aliases?.some((a) => a.toLowerCase() === lower)) return `; did you mean ${k}?`;
  }
  let best = "", bestD = Infinity;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  const limit = Math.max(1, Math.floor(Math.max(word.length, best.length) / 3));
  return best && bestD <= limit ? `; did you mean ${best}?` : `; known ${noun}: ${known.join(", ")}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** The JSON Schema (draft 2020-12) of a table. */
export function toJsonSchema(spec: Spec): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  if (spec.description) meta.description = spec.description;
  if (spec.default !== undefined) meta.default = spec.default;
  switch (spec.type) {
    case "string":
      return {
        type: "string",
        minLength: 1,
        ...(spec.enum ? { enum: [...spec.enum] } : {}),
        ...(spec.const ? { const: spec.const } : {}),
        ...meta,
      };
    case "path":
      return { type: "string", minLength: 1, ...meta };
    case "number": {
      const r = spec.rule;
      return {
        type: r.integer ? "integer" : "number",
        ...(r.min !== undefined ? { minimum: r.min } : {}),
        ...(r.max !== undefined ? { maximum: r.max } : {}),
        ...(r.exclusiveMin !== undefined ? { exclusiveMinimum: r.exclusiveMin } : {}),
        ...meta,
      };
    }
    case "boolean":
      return { type: "boolean", ...meta };
    case "array":
      return {
        type: "array",
        items: toJsonSchema(spec.items),
        ...(spec.minItems !== undefined ? { minItems: spec.minItems } : {}),
        ...(spec.unique ? { uniqueItems: true } : {}),
        ...meta,
      };
    case "object": {
      if (spec.freeForm) return { type: "object", ...meta };
      const properties = Object.fromEntries(
        Object.entries(spec.fields).map(([k, f]) => [k, toJsonSchema(f)]),
      );
      if (spec.exactlyOne) {
        return {
          oneOf: Object.keys(properties).map((k) => ({
            type: "object",
            properties: { [k]: properties[k] },
            required: [k],
            additionalProperties: false,
          })),
          ...meta,
        };
      }
      const required = Object.entries(spec.fields).filter(([, f]) => f.required).map(([k]) => k);
      return {
        type: "object",
        properties,
        ...(required.length ? { required } : {}),
        additionalProperties: false,
        ...meta,
      };
    }
    case "oneOf":
      return { oneOf: spec.variants.map(toJsonSchema), ...meta };
  }
}
