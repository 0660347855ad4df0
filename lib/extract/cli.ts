/** CLI of the extraction stage: `codecs` and `extract`. */
import { LIMITS } from "../common/limits.ts";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { booleanFlag, type Command, MODELS_FLAG, need, num, stringFlag, UsageError } from "../common/cli.ts";
import { checkOutputNotInput, checkOutputPath } from "../common/fs.ts";
import { writeNpy } from "../formats/npy.ts";
import { listCodecs } from "../codecs/registry.ts";
import { type LoadOptions, parseProviders } from "../codecs/types.ts";
import { log } from "../common/progress.ts";
import { locationsOf, type Settings } from "../common/settings.ts";
import {
  describeUnitFailures,
  executorFlag,
  latestSubmission,
  positiveIntFlag,
  queued,
  SLURM_FLAGS,
  slurmOptionsFromFlags,
  type SubmissionRecord,
} from "../common/slurm.ts";
import { followExtraction, submitExtraction } from "./executor_slurm.ts";
import { encodeFile, extractFeatures, featureStoreDir, manifestRows, MAX_SECONDS } from "./mod.ts";

const codecs: Command = {
  name: "codecs",
  summary: "list registered codec ids (built-in, plus ONNX sidecars found in the models directory)",
  usage: "[--models DIR]",
  flags: {
    models: MODELS_FLAG,
  },
  async run(flags, _positionals, settings) {
    const all = await listCodecs({ ...locationsOf(settings), modelsDir: flags.models as string | undefined });
    const rows = all.map((c) => ({
      id: c.id,
      family: c.family,
      sampleRate: c.sampleRate,
      dCodec: c.dCodec,
      frameRate: c.frameRate,
      bitrateKbps: c.bitrateKbps ?? null,
      source: c.source,
    }));
    const w = Math.max(...rows.map((r) => r.id.length), 2) + 2;
    console.log(
      `${"id".padEnd(w)}${"rate".padEnd(8)}${"d".padEnd(6)}${"fps".padEnd(8)}${"kbps".padEnd(7)}source`,
    );
    for (const r of rows) {
      console.log(
        `${r.id.padEnd(w)}${String(r.sampleRate).padEnd(8)}${String(r.dCodec).padEnd(6)}` +
          `${String(r.frameRate).padEnd(8)}${String(r.bitrateKbps ?? "-").padEnd(7)}${r.source}`,
      );
    }
    return { codecs: rows };
  },
};

