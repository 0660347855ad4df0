/** CLI commands of the SAE stage: `sae train` and `sae encode`. */
import { booleanFlag, type Command, need, num, stringFlag, UsageError } from "../common/cli.ts";
import type { Settings } from "../common/settings.ts";
import { checkOutputNotInput, checkOutputPath } from "../common/fs.ts";
import { readMatrix, writeMatrix } from "../common/matrix.ts";
import { LIMITS } from "../common/limits.ts";
import { log } from "../common/progress.ts";
import { auxKDefaults, type SaeConfig, saeConfig, validateConfig } from "./config.ts";
import { CONVERGENCE_DEFAULTS, CONVERGENT_LR, defaultLr } from "./convergence.ts";
import { PAPER_LR } from "./paper.ts";
import { loadCheckpoint, MODEL_FILE, OPTIMIZER_FILE, saveCheckpoint } from "./checkpoint.ts";
import { join } from "node:path";
import { encodeSae } from "./evaluate.ts";
import { EXPORT_FORMATS, exportSaeLens } from "./export.ts";
import { checkFeatures, checkTrainable } from "./model.ts";
import { type TrainResult, trainSae } from "./train.ts";

/** --threads, else the NAC_SAE_THREADS setting, else undefined (the engine's default). */
function threadsOf(flags: Record<string, unknown>, settings?: Settings): number | undefined {
  return flags.threads !== undefined ? num(flags, "threads", undefined, LIMITS.threads) : settings?.threads;
}

