/**
 * Latents in time: what the latents of a frame-level SAE cell (sae_input "frames", fit on the frames ê_t) do
 * frame by frame on the cell's test recordings. Per latent j (with z_t = the SAE code of frame t):
 *
 *   firing rate of class c     = #{test frames of class-c recordings with z_t[j] > 0} / #{those frames}
 *   mean magnitude when firing = mean of z_t[j] over those firing frames (0 when it never fires)
 *   cosine                     = cos(d_j, mean(u | class 1) − mean(u | class 0)) over the train recordings;
 *                                taken on u, not on every frame: u = mean_t ê_t (frame cells pool by mean),
 *                                so this is the recording-weighted class-mean difference of the frames, and
 *                                a long recording does not outweigh a short one
 *   k-sparse rank              = 1 + position of j in lib/probe/ksparse.ts's ranking (|difference of class
 *                                means| of the pooled z = mean_t z_t over the recordings the cell's probe is
 *                                fit on, as the grid's k-sparse probes rank them)
 *   coefficient                = the L1 probe's coefficient on the standardized pooled z_j
 *
 * plus each shown latent's top-activating frames (the highest frame of each recording, best recordings first,
 * so the snippets are not neighbouring frames of one recording) and, for a few recordings, the activation strip
 * (T × shown latents) of the top accent latents and the top sex latents (the same ranking on the speakers'
 * gender, when the manifest has one). Frame t is the audio [t, t + 1) / frameRate s from the recording's start
 * (Lyra encodes consecutive 320-sample blocks of the 16 kHz audio). Recordings are encoded one at a time, so
 * no more than one recording's codes are held. Deterministic: fixed orders everywhere, ties broken by index.
 */
import { join } from "node:path";
import { exists, readJson } from "../common/fs.ts";
import type { Matrix } from "../common/matrix.ts";
import { getCodec } from "../codecs/registry.ts";
import { manifestRows, readManifest } from "../data/mod.ts";
import { meanDifferences, rankByScore } from "../probe/ksparse.ts";
import { encodeSae } from "../sae/mod.ts";
import { poolFrameCodes } from "../sae/frame_pooling.ts";
import { type CellContext, framesOf } from "./cell_context.ts";
import { classMeanDifference, cosine, decoderColumn, type LatentsReport, rankLatents } from "./latents.ts";
import { probeDecision } from "./steer.ts";
import type { ProbeConfig, RunConfig } from "./config.ts";

export interface TopFrame {
  id: string;
  /** Frame index t (0-based) and its centre time in seconds, (t + 0.5) / frame rate. */
  frame: number;
  time: number;
  activation: number;
  label: number;
  narrow: string;
}

export interface FrameLatentStats {
  latent: number;
  /** Probe coefficient on the standardized pooled z_j (positive favours class 1). */
  coef: number;
  favours: number;
  /** 1-based k-sparse rank on the task (1 = the latent a 1-sparse probe uses). */
  ksparseRank: number;
  /** Share of the test frames of each class's recordings on which z_t[j] > 0. */
  firingRate: [number, number];
  /** Mean z_t[j] over the frames of each class on which it fires (0 when none). */
  meanMagnitude: [number, number];
  /** cos(d_j, mean u class 1 − mean u class 0 over the train recordings). */
  cosineClassMeans: number;
  /** The top-activating frames, one per recording, highest first. */
  top: TopFrame[];
}

export interface ActivationStrip {
  id: string;
  label: number;
  narrow: string;
  gender: string;
  /** Frames T; `values[i]` is latent `latents[i]`'s z_t over t = 0..T−1 (rounded to 4 decimals). */
  frames: number;
  latents: number[];
  values: number[][];
  /** Decision of the probe on the recording's pooled z (> 0: class 1), why it was chosen. */
  decision: number;
}

