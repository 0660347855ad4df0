/**
 * The CLI's small contract: every command parses its own flags, answers `--help`, prints human-readable
 * lines, and with `--json` prints one JSON summary object as the last line of stdout.
 */
import { parseArgs } from "node:util";
import { toSnakeKeys } from "./keys.ts";
import { didYouMean, numberProblem, type NumberRule } from "./schema.ts";
import type { Settings } from "./settings.ts";

export type FlagSpec = Record<string, {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
  default?: string | boolean;
  /** A default that is not a literal value (e.g. "the number of cores"); shown like `default`. */
  defaultText?: string;
  /** Shown as "(required)" in the help; the command still checks it (see `need`). */
  required?: boolean;
  description: string;
}>;

type Flag = FlagSpec[string];

/** A flag with a value (`--name <v>`); `more`: default, defaultText, required, multiple, short. */
export function stringFlag(description: string, more: Omit<Flag, "type" | "description"> = {}): Flag {
  return { type: "string", description, ...more };
}

/** A switch (`--name`). */
export function booleanFlag(description: string, more: Omit<Flag, "type" | "description"> = {}): Flag {
  return { type: "boolean", description, ...more };
}

/**
 * `--data DIR` and `--models DIR`, the same on every command that reads data sets or codec weights: step 1 of
 * the location rule (lib/common/settings.ts); without them the variables, ../shared and the cache are searched.
 */
export const DATA_FLAG: Flag = stringFlag(
  "folder holding the data sets (fsdd/, saa/) or one data set; searched before NAC_SAE_DATA, ../shared/data, " +
    "the cache, a download",
);
export const MODELS_FLAG: Flag = stringFlag(
  "folder holding codec weight folders (e.g. lyra-v1.3.2/) or one codec's files; searched before " +
    "NAC_SAE_MODELS, ../shared/models, the cache, a download",
);

export interface Command {
  /** e.g. "sae train". */
  name: string;
  summary: string;
  /** Usage line(s) after the command name, e.g. "--features X.npy --q Q --s S". */
  usage: string;
  flags: FlagSpec;
  /**
   * Returns the JSON summary object. `settings`: read from the environment once by lib/cli
   * (lib/cli/settings.ts); flags override them.
   */
  run(
    flags: Record<string, string | boolean | string[] | undefined>,
    positionals: string[],
    settings: Settings,
  ): Promise<Record<string, unknown>>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const COMMON: FlagSpec = {
  help: booleanFlag("show this help", { short: "h" }),
  json: booleanFlag("print a one-line JSON summary as the last line of stdout"),
};

export function helpText(cmd: Command): string {
  const flags = { ...cmd.flags, ...COMMON };
  const width = Math.max(...Object.keys(flags).map((k) => k.length)) + 4;
  const lines = Object.entries(flags).map(([k, f]) => {
    const dflt = f.defaultText ??
      (f.default !== undefined && f.default !== false ? String(f.default) : undefined);
    return `  --${k}${f.type === "string" ? " <v>" : "    "}`.padEnd(width + 8) + f.description +
      (f.required ? " (required)" : "") + (dflt !== undefined ? ` (default: ${dflt})` : "");
  });
  return `${cmd.summary}\n\nUsage: deno task cli ${cmd.name} ${cmd.usage}\n\nOptions:\n${lines.join("\n")}\n`;
}

/** The flag specs as node:util parseArgs takes them (without the help-only fields). */
function parseOptions(flags: FlagSpec) {
  return Object.fromEntries(
    Object.entries(flags).map(([k, { description: _d, defaultText: _t, required: _r, ...o }]) => [k, o]),
  );
}

/**
 * The first flag in `args` that `flags` does not declare, as "unknown flag --x; did you mean --y?" (the same
 * suggestion as for config keys), else undefined. Arguments after a bare `--` are positionals.
 */
export function unknownFlagProblem(args: string[], flags: FlagSpec): string | undefined {
  const all = { ...flags, ...COMMON };
  const shorts = new Set(Object.values(all).map((f) => f.short).filter((s): s is string => s !== undefined));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") return undefined;
    if (arg.startsWith("--")) {
      const name = arg.slice(2).split("=")[0];
      if (!(name in all)) {
        const known = Object.keys(all).map((k) => `--${k}`);
        return `unknown flag --${name}${didYouMean(`--${name}`, known, {}, "flags")}`;
      }
      if (all[name].type === "string" && !arg.includes("=")) i++; // its value, whatever it looks like
    } else if (/^-[^-\d]/.test(arg) && !shorts.has(arg.slice(1, 2))) {
      return `unknown flag ${arg}; flags start with --, e.g. --help`;
    }
  }
  return undefined;
}

