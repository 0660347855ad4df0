/**
 * `deno task demo`: the embedded default run. Prepares FSDD (real speech; from ../shared or NAC_SAE_DATA when
 * present, else downloaded) and the synthetic eSpeak-NG accent corpus, extracts u with Lyra v2 at 3.2 / 6 /
 * 9.2 kbps, runs the paper's 16-config grid for both tasks where they apply (US vs UK on synthetic; US vs
 * Non-US-UK on synthetic and FSDD) with all four feature kinds, and writes the results table and HTML report.
 * A second run reuses every cached cell.
 */
import { join, resolve } from "node:path";
import { type Command, num } from "../common/cli.ts";
import { LIMITS } from "../common/limits.ts";
import { projectRoot, sharedDir } from "../common/assets.ts";
import { log } from "../common/progress.ts";
import { type RunConfig, validateConfig } from "../experiment/config.ts";
import { runGrid } from "../experiment/run.ts";
import { writeReport } from "../report/mod.ts";
import { writeLatentsAndSteering } from "../report/latents.ts";

/** The demo's run config; every setting differing from the paper is named in `$comment`. */
export function demoConfig(outDir: string, epochs: RunConfig["epochs"] = "paper"): RunConfig {
  const shared = sharedDir();
  const fsddSource = Deno.env.get("NAC_SAE_DATA") ? undefined : shared ? join(shared, "data") : undefined;
  const modelsDir = Deno.env.get("NAC_SAE_MODELS") ? undefined : shared ? join(shared, "models") : undefined;
  return validateConfig(
    {
      name: "demo",
      $comment:
        "Lyra v2 at three bitrates on FSDD (real speech, US vs Non-US-UK) and a synthetic eSpeak-NG " +
        "accent corpus (both tasks); the paper's 16 SAE configs and epoch rule; one seed with bootstrap intervals.",
      datasets: [
        { name: "synthetic", tasks: ["us-vs-uk", "us-vs-non-us-uk"] },
        { name: "fsdd", source: fsddSource, tasks: ["us-vs-non-us-uk"] },
      ],
      codecs: ["lyra-3.2kbps", "lyra-6kbps", "lyra-9.2kbps"],
      epochs,
      seeds: [0],
      outDir,
      modelsDir,
    },
    "demo config",
    projectRoot(),
  );
}

const demo: Command = {
  name: "demo",
  summary:
    "The embedded default: FSDD + synthetic accents × Lyra 3.2/6/9.2 kbps, the paper's 16 SAE configs, " +
    "both tasks, all four feature kinds; writes results/demo/{results.parquet,results.csv,report.html}, " +
    "the latent dashboard of the best cell (latents.html) and a short steering run (steer/).",
  usage: "[--out DIR] [--epochs-scale F] [--json]",
  flags: {
    out: {
      type: "string",
      description: "results folder",
      defaultText: "the project's results/demo",
    },
    "epochs-scale": {
      type: "string",
      description: "scale the paper's epoch rule (a visible shortcut; recorded in the results and report)",
    },
    quiet: { type: "boolean", description: "no progress output" },
  },
  async run(flags) {
    const t0 = performance.now();
    const outDir = typeof flags.out === "string"
      ? resolve(flags.out)
      : join(projectRoot(), "results", "demo");
    const scale = flags["epochs-scale"] === undefined
      ? undefined
      : num(flags, "epochs-scale", undefined, LIMITS.epochsScale);
    const config = demoConfig(outDir, scale === undefined || scale === 1 ? "paper" : { paperScaled: scale });
    const quiet = Boolean(flags.quiet);
    const summary = await runGrid(config, { quiet });
    // The most interpretable cell's latent dashboard and a short steering run, linked from the report.
    const latents = await writeLatentsAndSteering(outDir, { utterances: 4, seconds: 3, quiet });
    const report = await writeReport(outDir, join(outDir, "report.html"));
    const seconds = (performance.now() - t0) / 1000;
    log(`demo finished in ${seconds.toFixed(1)}s`, quiet);
    console.log(`results: ${join(outDir, "results.parquet")}`);
    console.log(`         ${join(outDir, "results.csv")}`);
    console.log(`report:  ${report.path}`);
    console.log(
      `latents: ${latents.dashboard.path}${latents.steer ? ` (steering: ${join(outDir, "steer")})` : ""}`,
    );
    return {
      ...summary,
      report: report.path,
      charts: report.charts,
      dashboard: latents.dashboard.path,
      seconds,
    };
  },
};

export const commands: Command[] = [demo];