export interface FrameLatentsReport extends
  Pick<
    LatentsReport,
    | "cellKey"
    | "dataset"
    | "codec"
    | "task"
    | "classes"
    | "q"
    | "s"
    | "seed"
    | "k"
    | "dZ"
    | "deltaF1"
    | "f1"
    | "f1Ref"
    | "chosenBy"
  > {
  /** Codec frames per second (frame t covers [t, t + 1) / frameRate s of the audio). */
  frameRate: number;
  /** The codec's sample rate (Hz): the rate the audio was resampled to before encoding. */
  codecRate: number;
  probe: { name: string; nnz: number };
  /** Test recordings and frames per class. */
  nTest: [number, number];
  nFrames: [number, number];
  /** The first latents of the task's k-sparse ranking (what the k-sparse probes of size ≤ 20 use). */
  ksparseTop: number[];
  /** The shown accent latents (top by |probe coefficient|) with their numbers. */
  latents: FrameLatentStats[];
  /** The top latents of the speakers' sex (female vs male), by the same k-sparse ranking; [] when unknown. */
  sexLatents: { latent: number; rank: number; score: number; nFemale: number; nMale: number }[];
  strips: ActivationStrip[];
}

export interface FrameLatentsOptions {
  /** Accent latents shown (top by |coef| among the non-zero). */
  top?: number;
  /** Top-activating frames (recordings) per latent. */
  frames?: number;
  /** Recordings with an activation strip. */
  strips?: number;
  /** The task's top latents drawn in the strips (of the shown ones). */
  stripLatents?: number;
  /** Sex latents added to the strips. */
  sexLatents?: number;
  /** Encoding threads (default: the SAE engine's). */
  threads?: number;
}

/** Pooled z of each recording (rows in `ids` order), encoded one recording at a time. */
async function pooledZ(ctx: CellContext, ids: string[], threads?: number): Promise<Matrix> {
  const dZ = ctx.sae.config.dZ, data = new Float32Array(ids.length * dZ);
  for (const [i, id] of ids.entries()) {
    const [e] = await framesOf(ctx, [id]);
    data.set(poolFrameCodes(await encodeSae(ctx.sae, e, threads)).z, i * dZ);
  }
  return { rows: ids.length, cols: dZ, data };
}

/** The k-sparse ranking of `x`'s columns for labels y over all rows. */
function ksparseRanking(x: Matrix, y: Int32Array, what: string): { order: number[]; scores: Float64Array } {
  const scores = meanDifferences(x, y, Array.from({ length: x.rows }, (_, i) => i), what);
  return { order: rankByScore(scores), scores };
}

/**
 * The recordings the cell's probe on z was fit on (lib/experiment/task_data.ts probeRowsOf): val2 under the
 * "split" protocol, the development rows under "dev", fold 0's training rows under "kfold" (its first probe).
 */
async function probeTrainingIds(ctx: CellContext): Promise<string[]> {
  const path = join(ctx.outDir, "run_config.json");
  const config = (await exists(path)) ? await readJson<Partial<RunConfig>>(path) : {};
  const probe: Partial<ProbeConfig> = config.probe ?? {};
  const { train, val1, val2, test } = ctx.splits;
  const protocol = probe.protocol ?? "split";
  if (protocol === "split") return val2;
  if (protocol === "dev") return [...(probe.saeRows ? train : []), ...val1, ...val2];
  const folds = ctx.splits.folds;
  if (!folds) {
    throw new Error(`${ctx.outDir}: k-fold cell ${ctx.cellKey} has no fold assignment in its splits`);
  }
  return [...val1, ...val2, ...test].filter((id) => folds[id] !== undefined && folds[id] !== 0);
}

/** Each utterance's gender from the manifest ("" when the column or the value is missing). */
async function gendersOf(ctx: CellContext): Promise<Map<string, string>> {
  const rows = manifestRows(
    await readManifest(ctx.manifestPath, { checkFiles: false, duplicateAudio: "allow" }),
  );
  const out = new Map<string, string>();
  for (const r of rows as unknown as Record<string, unknown>[]) {
    out.set(String(r.utterance_id), String(r.gender ?? "").trim().toLowerCase());
  }
  return out;
}

/**
 * The k-sparse rankings on pooled z of the non-test recordings: on the task (its probe-training recordings, as
 * the grid ranks) and on sex (every non-test recording with a known gender: more speakers than the probe's rows).
 */