const train: Command = {
  name: "sae train",
  summary:
    "train a TopK sparse autoencoder on features (N × d float32 .npy); writes a safetensors checkpoint",
  usage: "--features X.npy --q Q --s S --out DIR [--val V.npy] [--epochs E | --until-converged] [--seed N] " +
    "[--resume DIR] [--json]",
  flags: {
    features: stringFlag("training features, N × d .npy", { required: true }),
    val: stringFlag("validation features (per-epoch validation loss)"),
    q: stringFlag("latent ratio: d_z = round(q·d); required unless --resume"),
    s: stringFlag("relative sparsity: k = ⌈s·d⌉; required unless --resume"),
    epochs: {
      type: "string",
      description: "epochs",
      defaultText: "the paper's 200, or 500 for q∈{2,5}, s∈{0.1,0.05}",
    },
    "until-converged": {
      type: "boolean",
      description: "the convergent schedule: train until the --val loss stops improving (docs/sae.md: SAE " +
        "training schedules), keep the best-validation weights; instead of --epochs",
    },
    seed: stringFlag("random seed (init, shuffles)", { defaultText: "0" }),
    out: {
      type: "string",
      required: true,
      description: "checkpoint folder (model.safetensors, optimizer.safetensors)",
    },
    batch: stringFlag("batch size", { defaultText: "1024" }),
    lr: {
      type: "string",
      description: "Adam learning rate",
      defaultText: `the paper's ${PAPER_LR}; ${CONVERGENT_LR} with --until-converged`,
    },
    engine: stringFlag("auto | sparse | dense", { defaultText: "auto" }),
    threads: {
      type: "string",
      description: "compute threads of this one process (not parallel runs: that is --workers elsewhere)",
      defaultText: "NAC_SAE_THREADS, else 2",
    },
    resume: stringFlag(
      "continue from this checkpoint directory up to --epochs (its config, seed, lr, batch and engine are kept)",
    ),
    auxk: {
      type: "boolean",
      description:
        "add the AuxK dead-latent loss (off in the paper; k_aux and coefficient as in the reference)",
    },
    "auxk-dead": {
      type: "string",
      description: "AuxK: samples without firing that make a latent dead",
      defaultText: "N, one epoch",
    },
    quiet: booleanFlag("no progress output"),
    "checkpoint-every": {
      type: "string",
      default: "0",
      description: "also checkpoint every E epochs (0: only at the end)",
    },
  },
  async run(flags, _positionals, settings) {
    const t0 = performance.now();
    const threads = threadsOf(flags, settings);
    const featuresPath = need(flags, "features");
    const out = need(flags, "out");
    await checkOutputPath(out, "dir", "--out");
    await checkOutputNotInput(join(out, MODEL_FILE), "--out", [["--features", featuresPath], [
      "--val",
      flags.val as string | undefined,
    ]]);
    const X = await readMatrix(featuresPath);
    checkFeatures(X, X.cols, featuresPath);
    checkTrainable(X, featuresPath);
    const val = typeof flags.val === "string" ? await readMatrix(flags.val) : undefined;
    let resume: TrainResult | undefined;
    let cfg: SaeConfig;
    if (typeof flags.resume === "string" && flags["until-converged"]) {
      throw new UsageError("--until-converged cannot resume a checkpoint; train afresh");
    }
    if (typeof flags.resume === "string") {
      // A resumed run continues the checkpoint's own run: flags that would change it cannot be honoured.
      const fixed = ["lr", "batch", "seed", "engine", "auxk", "auxk-dead"].filter((f) =>
        flags[f] !== undefined
      );
      if (fixed.length > 0) {
        throw new UsageError(
          `${
            fixed.map((f) => `--${f}`).join(", ")
          } cannot be changed when resuming (--resume continues the ` +
            `checkpoint's run with its own settings); drop ${fixed.length > 1 ? "them" : "it"}, or train ` +
            `afresh without --resume`,
        );
      }
      resume = await loadCheckpoint(flags.resume, { forResume: true });
      const done = resume.history.length;
      cfg = {
        ...resume.model.config,
        epochs: num(flags, "epochs", resume.model.config.epochs, LIMITS.epochs),
      };
      if (cfg.epochs < done) {
        throw new UsageError(
          `--epochs ${cfg.epochs} is fewer than the ${done} epochs ${flags.resume} has already trained; ` +
            `give --epochs ≥ ${done} (a checkpoint cannot be un-trained)`,
        );
      }
      for (const key of ["q", "s"] as const) {
        if (flags[key] !== undefined && num(flags, key) !== cfg[key]) {
          throw new UsageError(
            `--${key} ${flags[key]} differs from the resumed checkpoint's ${key} = ${cfg[key]}`,
          );
        }
      }
      checkFeatures(X, cfg.dIn, featuresPath);
    } else {
      const engine = String(flags.engine ?? "auto");
      if (!["auto", "sparse", "dense"].includes(engine)) {
        throw new UsageError(`--engine must be auto, sparse or dense`);
      }
      const q = num(flags, "q", undefined, LIMITS.q), s = num(flags, "s", undefined, LIMITS.s);
      const converge = Boolean(flags["until-converged"]);
      if (converge && flags.epochs !== undefined) {
        throw new UsageError("--until-converged and --epochs exclude each other");
      }
      if (converge && flags.val === undefined) {
        throw new UsageError("--until-converged needs --val (the validation rows whose loss stops it)");
      }
      cfg = saeConfig(q, s, X.cols, {
        epochs: converge
          ? 0
          : flags.epochs === undefined
          ? undefined
          : num(flags, "epochs", undefined, LIMITS.epochs),
        convergence: converge ? { ...CONVERGENCE_DEFAULTS } : undefined,
        seed: num(flags, "seed", 0, LIMITS.seed),
        batchSize: num(flags, "batch", 1024, LIMITS.batchSize),
        lr: num(flags, "lr", defaultLr(converge), LIMITS.lr),
        engine: engine as "auto",
      });
      if (flags.auxk) {
        const aux = auxKDefaults(cfg.dIn, cfg.dZ, cfg.k, X.rows);
        if (flags["auxk-dead"] !== undefined) {
          aux.deadSamples = num(flags, "auxk-dead", undefined, { integer: true, min: 1 });
        }
        cfg = { ...cfg, auxK: aux };
        validateConfig(cfg);
      }
    }
    if (val) checkFeatures(val, cfg.dIn, flags.val as string);
    const every = num(flags, "checkpoint-every", 0, { integer: true, min: 0 });
    const result = await trainSae(X, cfg, {
      val,
      threads,
      resume,
      quiet: Boolean(flags.quiet),
      onEpoch: every > 0
        ? async (rec, state) => {
          if (rec.epoch % every === 0 && rec.epoch < cfg.epochs) await saveCheckpoint(out, state);
        }
        : undefined,
    });
    await saveCheckpoint(out, result);
    const last = result.history.at(-1);
    const trained = result.history.slice(resume?.history.length ?? 0);
    const trainSeconds = trained.reduce((a, r) => a + r.seconds, 0);
    const seconds = (performance.now() - t0) / 1000;
    log(`sae: checkpoint written to ${out} (${seconds.toFixed(1)} s)`, Boolean(flags.quiet));
    return {
      out,
      n: X.rows,
      d: cfg.dIn,
      d_z: cfg.dZ,
      k: cfg.k,
      q: cfg.q,
      s: cfg.s,
      epochs: cfg.convergence ? null : cfg.epochs,
      steps: result.optimizer.step,
      stopping: result.stopping ?? null,
      engine: result.engine,
      final_loss: last?.trainLoss ?? null,
      val_loss: last?.valLoss ?? null,
      nmse: last?.nmse ?? null,
      l0: last?.l0 ?? null,
      dead_latents: last?.dead ?? null,
      samples_per_s: trainSeconds > 0 ? (X.rows * trained.length) / trainSeconds : null,
      seconds,
    };
  },
};

