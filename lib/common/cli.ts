/**
 * The CLI's small contract: every command parses its own flags, answers `--help`, prints human-readable
 * lines, and with `--json` prints one JSON summary object as the last line of stdout.
 */
import { parseArgs } from "node:util";
import { numberProblem, type NumberRule } from "./schema.ts";

export type FlagSpec = Record<string, {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
  default?: string | boolean;
  description: string;
}>;

export interface Command {
  /** e.g. "sae train". */
  name: string;
  summary: string;
  /** Usage line(s) after the command name, e.g. "--features X.npy --q Q --s S". */
  usage: string;
  flags: FlagSpec;
  /** Returns the JSON summary object. */
  run(
    flags: Record<string, string | boolean | string[] | undefined>,
    positionals: string[],
  ): Promise<Record<string, unknown>>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const COMMON: FlagSpec = {
  help: { type: "boolean", short: "h", description: "show this help" },
  json: { type: "boolean", description: "print a one-line JSON summary as the last line of stdout" },
};

export function helpText(cmd: Command): string {
  const flags = { ...cmd.flags, ...COMMON };
  const width = Math.max(...Object.keys(flags).map((k) => k.length)) + 4;
  const lines = Object.entries(flags).map(([k, f]) =>
    `  --${k}${f.type === "string" ? " <v>" : "    "}`.padEnd(width + 8) + f.description +
    (f.default !== undefined && f.default !== false ? ` (default: ${f.default})` : "")
  );
  return `${cmd.summary}\n\nUsage: deno task cli ${cmd.name} ${cmd.usage}\n\nOptions:\n${lines.join("\n")}\n`;
}

/** Parses flags, handles --help/--json, runs the command; returns the process exit code. */
export async function runCommand(cmd: Command, args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      // deno-lint-ignore no-explicit-any
      options: { ...cmd.flags, ...COMMON } as any,
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${helpText(cmd)}`);
    return 2;
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help) {
    console.log(helpText(cmd));
    return 0;
  }
  try {
    const summary = await cmd.run(values, parsed.positionals);
    if (values.json) console.log(JSON.stringify(summary));
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n\n${helpText(cmd)}`);
      return 2;
    }
    console.error(`error: ${(e as Error).message}`);
    if (Deno.env.get("NAC_SAE_DEBUG")) console.error((e as Error).stack);
    return 1;
  }
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
