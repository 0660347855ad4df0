/** `deno task cli steer --results DIR [cell selection] --edit ablate|add|toward [--out DIR]`. */
import { join } from "node:path";
import { booleanFlag, type Command, MODELS_FLAG, num, stringFlag, UsageError } from "../common/cli.ts";
import { locationsOf } from "../common/settings.ts";
import { CELL_SELECT_FLAGS, cellSelectionFromFlags, loadCellContext } from "./cell_context.ts";
import { EDIT_KINDS, type EditKind, formatFlipTable, steerCell } from "./steer.ts";

const steer: Command = {
  name: "steer",
  summary: "steer test utterances through the codec's decoder along a cell's SAE latents (δ added to every " +
    "frame of ê, decoded, re-encoded) and report the reference probe's flip rate against a random direction of " +
    "the same norm and against no edit, with Wilson intervals and the log-spectral distance; --out writes the " +
    "steered and unedited WAVs, steer.json and flip_rates.{csv,json}",
  usage:
    "--results DIR [--cell-key K | --dataset D --codec C --task T --q Q --s S --seed N] [--pick best|worst] " +
    "[--edit toward|ablate|add] [--latents 3,17 | --top N] [--alpha A] [--source 0|1] [--utterances N] " +
    "[--seconds S] [--seed-steer N] [--out DIR]",
  flags: {
    ...CELL_SELECT_FLAGS,
    edit: stringFlag(`edit kind: ${EDIT_KINDS.join(", ")}`, { default: "toward" }),
    latents: {
      type: "string",
      description: "comma-separated latent indices",
      defaultText: "the top by |coefficient|",
    },
    top: stringFlag("latents used when --latents is absent", { defaultText: "8; add: 1" }),
    alpha: {
      type: "string",
      description: "add: α in units of z; toward: ‖δ‖ in units of the distance between class means of u",
      defaultText: "add: the latent's largest test activation; toward: 1",
    },
    source: stringFlag("class whose test utterances are steered (0 or 1)", { default: "0" }),
    utterances: stringFlag("at most this many test utterances", { defaultText: "all" }),
    seconds: stringFlag("crop of each utterance, s", { default: "4" }),
    "seed-steer": stringFlag("seed of the random control directions", { default: "0" }),
    models: {
      ...MODELS_FLAG,
      defaultText: "the run's modelsDir, else NAC_SAE_MODELS, ../shared/models, the cache",
    },
    out: stringFlag("folder for the WAVs and tables", { defaultText: "DIR/steer" }),
    "no-out": booleanFlag("write nothing, print the table only"),
    quiet: booleanFlag("no progress output"),
  },
  async run(flags, positionals, settings) {
    const { results, select } = cellSelectionFromFlags(flags, positionals);
    const edit = String(flags.edit ?? "toward") as EditKind;
    if (!EDIT_KINDS.includes(edit)) throw new UsageError(`--edit must be one of ${EDIT_KINDS.join(", ")}`);
    const latents = typeof flags.latents === "string"
      ? flags.latents.split(",").map((s) => {
        const n = Number(s.trim());
        if (!Number.isInteger(n) || n < 0) throw new UsageError(`--latents: '${s}' is not a latent index`);
        return n;
      })
      : undefined;
    const count = { min: 1, max: 100000, integer: true };
    // Checked before the cell and codec load, so a bad flag fails at once.
    const opts = {
      edit,
      latents,
      top: flags.top === undefined ? undefined : num(flags, "top", undefined, count),
      alpha: flags.alpha === undefined ? undefined : num(flags, "alpha", undefined, { min: -1e6, max: 1e6 }),
      source: num(flags, "source", 0, { min: 0, max: 1, integer: true }),
      utterances: flags.utterances === undefined ? undefined : num(flags, "utterances", undefined, count),
      seconds: num(flags, "seconds", 4, { exclusiveMin: 0, max: 30 }),
      seed: num(flags, "seed-steer", 0, { min: 0, max: 2 ** 31, integer: true }),
      modelsDir: flags.models as string | undefined,
      quiet: Boolean(flags.quiet),
    };
    const ctx = await loadCellContext(results, select);
    const outDir = flags["no-out"]
      ? undefined
      : (flags.out as string | undefined) ?? join(ctx.outDir, "steer");
    const r = await steerCell(ctx, {
      ...locationsOf(settings),
      ...opts,
      outDir,
      modelsDir: opts.modelsDir ?? ctx.modelsDir,
    });
    if (opts.quiet) console.log(formatFlipTable(r));
    if (outDir) console.log(`steering: ${outDir} (${r.files.length} files)`);
    const { utterances: _u, files, ...summary } = r;
    return { ...summary, utterances: r.utterances.length, files: files.length, out: outDir ?? null };
  },
};

export const commands: Command[] = [steer];
