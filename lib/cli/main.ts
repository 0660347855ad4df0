/**
 * The one CLI entry: `deno task cli <command> [...] [--help] [--json]`.
 * Each pipeline stage exports its commands from `lib/<stage>/cli.ts`; they are imported only when used,
 * so `--help` and light commands start fast.
 */
import { type Command, runCommand } from "../common/cli.ts";
import { settingsFromEnv } from "./settings.ts";
import { formatVersion, versionInfo } from "./version.ts";

export interface Entry {
  name: string;
  summary: string;
  module: () => Promise<{ commands: Command[] }>;
}

export const ENTRIES: Entry[] = [
  {
    name: "data list",
    summary: "list known datasets and what is prepared",
    module: () => import("../data/cli.ts"),
  },
  {
    name: "data prepare",
    summary: "prepare a dataset's manifest (fsdd, saa, synthetic, or a user CSV)",
    module: () => import("../data/cli.ts"),
  },
  { name: "codecs", summary: "list registered codec ids", module: () => import("../extract/cli.ts") },
  {
    name: "extract",
    summary:
      "encode audio with a codec: u (mean ê) or ê frames as .npy; or a whole manifest into a feature store",
    module: () => import("../extract/cli.ts"),
  },
  {
    name: "sae train",
    summary: "train a TopK sparse autoencoder on features",
    module: () => import("../sae/cli.ts"),
  },
  {
    name: "sae encode",
    summary: "encode features with a trained SAE checkpoint",
    module: () => import("../sae/cli.ts"),
  },
  {
    name: "sae export",
    summary: "export an SAE checkpoint to the SAELens layout (sae_weights.safetensors + cfg.json)",
    module: () => import("../sae/cli.ts"),
  },
  {
    name: "probe",
    summary: "L1 logistic-regression probe: fit on train, macro-F1 on test",
    module: () => import("../probe/cli.ts"),
  },
  {
    name: "grid",
    summary: "run the ΔF1 experiment grid from a run config (resumable)",
    module: () => import("../experiment/cli.ts"),
  },
  {
    name: "report",
    summary: "write a self-contained HTML report from a results directory",
    module: () => import("../report/cli.ts"),
  },
  {
    name: "inspect",
    summary: "latent dashboard of one grid cell (HTML with charts and audio excerpts)",
    module: () => import("../report/latents_cli.ts"),
  },
  {
    name: "steer",
    summary: "steer test utterances along a cell's SAE latents through the codec's decoder; flip rates",
    module: () => import("../experiment/steer_cli.ts"),
  },
  {
    name: "demo",
    summary:
      "the embedded default run: Speech Accent Archive (saa) × lyra-3.2kbps, lyra-6kbps, lyra-9.2kbps, " +
      "the paper's grid, report",
    module: () => import("./demo.ts"),
  },
];

function usage(): string {
  const w = Math.max(...ENTRIES.map((e) => e.name.length)) + 2;
  return "nac-sae: measure how interpretable neural audio codecs are (SAE + accent probes, ΔF1)\n\n" +
    "Usage: deno task cli <command> [options]   (each command takes --help and --json)\n" +
    "       deno task cli --version [--json]\n\nCommands:\n" +
    ENTRIES.map((e) => `  ${e.name.padEnd(w)}${e.summary}`).join("\n") + "\n\n" +
    "Relative paths mean the folder you run the command from. From outside the checkout:\n" +
    "  deno task --config /path/to/nac-sae/deno.json cli <command> ...   (or tools/nac-sae on your PATH)\n";
}

/** A usage error before any command runs; with --json also the JSON error object on stdout. */
function usageFailure(message: string, args: string[], help = ""): number {
  console.error(`error: ${message}\n${help ? `\n${help}` : ""}`);
  if (args.includes("--json")) {
    console.log(JSON.stringify({ error: { kind: "usage", message, command: null, exit_code: 2 } }));
  }
  return 2;
}

export async function main(args: string[]): Promise<number> {
  if (args[0] === "--version" || args[0] === "-V") {
    const v = await versionInfo();
    console.log(args.includes("--json") ? JSON.stringify(v) : formatVersion(v));
    return 0;
  }
  if (args.length === 0 || args[0] === "--help" || args[0] === "-h" || args[0] === "help") {
    console.log(usage());
    return args.length === 0 ? 2 : 0;
  }
  // Longest command name that prefixes the arguments ("sae train" before "sae").
  const matches = ENTRIES.filter((e) => {
    const words = e.name.split(" ");
    return words.every((w, i) => args[i] === w);
  }).sort((a, b) => b.name.length - a.name.length);
  const entry = matches[0];
  if (!entry) {
    const group = ENTRIES.filter((e) => e.name.split(" ")[0] === args[0]);
    if (group.length > 0) {
      return usageFailure(
        `'${args[0]}' needs a subcommand: ${group.map((e) => e.name).join(", ")}`,
        args,
      );
    }
    return usageFailure(`unknown command '${args[0]}'`, args, usage());
  }
  const { commands } = await entry.module();
  const cmd = commands.find((c) => c.name === entry.name);
  if (!cmd) throw new Error(`internal: module for '${entry.name}' does not export it`);
  let settings;
  try {
    settings = settingsFromEnv();
  } catch (e) {
    return usageFailure((e as Error).message, args);
  }
  return await runCommand(cmd, args.slice(entry.name.split(" ").length), settings);
}

/**
 * `deno task` runs tasks in the project folder and puts the caller's folder in INIT_CWD; working from there
 * makes every relative path on the command line mean what the user typed.
 */
export function enterCallerFolder(): void {
  const caller = Deno.env.get("INIT_CWD");
  if (caller && caller !== Deno.cwd()) Deno.chdir(caller);
}

if (import.meta.main) {
  enterCallerFolder();
  Deno.exit(await main(Deno.args));
}