/** Parses flags, handles --help/--json, runs the command; returns the process exit code. */
export async function runCommand(cmd: Command, args: string[], settings: Settings): Promise<number> {
  const unknown = unknownFlagProblem(args, cmd.flags);
  if (unknown) return fail(cmd, new UsageError(unknown), args.includes("--json"), settings.debug);
  let parsed;
  try {
    const specs = { ...cmd.flags, ...COMMON };
    parsed = parseArgs({
      args: joinNegativeValues(args, specs),
      // deno-lint-ignore no-explicit-any
      options: parseOptions(specs) as any,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
    refuseRepeatedFlags(parsed.tokens ?? [], specs);
  } catch (e) {
    return fail(cmd, new UsageError((e as Error).message), args.includes("--json"), settings.debug);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help) {
    console.log(helpText(cmd));
    return 0;
  }
  try {
    const summary = await cmd.run(values, parsed.positionals, settings);
    // One key style for every summary (snake_case), whatever the stage's objects use.
    if (values.json) console.log(JSON.stringify(toSnakeKeys(summary)));
    return 0;
  } catch (e) {
    return fail(cmd, e as Error, Boolean(values.json), settings.debug);
  }
}

/**
 * `--C -1`: parseArgs takes "-1" for an option and reports the flag as ambiguous; a value flag followed by a
 * negative number is joined (`--C=-1`), so the number is checked like any other (one message for `--C 0`
 * and `--C -1`).
 */
function joinNegativeValues(args: string[], specs: FlagSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith("--") ? args[i].slice(2) : "";
    if (specs[name]?.type === "string" && /^-(\d|\.\d|inf)/i.test(args[i + 1] ?? "")) {
      out.push(`${args[i]}=${args[++i]}`);
    } else out.push(args[i]);
  }
  return out;
}

/**
 * A single-value flag given twice (`--train A --train B`) would silently keep the last; it is refused, naming
 * the flag and both values. Flags declared `multiple` (repeatable) are exempt.
 */
function refuseRepeatedFlags(
  tokens: { kind: string; name?: string; value?: string }[],
  specs: FlagSpec,
): void {
  const seen = new Map<string, string | undefined>();
  for (const t of tokens) {
    if (t.kind !== "option" || !t.name || specs[t.name]?.multiple) continue;
    if (seen.has(t.name)) {
      const values = [seen.get(t.name), t.value].filter((v) => v !== undefined).map((v) => JSON.stringify(v));
      throw new UsageError(
        `--${t.name} is given twice${
          values.length ? ` (${values.join(" and ")})` : ""
        }; it takes one value, ` +
          `so give it once`,
      );
    }
    seen.set(t.name, t.value);
  }
}

/**
 * Reports a failure: the message on stderr (with the help for usage errors), and with `--json` also a JSON
 * error object `{"error": {"kind": "usage" | "runtime", "message", "command", "exit_code"}}` as the last line
 * of stdout, where a script expects the summary. Returns the exit code: 2 for usage errors, 1 otherwise.
 */
function fail(cmd: Command, e: Error, json: boolean, debug: boolean): number {
  const usage = e instanceof UsageError;
  const exitCode = usage ? 2 : 1;
  console.error(usage ? `error: ${e.message}\n\n${helpText(cmd)}` : `error: ${e.message}`);
  if (!usage && debug) console.error(e.stack);
  if (json) {
    const error = {
      kind: usage ? "usage" : "runtime",
      message: e.message,
      command: cmd.name,
      exit_code: exitCode,
    };
    console.log(JSON.stringify({ error }));
  }
  return exitCode;
}

/** Reads a required string flag. */
export function need(flags: Record<string, unknown>, name: string): string {
  const v = flags[name];
  if (typeof v !== "string" || v === "") throw new UsageError(`--${name} is required`);
  return v;
}

/** Reads a numeric flag; with a rule (lib/common/limits.ts) checks it like the run config does. */
export function num(
  flags: Record<string, unknown>,
  name: string,
  fallback?: number,
  rule?: NumberRule,
): number {
  const v = flags[name];
  if (v === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isFinite(n)) {
    throw new UsageError(`--${name} must be a number, got ${JSON.stringify(v)}`);
  }
  const problem = rule && numberProblem(n, rule);
  if (problem) throw new UsageError(`--${name} ${problem}`);
  return n;
}