const extract: Command = {
  name: "extract",
  summary:
    "encode audio with a codec: u (mean ê) or ê frames as .npy; or a whole manifest into a feature store",
  usage:
    "--codec ID (--audio FILE [--frames] --out FILE.npy | --manifest M.csv [--store DIR] [--workers N] " +
    "[--frames])\n" +
    "       --codec ID --manifest M.csv --executor slurm [--wait] [--shard-size N --partition P --time T ...]\n" +
    "       --codec ID --manifest M.csv [--store DIR] --follow | --status   (the store's latest Slurm submission)",
  flags: {
    codec: stringFlag("codec id (see `codecs`)", { required: true }),
    audio: stringFlag("one audio file (WAV/FLAC/MP3)"),
    frames: booleanFlag(
      "with --audio: write ê (T × d) instead of u (d); with --manifest: also keep each recording's ê in the " +
        "store's frames/ (frame-level SAEs; layout in docs/interop.md)",
    ),
    out: stringFlag("with --audio: output file (.npy, float32)"),
    manifest: stringFlag("manifest CSV: encode every utterance into the feature store"),
    store: {
      type: "string",
      description: "with --manifest: feature store folder",
      defaultText: "<cache>/features/<dataset>/<codec>",
    },
    workers: {
      type: "string",
      description: "with --manifest: parallel workers (one codec instance each)",
      defaultText: "the number of cores",
    },
    models: MODELS_FLAG,
    "flush-every": {
      type: "string",
      description: "with --manifest: commit results to the store every N utterances (and every 10 s)",
      defaultText: "256",
    },
    "max-seconds": {
      type: "string",
      description: `crop audio to its first N seconds (0: no crop)`,
      default: String(MAX_SECONDS),
    },
    offline: booleanFlag("never download weights"),
    quiet: booleanFlag("no progress output"),
    "onnx-providers": {
      type: "string",
      description:
        "onnxruntime execution providers of the ONNX codecs, e.g. cuda,cpu (else NAC_SAE_ONNX_PROVIDERS)",
      defaultText: "cpu",
    },
    import: {
      type: "string",
      multiple: true,
      description: "with --manifest: first copy in the rows of this store (same codec and crop; repeatable)",
    },
    ...SLURM_FLAGS,
  },
  async run(flags, _positionals, settings) {
    const codecId = need(flags, "codec");
    const maxSeconds = num(flags, "max-seconds", MAX_SECONDS, { min: 0, max: LIMITS.maxSeconds.max });
    if (typeof flags.models === "string") {
      const stat = await Deno.stat(flags.models).catch(() => undefined);
      if (stat && !stat.isDirectory) {
        throw new UsageError(
          `--models ${flags.models} is a file; give the folder that holds the codec models`,
        );
      }
    }
    // Flags of the other mode would be silently ignored: refused, naming them.
    const misplaced = flags.audio !== undefined
      ? ["store", "workers", "flush-every", "import"].filter((f) => flags[f] !== undefined)
      : ["out"].filter((f) => flags[f] !== undefined);
    if (misplaced.length > 0 && (flags.audio !== undefined || flags.manifest !== undefined)) {
      const mode = flags.audio !== undefined ? "--audio" : "--manifest";
      throw new UsageError(
        `${misplaced.map((f) => `--${f}`).join(", ")} do${misplaced.length > 1 ? "" : "es"} not apply with ` +
          `${mode}; drop ${
            misplaced.length > 1 ? "them" : "it"
          } (--audio takes --out [--frames]; --manifest ` +
          `takes --store, --workers, --flush-every, --import)`,
      );
    }
    const load: LoadOptions = {
      ...locationsOf(settings),
      modelsDir: flags.models as string | undefined,
      offline: flags.offline === true,
      quiet: flags.quiet === true,
      providers: onnxProviders(flags, settings),
    };
    if (flags.audio !== undefined && flags.manifest !== undefined) {
      throw new UsageError("give either --audio or --manifest, not both");
    }
    if (flags.audio !== undefined) {
      if (executorFlag(flags) === "slurm") {
        throw new UsageError("--executor slurm takes --manifest, not --audio");
      }
      const audio = need(flags, "audio");
      const out = need(flags, "out");
      await checkOutputPath(out, "file", "--out");
      await checkOutputNotInput(out, "--out", [["--audio", audio]]);
      const r = await encodeFile(audio, codecId, { ...load, maxSeconds: maxSeconds || Infinity });
      const shape = flags.frames ? [r.frames.rows, r.frames.cols] : [r.u.length];
      await writeNpy(out, flags.frames ? r.frames.data : r.u, shape);
      const rtf = r.audioSeconds / r.encodeSeconds;
      console.log(
        `${resolve(out)}: ${flags.frames ? "ê" : "u"} (${
          shape.join(" × ")
        }) float32 from ${r.frames.rows} frames, ` +
          `${r.audioSeconds.toFixed(2)} s of audio encoded in ${r.encodeSeconds.toFixed(2)} s (${
            rtf.toFixed(1)
          }× real time)`,
      );
      return {
        codec: r.codecId,
        out: resolve(out),
        shape,
        frames: r.frames.rows,
        seconds: r.audioSeconds,
        encodeSeconds: r.encodeSeconds,
        rtf,
      };
    }
    if (flags.manifest !== undefined) {
      const workers = flags.workers !== undefined
        ? num(flags, "workers", undefined, LIMITS.workers)
        : undefined;
      if (typeof flags.store === "string") await checkOutputPath(flags.store, "dir", "--store");
      if (executorFlag(flags) === "slurm" || flags.follow || flags.status) {
        if (flags.frames) {
          throw new Error(
            "--frames with --manifest runs locally only; leave out --executor slurm (or --frames)",
          );
        }
        return await viaSlurm(flags, codecId, maxSeconds, load);
      }
      const r = await extractFeatures({
        manifestPath: need(flags, "manifest"),
        codecId,
        storeDir: flags.store as string | undefined,
        workers,
        flushEvery: num(flags, "flush-every", 256, { integer: true, min: 1, max: 1_000_000 }),
        maxSeconds: maxSeconds || Infinity,
        importStores: flags.import as string[] | undefined,
        keepFrames: flags.frames === true,
        ...load,
      });
      const s = r.summary;
      console.log(
        `${s.storeDir}: ${s.done}/${s.total} utterances stored (${s.cached} cached, ${s.computed} computed` +
          `${s.reencoded ? ` (${s.reencoded} re-encoded: file changed)` : ""}, ` +
          `${s.failed} failed); ${s.utterancesPerSecond.toFixed(1)} utt/s, ${
            s.realTimeFactor.toFixed(1)
          }× real time ` +
          `on ${s.workers} worker(s), ${s.seconds.toFixed(1)} s total`,
      );
      return { ...s, shape: [r.u.rows, r.u.cols] };
    }
    throw new UsageError("give --audio FILE --out FILE.npy, or --manifest M.csv");
  },
};