const encode: Command = {
  name: "sae encode",
  summary: "encode features with a trained SAE checkpoint: z = ReLU(TopK(W_enc(u − b_pre))), N × d_z float32",
  usage: "--checkpoint DIR --features X.npy --out Z.npy [--json]",
  flags: {
    checkpoint: {
      type: "string",
      required: true,
      description: "checkpoint folder written by `sae train` (or a grid cell's)",
    },
    features: stringFlag("features, N × d .npy", { required: true }),
    out: stringFlag("output file (.npy) for z", { required: true }),
    threads: {
      type: "string",
      description: "compute threads of this one process",
      defaultText: "NAC_SAE_THREADS, else 2",
    },
  },
  async run(flags, _positionals, settings) {
    const threads = threadsOf(flags, settings);
    const t0 = performance.now();
    const out = need(flags, "out");
    await checkOutputPath(out, "file", "--out");
    const featuresPath = need(flags, "features");
    const checkpointDir = need(flags, "checkpoint");
    await checkOutputNotInput(out, "--out", [
      ["--features", featuresPath],
      ["--checkpoint", join(checkpointDir, MODEL_FILE)],
      ["--checkpoint", join(checkpointDir, OPTIMIZER_FILE)],
    ]);
    const ckpt = await loadCheckpoint(checkpointDir);
    const X = await readMatrix(featuresPath);
    checkFeatures(X, ckpt.model.config.dIn, featuresPath);
    const z = await encodeSae(ckpt.model, X, threads);
    await writeMatrix(out, z);
    let active = 0;
    for (let i = 0; i < z.data.length; i++) if (z.data[i] > 0) active++;
    return {
      out,
      rows: z.rows,
      d_z: z.cols,
      k: ckpt.model.config.k,
      l0: active / z.rows,
      seconds: (performance.now() - t0) / 1000,
    };
  },
};

const exportCmd: Command = {
  name: "sae export",
  summary: "export a checkpoint to another library's layout; saelens: sae_weights.safetensors (W_enc " +
    "[d_in, d_sae], W_dec [d_sae, d_in], b_enc zeros, b_dec = b_pre) and cfg.json (architecture topk, k)",
  usage: "--checkpoint DIR --out DIR [--format saelens] [--json]",
  flags: {
    checkpoint: {
      type: "string",
      required: true,
      description: "checkpoint folder written by `sae train` (or a grid cell's)",
    },
    format: {
      type: "string",
      default: "saelens",
      description: `target layout: ${EXPORT_FORMATS.join(" | ")}`,
    },
    out: {
      type: "string",
      required: true,
      description: "output folder (created; its files are overwritten)",
    },
  },
  async run(flags) {
    const format = String(flags.format ?? "saelens");
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
      throw new UsageError(
        `--format must be one of ${EXPORT_FORMATS.join(", ")}, got ${JSON.stringify(format)}`,
      );
    }
    const summary = await exportSaeLens(need(flags, "checkpoint"), need(flags, "out"));
    for (const f of summary.files) console.log(`wrote ${f}`);
    return { format, ...summary };
  },
};

export const commands: Command[] = [train, encode, exportCmd];
