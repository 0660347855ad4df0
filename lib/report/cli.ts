/** `deno task cli report --results DIR [--out FILE] [--compare DIR,…] [--json]` (also `deno task report DIR`). */
import { type Command, stringFlag, UsageError } from "../common/cli.ts";
import { log } from "../common/progress.ts";
import { writeReport } from "./report.ts";

const report: Command = {
  name: "report",
  summary:
    "write a self-contained HTML report (tables, charts as inline SVG, config, timings) from a results directory",
  usage: "--results DIR [--out FILE] [--compare DIR,…]   (or: report DIR)",
  flags: {
    results: {
      type: "string",
      description: "results folder written by `grid` or `demo` (or give it as DIR)",
    },
    out: stringFlag("output file (HTML)", { defaultText: "DIR/report.html" }),
    compare: {
      type: "string",
      description: "results folders of the same data under other protocols (comma-separated), side by side",
    },
  },
  async run(flags, positionals) {
    const dir = (flags.results as string | undefined) ?? positionals[0];
    if (!dir) throw new UsageError("--results DIR is required");
    if (positionals.length > (flags.results ? 0 : 1)) {
      throw new UsageError(`unexpected argument(s): ${positionals.join(" ")}`);
    }
    const compare = typeof flags.compare === "string" ? flags.compare.split(",").filter((d) => d) : [];
    const summary = await writeReport(dir, flags.out as string | undefined, { compare });
    for (const n of summary.notes) log(`note: ${n}`);
    console.log(
      `report: ${summary.path} (${(summary.bytes / 1024).toFixed(0)} KiB, ${summary.charts} charts, ` +
        `${summary.tables} tables, ${summary.seconds.toFixed(1)} s)`,
    );
    return { ...summary };
  },
};

export const commands: Command[] = [report];
