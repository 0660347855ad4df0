/** `deno task cli inspect --results DIR [cell selection] [--out FILE]`: the latent dashboard of one cell. */
import { type Command, num, stringFlag } from "../common/cli.ts";
import { CELL_SELECT_FLAGS, cellSelectionFromFlags, type CellSelector } from "../experiment/cell_context.ts";
import { DASHBOARD_MAX_BYTES, writeLatentsDashboard } from "./latents.ts";
import { writeFrameLatentsDashboard } from "./latents_frames.ts";

const inspect: Command = {
  name: "inspect",
  summary:
    "write the latent dashboard of one grid cell: latents ranked by |probe coefficient| on z, per-class " +
    "activation, accent purity of top-activating test utterances with audio excerpts, decoder-direction cosines " +
    "(a self-contained HTML page, default DIR/latents.html, and its numbers as latents.json); with --sae-input " +
    "frames, latents in time for a frame-level cell (DIR/latents_frames.html: snippets of top-activating " +
    "frames, activation strips with an audio cursor, firing rate and magnitude per class, k-sparse ranks)",
  usage:
    "--results DIR [--cell-key K | --dataset D --codec C --task T --q Q --s S --seed N] [--pick best|worst] [--top N] " +
    "[--utterances N] [--excerpt-seconds S] [--out FILE] | --sae-input frames [--frames N] [--strips N] " +
    "[--snippet-seconds S]",
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
    frames: stringFlag("frame-level cells: top-activating frames (recordings) per latent", { default: "4" }),
    strips: stringFlag("frame-level cells: recordings with an activation strip", { default: "3" }),
    "snippet-seconds": stringFlag("frame-level cells: audio snippet around each top frame, s", {
      default: "1",
    }),
    out: stringFlag("output HTML file", {
      defaultText: "DIR/latents.html (frames: DIR/latents_frames.html)",
    }),
  },
  async run(flags, positionals) {
    const { results, select } = cellSelectionFromFlags(flags, positionals);
    const count = { min: 1, max: 1000, integer: true };
    if (select.saeInput === "frames") return await inspectFrames(results, select, flags);
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

/** `inspect --sae-input frames`: the frame-level dashboard ("latents in time"). */
async function inspectFrames(
  results: string,
  select: CellSelector,
  flags: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const count = { min: 1, max: 1000, integer: true };
  const s = await writeFrameLatentsDashboard(results, {
    select,
    out: flags.out as string | undefined,
    top: num(flags, "top", 8, count),
    frames: num(flags, "frames", 4, count),
    strips: num(flags, "strips", 3, { min: 0, max: 50, integer: true }),
    snippetSeconds: num(flags, "snippet-seconds", 1, { min: 0.1, max: 10 }),
    excerptRate: num(flags, "excerpt-rate", 8000, { min: 4000, max: 48000, integer: true }),
  });
  if (s.bytes > DASHBOARD_MAX_BYTES) {
    console.error(
      `warning: ${s.path} is ${(s.bytes / 1e6).toFixed(1)} MB (aim: under 10 MB); lower --top, --frames, ` +
        "--strips or --snippet-seconds",
    );
  }
  console.log(
    `frame dashboard: ${s.path} (${(s.bytes / 1024).toFixed(0)} KiB, ${s.svg} charts, ${s.audio} audio ` +
      `players, ${s.seconds.toFixed(1)} s; cell ${s.cellKey}, latents ${s.latents.join(", ")})`,
  );
  return { ...s };
}

export const commands: Command[] = [inspect];