async function latentRankings(ctx: CellContext, nSex: number, threads: number | undefined) {
  const { dZ } = ctx.sae.config;
  const labels = ctx.splits.labels;
  const dev = [...new Set([...ctx.splits.train, ...ctx.splits.val1, ...ctx.splits.val2])];
  const zDev = await pooledZ(ctx, dev, threads);
  const rowOf = new Map(dev.map((id, i) => [id, i]));
  const rowsOf = (ids: string[]): Matrix => {
    const x: Matrix = { rows: ids.length, cols: dZ, data: new Float32Array(ids.length * dZ) };
    ids.forEach((id, k) => {
      const i = rowOf.get(id)!;
      x.data.set(zDev.data.subarray(i * dZ, (i + 1) * dZ), k * dZ);
    });
    return x;
  };
  const probeTrain = await probeTrainingIds(ctx);
  const task = ksparseRanking(
    rowsOf(probeTrain),
    Int32Array.from(probeTrain, (id) => labels[id]),
    `cell ${ctx.cellKey}`,
  );
  const ksRank = new Int32Array(dZ);
  task.order.forEach((j, r) => (ksRank[j] = r + 1));
  const genders = await gendersOf(ctx);
  const sexIds = dev.filter((id) => ["female", "male"].includes(genders.get(id) ?? ""));
  let sexLatents: FrameLatentsReport["sexLatents"] = [];
  const nFemale = sexIds.filter((id) => genders.get(id) === "female").length, nMale = sexIds.length - nFemale;
  if (nFemale > 0 && nMale > 0 && nSex > 0) {
    const y = Int32Array.from(sexIds, (id) => (genders.get(id) === "female" ? 1 : 0));
    const sex = ksparseRanking(rowsOf(sexIds), y, `cell ${ctx.cellKey} (sex)`);
    sexLatents = sex.order.slice(0, nSex).map((j, r) => ({
      latent: j,
      rank: r + 1,
      score: sex.scores[j],
      nFemale,
      nMale,
    }));
  }

  return { task, ksRank, sexLatents, genders };
}

/**
 * One pass over the test recordings: per-class firing counts and sums of every latent, the best frame of each
 * recording for the shown latents, and each recording's probe decision (to choose the strips).
 */
async function testPass(ctx: CellContext, shown: number[], frameRate: number, threads: number | undefined) {
  const { dZ } = ctx.sae.config;
  const labels = ctx.splits.labels;
  const fired = [new Float64Array(dZ), new Float64Array(dZ)],
    sum = [new Float64Array(dZ), new Float64Array(dZ)];
  const framesPerClass: [number, number] = [0, 0], nTest: [number, number] = [0, 0];
  const best: TopFrame[][] = shown.map(() => []);
  const decisions: { id: string; label: number; decision: number }[] = [];
  for (const id of ctx.splits.test) {
    const c = labels[id];
    if (c !== 0 && c !== 1) throw new Error(`cell ${ctx.cellKey}: test recording ${id} has no 0/1 label`);
    const [e] = await framesOf(ctx, [id]);
    const z = await encodeSae(ctx.sae, e, threads);
    nTest[c]++;
    framesPerClass[c] += z.rows;
    for (let t = 0; t < z.rows; t++) {
      const o = t * dZ;
      for (let j = 0; j < dZ; j++) {
        const v = z.data[o + j];
        if (v > 0) {
          fired[c][j]++;
          sum[c][j] += v;
        }
      }
    }
    shown.forEach((j, s) => {
      let bt = -1, bv = 0;
      for (let t = 0; t < z.rows; t++) {
        const v = z.data[t * dZ + j];
        if (v > bv) [bt, bv] = [t, v];
      }
      if (bt >= 0) {
        const narrow = ctx.info.get(id)?.narrow ?? "unknown";
        best[s].push({ id, frame: bt, time: (bt + 0.5) / frameRate, activation: bv, label: c, narrow });
      }
    });
    decisions.push({ id, label: c, decision: probeDecision(ctx.zProbe, poolFrameCodes(z).z) });
  }

  return { fired, sum, framesPerClass, nTest, best, decisions };
}

