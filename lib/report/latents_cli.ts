/** `deno task cli inspect --results DIR [cell selection] [--out FILE]`: the latent dashboard of one cell. */
import { type Command, num, stringFlag } from "../common/cli.ts";
import { CELL_SELECT_FLAGS, cellSelectionFromFlags } from "../experiment/cell_context.ts";
import { DASHBOARD_MAX_BYTES, writeLatentsDashboard } from "./latents.ts";

const inspect: Command = {
  name: "inspect",
  summary:
    "write the latent dashboard of one grid cell: latents ranked by |probe coefficient| on z, per-class " +
    "activation, accent purity of top-activating test utterances with audio excerpts, decoder-direction cosines " +
    "(a self-contained HTML page, default DIR/latents.html, and its numbers as latents.json)",
  usage:
    "--results DIR [--cell-key K | --dataset D --codec C --task T --q Q --s S --seed N] [--pick best|worst] [--top N] " +
    "[--utterances N] [--excerpt-seconds S] [--out FILE]",
  flags: {
    ...CELL_SELECT_FLAGS,
    top: stringFlag("latents shown (top by |coefficient|)", { default: "8" }),
    utterances: stringFlag("top-activating utterances per latent", { default: "5" }),
    "excerpt-seconds": stringFlag("embedded audio excerpt length, s", { default: "3" }),
    "excerpt-rate": stringFlag("embedded audio sample rate, Hz", { default: "8000" }),
    "steer-dir": {
      type: "string",
      description: "folder of a steering run to show and link",
      defaultText: "DIR/steer when present",
    },
    out: stringFlag("output HTML file", { defaultText: "DIR/latents.html" }),
  },
  async run(flags, positionals) {
    const { results, select } = cellSelectionFromFlags(flags, positionals);
    const count = { min: 1, max: 1000, integer: true };
    const s = await writeLatentsDashboard(results, {
      select,
      out: flags.out as string | undefined,
      steerDir: flags["steer-dir"] as string | undefined,
      top: num(flags, "top", 8, count),
      utterances: num(flags, "utterances", 5, count),
      excerptSeconds: num(flags, "excerpt-seconds", 3, { min: 0.1, max: 30 }),
      excerptRate: num(flags, "excerpt-rate", 8000, { min: 4000, max: 48000, integer: true }),
    });
    if (s.bytes > DASHBOARD_MAX_BYTES) {
      console.error(
        `warning: ${s.path} is ${(s.bytes / 1e6).toFixed(1)} MB (aim: under 10 MB); lower --top, ` +
          "--utterances or --excerpt-seconds",
      );
    }
    console.log(
      `dashboard: ${s.path} (${
        (s.bytes / 1024).toFixed(0)
      } KiB, ${s.svg} charts, ${s.audio} audio players; ` +
        `cell ${s.cellKey}, latents ${s.latents.join(", ")})`,
    );
    return { ...s };
  },
};

export const commands: Command[] = [inspect];
