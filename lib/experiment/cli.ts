/** `deno task cli grid --config FILE [--dry-run]`: the ΔF1 experiment grid. */
import type { Command } from "../common/cli.ts";
import { need, num } from "../common/cli.ts";
import { LIMITS } from "../common/limits.ts";
import { readConfig } from "./config.ts";
import { runGrid } from "./run.ts";

const grid: Command = {
  name: "grid",
  summary: "Run the ΔF1 grid of a run config: reference F1 on u, then SAE + probes for every (q, s, seed). " +
    "Resumable: finished cells are cached by a content hash of their inputs.",
  usage: "--config FILE [--dry-run] [--workers N] [--json]",
  flags: {
    config: {
      type: "string",
      description: "run config JSON (see README: datasets, codecs, tasks, grid, ...)",
    },
    "dry-run": { type: "boolean", description: "list the cells and which are cached; compute nothing" },
    workers: { type: "string", description: "parallel cells (default from the config, 2)" },
    quiet: { type: "boolean", description: "no progress output" },
    "no-checkpoints": {
      type: "boolean",
      description: "keep only each cell's metrics, not its SAE, probes and split lists (smaller footprint)",
    },
  },
  async run(flags) {
    const workers = flags.workers === undefined
      ? undefined
      : num(flags, "workers", undefined, LIMITS.workers);
    const config = await readConfig(need(flags, "config"));
    if (workers !== undefined) config.workers = workers;
    const summary = await runGrid(config, {
      dryRun: Boolean(flags["dry-run"]),
      quiet: Boolean(flags.quiet),
      checkpoints: !flags["no-checkpoints"],
    });
    if (flags["dry-run"]) {
      for (const c of summary.planned ?? []) {
        console.log(
          `${
            c.cached ? "cached " : "pending"
          } ${c.dataset}/${c.codec}/${c.task} q=${c.q} s=${c.s} seed=${c.seed} ` +
            `k=${c.k} d_z=${c.dZ} epochs=${c.epochs}`,
        );
      }
    }
    console.log(
      `cells: ${summary.cells.total} total, ${summary.cells.cached} cached, ${summary.cells.computed} computed` +
        ` in ${summary.seconds.toFixed(1)}s`,
    );
    for (const f of summary.files) console.log(`wrote ${f}`);
    const { planned: _p, ...rest } = summary;
    return { ...rest, planned: summary.planned?.length };
  },
};

export const commands: Command[] = [grid];