/**
 * `--onnx-providers`, else the NAC_SAE_ONNX_PROVIDERS setting (inherited by Slurm jobs), else onnxruntime's CPU
 * default.
 */
export function onnxProviders(flags: Record<string, unknown>, settings: Settings): string[] | undefined {
  if (typeof flags["onnx-providers"] === "string") {
    return parseProviders(flags["onnx-providers"], "--onnx-providers");
  }
  return settings.onnxProviders;
}

/** `extract --manifest` with `--executor slurm`, `--follow` or `--status` (docs/slurm.md). */
async function viaSlurm(
  flags: Record<string, unknown>,
  codecId: string,
  maxSeconds: number,
  load: LoadOptions,
): Promise<Record<string, unknown>> {
  const manifestPath = resolve(need(flags, "manifest"));
  const storeDir = flags.store !== undefined
    ? resolve(flags.store as string)
    : featureStoreDir((await manifestRows(manifestPath)).dataset, codecId, load);
  let sub: SubmissionRecord | null;
  if (flags.follow || flags.status) {
    sub = await latestSubmission(storeDir);
    if (!sub) throw new Error(`${storeDir}: no Slurm submission (no slurm/NNN/submission.json)`);
  } else {
    const r = await submitExtraction({
      ...locationsOf(load),
      manifestPath,
      codecId,
      storeDir,
      modelsDir: load.modelsDir && resolve(load.modelsDir),
      maxSeconds: maxSeconds === MAX_SECONDS ? undefined : maxSeconds,
      shardSize: positiveIntFlag(flags, "shard-size") ?? 500,
      slurm: slurmOptionsFromFlags(flags),
      toolkit: {
        deno: Deno.execPath(),
        root: fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, ""),
      },
      dryRun: false,
      quiet: load.quiet,
    });
    if (!r) {
      console.log(`${storeDir}: complete, nothing to extract`);
      return { store: storeDir, submitted: false };
    }
    sub = r.submission;
    const logs = `${sub.dir}/logs`;
    console.log(`submission ${sub.submission}: ${r.plan.extract.length} extraction shard(s) → ${sub.dir}`);
    if (sub.jobs.extract) {
      console.log(`  extraction array job ${sub.jobs.extract} (logs ${logs}/extract-<i>.out)`);
    }
    console.log(`  fold job ${sub.jobs.fold}: parts into ${storeDir} (log ${logs}/fold.out)`);
    if (!flags.wait) {
      console.log(
        `follow: the same command with --follow instead of --executor slurm   (or squeue -j ${
          Object.values(sub.jobs).join(",")
        })`,
      );
      return { submission: sub.submission, dir: sub.dir, jobs: sub.jobs, shards: r.plan.extract.length };
    }
  }
  const active = flags.status ? await queued(Object.values(sub.jobs).filter((j): j is string => !!j)) : [];
  if (active.length > 0) {
    console.log(`submission ${sub.submission}: ${active.length} job(s)/task(s) queued or running`);
    return { submission: sub.submission, active: active.length };
  }
  const r = await followExtraction(sub, {
    pollSeconds: num(flags, "poll", 10, { exclusiveMin: 0 }),
    quiet: load.quiet,
  });
  if (r.failures.length > 0) {
    for (const l of describeUnitFailures(r.failures, sub.jobs)) log(l);
    throw new Error(
      `submission ${sub.submission}: ${r.failures.length} unit(s) did not finish; ${r.done}/${r.total} shards ` +
        `done. Fix the cause, then submit the same command again: it extracts only what is missing`,
    );
  }
  console.log(`submission ${sub.submission}: ${r.done}/${r.total} shards extracted; ${storeDir} complete`);
  return { submission: sub.submission, jobs: sub.jobs, store: storeDir, done: r.done, total: r.total };
}

export const commands: Command[] = [codecs, extract];
