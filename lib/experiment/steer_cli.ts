/**
 * `deno task cli steer --results DIR [cell selection] --edit ablate|add|toward [--out DIR]` (utterance-level
 * cells), and with `--sae-input frames` the per-frame sweep of lib/experiment/steer_frames.ts:
 * `steer --results DIR --sae-input frames --tasks us-vs-uk,sex --alphas 0,1,2,4 --utterances N`.
 */
import { join } from "node:path";
import { booleanFlag, type Command, MODELS_FLAG, num, stringFlag, UsageError } from "../common/cli.ts";
import { locationsOf } from "../common/settings.ts";
import { CELL_SELECT_FLAGS, cellSelectionFromFlags, loadCellContext } from "./cell_context.ts";
import { EDIT_KINDS, type EditKind, formatFlipTable, steerCell } from "./steer.ts";
import { DEFAULT_ALPHAS, formatSweep, steerSweepCell } from "./steer_frames.ts";

const steer: Command = {
  name: "steer",
  summary: "steer test utterances through the codec's decoder along a cell's SAE latents (δ added to every " +
    "frame of ê, decoded, re-encoded) and report the reference probe's flip rate against a random direction of " +
    "the same norm and against no edit, with Wilson intervals and the log-spectral distance; --out writes the " +
    "steered and unedited WAVs, steer.json and flip_rates.{csv,json}. With --sae-input frames: the per-frame " +
    "sweep (the chosen latents set to α × their typical target-class magnitude on every frame, the SAE's error " +
    "term kept) over --alphas for each of --tasks, against random latents, no edit and the SAE reconstruction; " +
    "writes sweep.{csv,json} and WAVs",
  usage:
    "--results DIR [--cell-key K | --dataset D --codec C --task T --q Q --s S --seed N] [--pick best|worst] " +
    "[--edit toward|ablate|add] [--latents 3,17 | --top N] [--alpha A] [--source 0|1] [--utterances N] " +
    "[--seconds S] [--seed-steer N] [--out DIR] | --sae-input frames [--tasks T1,T2] [--alphas 0,1,2,4] " +
    "[--top N] [--latents 3,17] [--utterances N] [--seconds S] [--wavs N] [--bootstrap B]",
  flags: {
    ...CELL_SELECT_FLAGS,
    edit: stringFlag(`edit kind: ${EDIT_KINDS.join(", ")}`, { default: "toward" }),
    latents: {
      type: "string",
      description: "comma-separated latent indices",
      defaultText: "the top by |coefficient|",
    },
    top: stringFlag("latents used when --latents is absent", { defaultText: "8; add: 1; frames: 8" }),
    tasks: stringFlag(
      "frames: comma-separated tasks to steer (others than the cell's get their probes fit)",
      {
        defaultText: "the cell's task",
      },
    ),
    alphas: stringFlag(
      "frames: comma-separated α (× the latents' typical target-class magnitude; 0 ablates)",
      {
        defaultText: DEFAULT_ALPHAS.join(","),
      },
    ),
    wavs: stringFlag("frames: recordings per task whose WAVs are written", { default: "2" }),
    bootstrap: stringFlag("frames: bootstrap resamples of the decision-shift intervals", { default: "1000" }),
    alpha: {
      type: "string",
      description: "add: α in units of z; toward: ‖δ‖ in units of the distance between class means of u",
      defaultText: "add: the latent's largest test activation; toward: 1",
    },
    source: stringFlag("class whose test utterances are steered (0 or 1)", { default: "0" }),
    utterances: stringFlag("at most this many test utterances", { defaultText: "all; frames: 20 per task" }),
    seconds: stringFlag("crop of each utterance, s", { defaultText: "4; frames: 3" }),
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
    if (select.saeInput === "frames") return await runSweep(results, select, flags, settings);
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
    for (const f of ["tasks", "alphas"]) {
      if (flags[f] !== undefined) {
        throw new UsageError(`--${f} is for the per-frame sweep (--sae-input frames)`);
      }
    }
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

/** A comma-separated list of numbers or names. */
function listFlag(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  const parts = String(v).split(",").map((x) => x.trim()).filter((x) => x !== "");
  return parts.length ? parts : undefined;
}

function latentList(v: unknown): number[] | undefined {
  return listFlag(v)?.map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--latents: '${s}' is not a latent index`);
    return n;
  });
}

/** `steer --sae-input frames`: the per-frame sweep over α for each task. */
async function runSweep(
  results: string,
  select: ReturnType<typeof cellSelectionFromFlags>["select"],
  flags: Record<string, unknown>,
  settings: Parameters<Command["run"]>[2],
) {
  if (flags.edit !== undefined && flags.edit !== "toward") {
    throw new UsageError(
      "--edit is for utterance-level cells; the per-frame sweep sets latents to α × magnitude",
    );
  }
  if (flags.alpha !== undefined) throw new UsageError("--alpha: the per-frame sweep takes --alphas A,B,C");
  const alphas = listFlag(flags.alphas)?.map((s) => {
    const a = Number(s);
    if (!Number.isFinite(a) || a < 0 || a > 1e3) {
      throw new UsageError(`--alphas: '${s}' is not a number in 0..1000`);
    }
    return a;
  });
  const count = { min: 1, max: 100000, integer: true };
  const opts = {
    tasks: listFlag(flags.tasks),
    alphas,
    latents: flags.top === undefined ? undefined : num(flags, "top", undefined, count),
    latentIds: latentList(flags.latents),
    utterances: flags.utterances === undefined ? undefined : num(flags, "utterances", undefined, count),
    seconds: num(flags, "seconds", 3, { exclusiveMin: 0, max: 30 }),
    source: num(flags, "source", 0, { min: 0, max: 1, integer: true }),
    seed: num(flags, "seed-steer", 0, { min: 0, max: 2 ** 31, integer: true }),
    bootstrap: num(flags, "bootstrap", 1000, { min: 0, max: 100000, integer: true }),
    wavUtterances: num(flags, "wavs", 2, { min: 0, max: 100000, integer: true }),
    modelsDir: flags.models as string | undefined,
    quiet: Boolean(flags.quiet),
  };
  const ctx = await loadCellContext(results, select);
  const outDir = flags["no-out"] ? null : (flags.out as string | undefined) ?? join(ctx.outDir, "steer");
  const r = await steerSweepCell(ctx, {
    ...locationsOf(settings),
    ...opts,
    outDir,
    modelsDir: opts.modelsDir ?? ctx.modelsDir,
  });
  if (opts.quiet) console.log(formatSweep(r));
  if (outDir) console.log(`steering sweep: ${outDir} (${r.files.length} files)`);
  return {
    cellKey: r.cellKey,
    codec: r.codec,
    alphas: r.alphas,
    tasks: r.tasks.map((t) => ({
      task: t.task,
      latents: t.latents,
      probes: t.probes,
      recordings: t.recordings.length,
    })),
    verdicts: r.verdicts.map((v) => v.text),
    files: r.files.length,
    out: outDir,
  };
}

export const commands: Command[] = [steer];