/** Computes the frame-level dashboard's numbers for a loaded frame-level cell. */
export async function frameLatentsReport(
  ctx: CellContext,
  opts: FrameLatentsOptions = {},
): Promise<FrameLatentsReport> {
  if (ctx.saeInput !== "frames") {
    throw new Error(
      `cell ${ctx.cellKey}: its SAE was fit on u (sae_input "utterance"), not on frames; select a frame-level ` +
        `cell (--sae-input frames) or use the utterance dashboard`,
    );
  }
  const nTop = opts.top ?? 8, nFrames = opts.frames ?? 4, nStrips = opts.strips ?? 3;
  const nSex = opts.sexLatents ?? 2, threads = opts.threads;
  const { dZ } = ctx.sae.config;
  const codec = await getCodec(ctx.codec, ctx.modelsDir ? { modelsDir: ctx.modelsDir } : {});
  const frameRate = codec.frameRate;

  const { task, ksRank, sexLatents, genders } = await latentRankings(ctx, nSex, threads);
  const shown = rankLatents(ctx.zProbe.coef).slice(0, nTop);
  const { fired, sum, framesPerClass, nTest, best, decisions } = await testPass(
    ctx,
    shown,
    frameRate,
    threads,
  );

  const diff = classMeanDifference(ctx);
  const latents = shown.map((j, s): FrameLatentStats => ({
    latent: j,
    coef: ctx.zProbe.coef[j],
    favours: ctx.zProbe.coef[j] > 0 ? 1 : 0,
    ksparseRank: ksRank[j],
    firingRate: [0, 1].map((c) => fired[c][j] / Math.max(1, framesPerClass[c])) as [number, number],
    meanMagnitude: [0, 1].map((c) => (fired[c][j] > 0 ? sum[c][j] / fired[c][j] : 0)) as [number, number],
    cosineClassMeans: cosine(decoderColumn(ctx, j), diff),
    top: best[s].sort((a, b) => b.activation - a.activation || a.id.localeCompare(b.id)).slice(0, nFrames),
  }));

  const strips = await activationStrips(ctx, {
    decisions,
    latents: [...new Set([...shown.slice(0, opts.stripLatents ?? 4), ...sexLatents.map((l) => l.latent)])],
    count: nStrips,
    genders,
    threads,
  });

  return {
    cellKey: ctx.cellKey,
    dataset: ctx.dataset,
    codec: ctx.codec,
    task: ctx.task,
    classes: ctx.classes,
    q: ctx.q,
    s: ctx.s,
    seed: ctx.seed,
    k: ctx.sae.config.k,
    dZ,
    deltaF1: ctx.deltaF1,
    f1: ctx.f1,
    f1Ref: ctx.f1Ref,
    chosenBy: ctx.chosenBy,
    frameRate,
    codecRate: codec.sampleRate,
    probe: { name: ctx.zProbeName, nnz: ctx.zProbe.nnz },
    nTest,
    nFrames: framesPerClass,
    ksparseTop: task.order.slice(0, 20),
    latents,
    sexLatents,
    strips,
  };
}

/**
 * The strips of `count` test recordings: those the probe on pooled z is surest about, taking class 1 and class
 * 0 in turn (most positive decision of class 1, most negative of class 0, …), so both classes are shown.
 */
async function activationStrips(
  ctx: CellContext,
  { decisions, latents, count, genders, threads }: {
    decisions: { id: string; label: number; decision: number }[];
    latents: number[];
    count: number;
    genders: Map<string, string>;
    threads?: number;
  },
): Promise<ActivationStrip[]> {
  const byClass = [0, 1].map((c) =>
    decisions.filter((d) => d.label === c).sort((a, b) =>
      (c === 1 ? b.decision - a.decision : a.decision - b.decision) || a.id.localeCompare(b.id)
    )
  );
  const chosen: typeof decisions = [];
  for (let i = 0; chosen.length < count && (i < byClass[0].length || i < byClass[1].length); i++) {
    for (const c of [1, 0]) if (byClass[c][i] && chosen.length < count) chosen.push(byClass[c][i]);
  }
  const dZ = ctx.sae.config.dZ;
  const out: ActivationStrip[] = [];
  for (const d of chosen) {
    const [e] = await framesOf(ctx, [d.id]);
    const z = await encodeSae(ctx.sae, e, threads);
    out.push({
      id: d.id,
      label: d.label,
      narrow: ctx.info.get(d.id)?.narrow ?? "unknown",
      gender: genders.get(d.id) ?? "",
      frames: z.rows,
      latents,
      values: latents.map((j) =>
        Array.from({ length: z.rows }, (_, t) => Math.round(z.data[t * dZ + j] * 1e4) / 1e4)
      ),
      decision: d.decision,
    });
  }
  return out;
}
