/**
 * Steering in SAE space, per frame (frame-level SAE cells): does setting a few latents on every frame change
 * the class a probe reads from the codec's re-encoded output, beyond what the codec round trip and a random
 * edit of the same size do?
 *
 * For each source-class recording (a crop of `seconds`), ê (T × d) is the codec's encoding and
 *   z_t      = ReLU(TopK_k(W_enc (ê_t − b_pre)))                  the frame SAE's code of frame t
 *   D(z)     = W_dec z + b_pre                                    its decoder
 *   z'_t[j]  = α · m_j   for j ∈ J,   z'_t[j] = z_t[j] otherwise    the edit (on every frame t)
 *   ê'_t     = ê_t + D(z'_t) − D(z_t) = ê_t + Σ_{j∈J} (α m_j − z_t[j]) · W_dec[:, j]
 * so the SAE's error term ê_t − D(z_t) is kept and only the chosen latents change. m_j, the latent's typical
 * firing magnitude in the target class, is the mean over the target class's probe-training recordings (on
 * which latent j fires at all) of z_mag[j] = Σ_t z_t[j] / #{t : z_t[j] > 0} on all their frames. α = 0 ablates
 * the latents; α = 1 sets them to their typical target-class magnitude on every frame; α > 1 amplifies.
 * DEFAULT_ALPHAS = {0, 1, 2, 4}.
 *
 * J: the `latents` latents (default 8) with the largest expected move toward the target class of the task's
 * probe on pooled z, w_j · m_j with w_j = ±coef_j / scale_j (+ when the target is the probe's class 1), among
 * those with w_j · m_j > 0 (fewer when the L1 probe uses fewer).
 *
 * Conditions (each decoded with the codec, re-encoded, and scored):
 *   edit            ê' as above
 *   random          the same formula on |J| latents drawn uniformly (seeded per task and recording) from the
 *                   latents not in J that fire in the target class (m_j > 0), with the same α
 *   none            ê decoded unchanged (the codec round trip alone; independent of α)
 *   reconstruction  the SAE reconstruction without an edit, ê'_t = D(z_t) (the error term dropped; how far the
 *                   SAE's own reconstruction error moves the probes; independent of α)
 * none and reconstruction do not depend on α: their rows are computed once and repeated at every α.
 *
 * Scorers: the reference probe on u′ (the re-encoded frames pooled as the run pools u) — the primary scorer —
 * and the frame SAE's own probe on z′ = mean_t z_t of the re-encoded frames. For the cell's own task these are
 * the cell's stored probes; for any other task (the frame SAE is label-free and task-independent) both probes
 * are fit here by the run's probe protocol and settings on that task's probe-training rows only (fold 0 of the
 * protocol: split/dev train on the development rows, k-fold on the other folds), and the output says so.
 * Steered recordings: the source class's scored rows of fold 0 (the test split for split/dev), in manifest
 * order, at most `utterances`.
 *
 * Per (task, α, condition):
 *   flips / n, flip rate    the probe assigns the target class to the re-encoded output; Wilson 95 %
 *   decision_shift          mean over recordings of ±(decision(condition) − decision(original crop)), + toward
 *                           the target; 95 % percentile bootstrap over recordings (seeded), widened to contain
 *                           its estimate should a small sample's percentile interval not
 *   survival                the share of the intended frame change that survives decode → re-encode,
 *                           Σ_t ⟨ê''_t − ê''^none_t, Δ_t⟩ / Σ_t ‖Δ_t‖² with Δ_t = ê'_t − ê_t (mean over recordings)
 *   lsd_db                  log-spectral distance (dB) of the decode to the unedited decode (mean)
 * Verdict per task (reference probe): "causal effect shown" at an α only when the edit's decision-shift
 * interval lies entirely above both controls' (random and none); otherwise "no causal effect shown", with the
 * numbers. Everything is seeded and sequential: the result does not depend on thread counts.
 */
import { join } from "node:path";
import { encodeWav, loadAudio } from "../audio/mod.ts";
import { logSpectralDistance } from "../audio/spectrum.ts";
import type { Codec } from "../codecs/types.ts";
import { writeFileAtomic, writeJsonAtomic } from "../common/fs.ts";
import type { Matrix } from "../common/matrix.ts";
import { log, Progress } from "../common/progress.ts";
import { Rng } from "../common/random.ts";
import { wilsonInterval } from "../common/stats.ts";
import type { Locations } from "../common/settings.ts";
import {
  type AccentTaskId,
  columnTask,
  type ColumnTaskDefinition,
  readManifest,
  SEX_TASK,
  TASKS,
  type TaskSpec,
  taskSplits,
} from "../data/mod.ts";
import { meanOverTime, stdOverTime } from "../extract/pooling.ts";
import { runProtocol } from "../probe/protocol.ts";
import { encodeSae } from "../sae/mod.ts";
import { poolFrameCodes } from "../sae/frame_pooling.ts";
import type { SaeModel } from "../sae/model.ts";
import { type ProbeArtefact, probeArtefact } from "./artefacts.ts";
import {
  type CellContext,
  type CellSelector,
  framesOf,
  loadCellContext,
  readRunSettings,
  uOf,
} from "./cell_context.ts";
import { resolveProbeConfig, type RunConfig } from "./config.ts";
import { probeRowsOf } from "./task_data.ts";
import { loadDecodingCodec, probeDecision } from "./steer.ts";

export const SWEEP_CONDITIONS = ["edit", "random", "none", "reconstruction"] as const;
export type SweepCondition = typeof SWEEP_CONDITIONS[number];
export const DEFAULT_ALPHAS: readonly number[] = [0, 1, 2, 4];

/**
 * The demo's small sweep: 3 α, 12 source-class recordings per task, 3 s crops, the WAVs of 2 per task. Measured
 * on /tmp/fr/out (SAA × lyra-6kbps, d_z 1280): an accent task and sex together in 52 s and 63 s wall (49 s
 * CPU) on a 2-core machine at load average 3.7 and 4.3. Call `steerSweep(dir, { ...DEMO_SWEEP,
 * select: { task }, tasks: [task, "sex"] })`.
 */
export const DEMO_SWEEP: Readonly<SteerSweepOptions> = {
  alphas: [0, 2, 4],
  utterances: 12,
  seconds: 3,
  wavUtterances: 2,
  latents: 8,
  bootstrap: 1000,
};

export interface SteerSweepOptions extends Locations {
  /** Tasks to steer (default: the cell's own). Others get their probes fit here (see the header). */
  tasks?: string[];
  alphas?: number[];
  /** |J|, the latents edited (default 8). */
  latents?: number;
  /** J given explicitly (every task uses it; the random control draws as many). */
  latentIds?: number[];
  /** At most this many source-class recordings per task (default 20). */
  utterances?: number;
  /** Crop of each recording, seconds (default 3). */
  seconds?: number;
  /** The source class (0/1), steered toward the other (default 0). */
  source?: number;
  seed?: number;
  /** Bootstrap resamples of the decision-shift interval (default 1000). */
  bootstrap?: number;
  /** Recordings per task whose WAVs are written (default 2). */
  wavUtterances?: number;
  /** Default `<results>/steer`; null writes nothing. */
  outDir?: string | null;
  modelsDir?: string;
  quiet?: boolean;
}

/** Two scorers' decisions (positive → the probe's classes[1]). */
interface Decisions {
  ref: number;
  sae: number;
}

/** One recording of one task: decisions, survival and distances per α and condition. */
export interface SweepRecording {
  id: string;
  seconds: number;
  original: Decisions;
  /** Per condition key ("none", "reconstruction", "edit@α", "random@α"). */
  decisions: Record<string, Decisions>;
  survival: Record<string, number | null>;
  lsd: Record<string, number | null>;
  randomLatents: number[];
  wavs?: Record<string, string>;
}

export interface SweepRow {
  task: string;
  alpha: number;
  condition: SweepCondition;
  n: number;
  /** Reference probe on u′ (the primary scorer). */
  flips: number;
  flip_rate: number;
  flip_low: number;
  flip_high: number;
  decision_shift: number;
  decision_shift_low: number;
  decision_shift_high: number;
  /** The frame SAE's own probe on pooled z′. */
  sae_flips: number;
  sae_flip_rate: number;
  sae_flip_low: number;
  sae_flip_high: number;
  sae_decision_shift: number;
  sae_decision_shift_low: number;
  sae_decision_shift_high: number;
  survival: number | null;
  lsd_db: number | null;
  latents: string;
  probes: string;
}

export interface TaskVerdict {
  task: string;
  scorer: "reference" | "sae";
  verdict: "causal effect shown" | "no causal effect shown";
  /** The α at which the edit's interval lies above both controls'. */
  alphas: number[];
  text: string;
}

export interface TaskSweep {
  task: string;
  classes: [string, string];
  source: number;
  target: number;
  latents: number[];
  magnitudes: number[];
  /** "cell": the cell's stored probes; "fitted": fit here on the task's probe-training rows. */
  probes: "cell" | "fitted";
  probeNote: string;
  probeTrainRows: number;
  recordings: SweepRecording[];
}

export interface SweepResult {
  cellKey: string;
  codec: string;
  cellTask: string;
  alphas: number[];
  seconds: number;
  seed: number;
  tasks: TaskSweep[];
  rows: SweepRow[];
  verdicts: TaskVerdict[];
  files: string[];
  seconds_taken: number;
}

// ---------------------------------------------------------------------------------------------------------
// The formulas

/** ê'_t = ê_t + Σ_{j∈J} (target_j − z_t[j]) · W_dec[:, j] for every frame (the error term kept). */
export function editFrames(
  sae: SaeModel,
  e: Matrix,
  codes: Matrix,
  latents: number[],
  target: ArrayLike<number>,
): Matrix {
  const d = sae.config.dIn, dZ = sae.config.dZ;
  if (e.cols !== d || codes.cols !== dZ || codes.rows !== e.rows) {
    throw new Error(`editFrames: ê ${e.rows}×${e.cols}, codes ${codes.rows}×${codes.cols}, SAE ${d}→${dZ}`);
  }
  if (target.length !== latents.length) throw new Error("editFrames: one target value per latent");
  const out = Float32Array.from(e.data);
  for (let t = 0; t < e.rows; t++) {
    for (const [a, j] of latents.entries()) {
      const w = target[a] - codes.data[t * dZ + j];
      if (w === 0) continue;
      const o = j * d;
      for (let c = 0; c < d; c++) out[t * d + c] += w * sae.wDecT[o + c];
    }
  }
  return { rows: e.rows, cols: d, data: out };
}

/** D(z_t) = W_dec z_t + b_pre for every frame: the SAE reconstruction (no error term). */
export function reconstructFrames(sae: SaeModel, codes: Matrix): Matrix {
  const d = sae.config.dIn, dZ = sae.config.dZ;
  const out = new Float32Array(codes.rows * d);
  for (let t = 0; t < codes.rows; t++) {
    out.set(sae.bPre, t * d);
    for (let j = 0; j < dZ; j++) {
      const v = codes.data[t * dZ + j];
      if (v === 0) continue;
      for (let c = 0; c < d; c++) out[t * d + c] += v * sae.wDecT[j * d + c];
    }
  }
  return { rows: codes.rows, cols: d, data: out };
}

/**
 * The share of an intended frame change Δ_t = ê'_t − ê_t that survives decode → re-encode:
 * Σ_t ⟨ê''_t − ê''^none_t, Δ_t⟩ / Σ_t ‖Δ_t‖² over the frames all three have (null when Δ = 0).
 */
export function survivalShare(e: Matrix, edited: Matrix, reencoded: Matrix, reNone: Matrix): number | null {
  const d = e.cols, T = Math.min(e.rows, edited.rows, reencoded.rows, reNone.rows);
  let num = 0, den = 0;
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < d; c++) {
      const i = t * d + c, delta = edited.data[i] - e.data[i];
      num += (reencoded.data[i] - reNone.data[i]) * delta;
      den += delta * delta;
    }
  }
  return den > 0 ? num / den : null;
}

/** The typical firing magnitude per latent: mean over recordings where it fires of z_mag[j] (0: never). */
export function typicalMagnitudes(zMags: Float32Array[], dZ: number): Float64Array {
  const sum = new Float64Array(dZ), n = new Float64Array(dZ);
  for (const m of zMags) {
    for (let j = 0; j < dZ; j++) {
      if (m[j] > 0) {
        sum[j] += m[j];
        n[j]++;
      }
    }
  }
  return sum.map((s, j) => (n[j] > 0 ? s / n[j] : 0));
}

/** J: the `count` latents with the largest w_j · m_j > 0 (w_j = ±coef_j / scale_j toward the target). */
export function chooseLatents(
  probe: ProbeArtefact,
  magnitudes: ArrayLike<number>,
  target: number,
  count: number,
): number[] {
  const sign = probe.classes[1] === target ? 1 : -1;
  const score = probe.coef.map((c, j) => (sign * c / probe.scaler.scale[j]) * magnitudes[j]);
  return score.map((s, j) => ({ s, j })).filter((x) => x.s > 0).sort((a, b) => b.s - a.s || a.j - b.j)
    .slice(0, count).map((x) => x.j);
}

function checkedLatents(ids: number[], dZ: number): number[] {
  for (const j of ids) {
    if (!Number.isInteger(j) || j < 0 || j >= dZ) throw new Error(`latent ${j} is not in 0..${dZ - 1}`);
  }
  return [...new Set(ids)];
}

/** `count` latents drawn without replacement from those firing in the target class and not in J. */
export function randomLatents(
  magnitudes: ArrayLike<number>,
  exclude: number[],
  count: number,
  rng: Rng,
): number[] {
  const skip = new Set(exclude);
  const pool: number[] = [];
  for (let j = 0; j < magnitudes.length; j++) if (magnitudes[j] > 0 && !skip.has(j)) pool.push(j);
  const perm = rng.permutation(pool.length);
  return Array.from(perm.slice(0, Math.min(count, pool.length)), (i) => pool[i]).sort((a, b) => a - b);
}

/** Mean and percentile-bootstrap 95 % interval over values (seeded), widened to contain the mean. */
export function bootstrapMean(
  values: number[],
  resamples: number,
  seed: number,
): { mean: number; low: number; high: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, low: NaN, high: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (resamples <= 0 || n === 1) return { mean, low: mean, high: mean };
  const rng = new Rng(seed), means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[rng.int(n)];
    means[b] = s / n;
  }
  means.sort();
  const q = (p: number) => means[Math.min(resamples - 1, Math.max(0, Math.round(p * (resamples - 1))))];
  return { mean, low: Math.min(q(0.025), mean), high: Math.max(q(0.975), mean) };
}

/** A small stable string hash (FNV-1a) to derive per-row seeds. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------------------
// Tasks and their probes

/** A task by name: the run config's column task, a built-in accent task, or the sex control. */
export function sweepTaskSpec(name: string, config: Partial<RunConfig>): TaskSpec {
  const column = (config.tasks ?? []).find((t) => typeof t === "object" && t.name === name);
  if (column && typeof column === "object") return columnTask(column as ColumnTaskDefinition);
  const accent = TASKS[name as AccentTaskId];
  if (accent) return accent;
  if (name === SEX_TASK.name) return columnTask(SEX_TASK);
  throw new Error(
    `steering task '${name}': not in the run config and not built in (us-vs-uk, us-vs-non-us-uk, sex)`,
  );
}

interface TaskProbes {
  spec: TaskSpec;
  refProbe: ProbeArtefact;
  zProbe: ProbeArtefact;
  probes: "cell" | "fitted";
  note: string;
  trainRows: number;
  /** Source-class scored recordings (fold 0), manifest order. */
  steerIds: string[];
  magnitudes: Float64Array;
}

/** Pooled codes (z, z_mag) of each recording: all its stored frames through the SAE. */
async function pooledCodes(ctx: CellContext, ids: string[]): Promise<{ z: Matrix; zMag: Float32Array[] }> {
  const dZ = ctx.sae.config.dZ, z = new Float32Array(ids.length * dZ), zMag: Float32Array[] = [];
  for (let i = 0; i < ids.length; i += 16) {
    const chunk = ids.slice(i, i + 16);
    for (const [a, e] of (await framesOf(ctx, chunk)).entries()) {
      const p = poolFrameCodes(await encodeSae(ctx.sae, e));
      z.set(p.z, (i + a) * dZ);
      zMag.push(p.zMag);
    }
  }
  return { z: { rows: ids.length, cols: dZ, data: z }, zMag };
}

/** The task's probes (the cell's, or fit on its probe-training rows), steered recordings and m_j. */
async function taskProbes(
  ctx: CellContext,
  name: string,
  config: Partial<RunConfig>,
  { source, utterances }: { source: number; utterances?: number },
): Promise<TaskProbes> {
  const spec = sweepTaskSpec(name, config),
    probe = resolveProbeConfig(config.probe, join(ctx.outDir, "run_config.json")),
    target = 1 - source;
  const manifest = await readManifest(ctx.manifestPath, { checkFiles: false, duplicateAudio: "allow" });
  const plan = probeRowsOf(taskSplits(manifest, spec), probe, `${ctx.dataset}/${ctx.codec}/${name}`);
  const rows = plan.rows.filter((r) => ctx.info.has(r.utterance_id));
  const testFold = plan.testFold(rows);
  const train = rows.filter((_, i) => testFold[i] !== 0), scored = rows.filter((_, i) => testFold[i] === 0);
  const steerIds = scored.filter((r) => r.label === source).map((r) => r.utterance_id).slice(0, utterances);
  if (steerIds.length === 0) throw new Error(`steering ${name}: no scored recording of class ${source}`);
  const own = name === ctx.task;
  // For m_j only the target class's training rows are needed; a fitted z probe needs all of them.
  const needed = own ? train.filter((r) => r.label === target) : train;
  const pooledZ = await pooledCodes(ctx, needed.map((r) => r.utterance_id));
  const magnitudes = typicalMagnitudes(
    pooledZ.zMag.filter((_, i) => needed[i].label === target),
    ctx.sae.config.dZ,
  );
  if (own) {
    return {
      spec,
      refProbe: ctx.refProbe,
      zProbe: ctx.zProbe,
      probes: "cell",
      note: `the cell's stored probes (reference on u, ${ctx.zProbeName} on the frame SAE's pooled z)`,
      trainRows: train.length,
      steerIds,
      magnitudes,
    };
  }
  // Fold 0 of the protocol alone: its training rows fit the probes (C by inner folds for "dev").
  const all = [...train, ...scored];
  const y = Int32Array.from(all, (r) => r.label);
  const fold = Int32Array.from(all, (_, i) => (i < train.length ? -1 : 0));
  const innerAll = plan.innerFold ? plan.innerFold(all) : undefined;
  const probeRows = { y, testFold: fold, folds: 1, ...(innerAll ? { innerFold: innerAll } : {}) };
  const scoredZ = await pooledCodes(ctx, scored.map((r) => r.utterance_id));
  const zAll: Matrix = {
    rows: all.length,
    cols: pooledZ.z.cols,
    data: Float32Array.from([...pooledZ.z.data, ...scoredZ.z.data]),
  };
  const ref = runProtocol(uOf(ctx, all.map((r) => r.utterance_id)), probeRows, probe);
  const zr = runProtocol(zAll, probeRows, probe);
  return {
    spec,
    refProbe: probeArtefact(ref.fits[0], ref.chosenC[0]),
    zProbe: probeArtefact(zr.fits[0], zr.chosenC[0]),
    probes: "fitted",
    note:
      `no cell for '${name}': its reference probe on u and its probe on the frame SAE's pooled z were fit ` +
      `here by the run's protocol (${probe.protocol}, C ${
        probe.protocol === "dev" ? "by inner cross-validation" : probe.C
      }) on the task's ${train.length} probe-training recordings only (held-out F1: reference ${
        ref.macroF1.toFixed(3)
      }, z ${zr.macroF1.toFixed(3)})`,
    trainRows: train.length,
    steerIds,
    magnitudes,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The sweep

/** Pools re-encoded frames as the run pools u (mean, or mean and std side by side). */
function pooledU(e: Matrix, pooling: string): Float32Array {
  const m = meanOverTime(e);
  if (pooling === "mean") return m;
  const out = new Float32Array(2 * e.cols);
  out.set(m);
  out.set(stdOverTime(e), e.cols);
  return out;
}

interface Scorer {
  sae: SaeModel;
  pooling: string;
  refProbe: ProbeArtefact;
  zProbe: ProbeArtefact;
}

async function decide(s: Scorer, e: Matrix): Promise<Decisions> {
  const z = poolFrameCodes(await encodeSae(s.sae, e)).z;
  return { ref: probeDecision(s.refProbe, pooledU(e, s.pooling)), sae: probeDecision(s.zProbe, z) };
}

const keyOf = (c: SweepCondition, alpha?: number) => (c === "edit" || c === "random" ? `${c}@${alpha}` : c);

/** One recording: every condition decoded, re-encoded and scored; WAVs when `wavDir` is given. */
async function sweepRecording(
  codec: Codec,
  ctx: CellContext,
  tp: TaskProbes,
  p: {
    id: string;
    n: number;
    task: string;
    latents: number[];
    alphas: number[];
    seconds: number;
    seed: number;
  },
  wavDir?: string,
): Promise<SweepRecording> {
  const info = ctx.info.get(p.id)!;
  const audio = await loadAudio(info.path, { sampleRate: codec.sampleRate, maxSeconds: p.seconds });
  const e = await codec.encode(audio);
  const codes = await encodeSae(ctx.sae, e);
  const scorer: Scorer = { sae: ctx.sae, pooling: ctx.pooling, refProbe: tp.refProbe, zProbe: tp.zProbe };
  const rng = new Rng((hashString(p.task) ^ Math.imul(p.seed + 1, 0x9e3779b1) ^ p.n) >>> 0);
  const rand = randomLatents(tp.magnitudes, p.latents, p.latents.length, rng);
  const rec: SweepRecording = {
    id: p.id,
    seconds: audio.length / codec.sampleRate,
    original: await decide(scorer, e),
    decisions: {},
    survival: {},
    lsd: {},
    randomLatents: rand,
    ...(wavDir ? { wavs: {} } : {}),
  };
  const run = async (key: string, frames: Matrix) => {
    const decoded = await codec.decode!(frames);
    const re = await codec.encode(decoded);
    rec.decisions[key] = await decide(scorer, re);
    if (wavDir) {
      const name = `${p.id.replace(/[^A-Za-z0-9._-]/g, "_")}.${key.replace("@", "_a")}.wav`;
      await writeFileAtomic(join(wavDir, name), encodeWav([decoded], codec.sampleRate));
      rec.wavs![key] = name;
    }
    return { decoded, re };
  };
  const none = await run("none", e);
  rec.survival.none = null;
  rec.lsd.none = null;
  const finish = async (key: string, frames: Matrix) => {
    const r = await run(key, frames);
    rec.survival[key] = survivalShare(e, frames, r.re, none.re);
    rec.lsd[key] = logSpectralDistance(r.decoded, none.decoded);
  };
  await finish("reconstruction", reconstructFrames(ctx.sae, codes));
  for (const alpha of p.alphas) {
    await finish(
      keyOf("edit", alpha),
      editFrames(ctx.sae, e, codes, p.latents, p.latents.map((j) => alpha * tp.magnitudes[j])),
    );
    await finish(
      keyOf("random", alpha),
      editFrames(ctx.sae, e, codes, rand, rand.map((j) => alpha * tp.magnitudes[j])),
    );
  }
  return rec;
}

/** The table rows of one task: per α and condition, both scorers' flips and shifts. */
export function sweepRows(
  t: Pick<TaskSweep, "task" | "target" | "latents" | "probes" | "recordings"> & {
    refProbe: ProbeArtefact;
    zProbe: ProbeArtefact;
  },
  alphas: number[],
  { bootstrap, seed }: { bootstrap: number; seed: number },
): SweepRow[] {
  const signOf = (p: ProbeArtefact) => (p.classes[1] === t.target ? 1 : -1);
  const toTarget = (p: ProbeArtefact, d: number) => (d > 0 ? p.classes[1] : p.classes[0]) === t.target;
  const mean = (v: (number | null)[]) => {
    const x = v.filter((a): a is number => a !== null && Number.isFinite(a));
    return x.length ? x.reduce((a, b) => a + b, 0) / x.length : null;
  };
  const rows: SweepRow[] = [];
  for (const alpha of alphas) {
    for (const condition of SWEEP_CONDITIONS) {
      const key = keyOf(condition, alpha), recs = t.recordings, n = recs.length;
      const side = (which: "ref" | "sae", p: ProbeArtefact) => {
        const flips = recs.filter((r) => toTarget(p, r.decisions[key][which])).length;
        const w = wilsonInterval(flips, n);
        const shifts = recs.map((r) => signOf(p) * (r.decisions[key][which] - r.original[which]));
        // Seeded by the row (α-independent controls get the same interval at every α).
        const rowSeed = hashString(
          `${t.task}|${condition === "edit" || condition === "random" ? key : condition}|${which}`,
        );
        const b = bootstrapMean(shifts, bootstrap, (rowSeed ^ seed) >>> 0);
        return { flips, rate: n ? flips / n : 0, w, b };
      };
      const ref = side("ref", t.refProbe), sae = side("sae", t.zProbe);
      rows.push({
        task: t.task,
        alpha,
        condition,
        n,
        flips: ref.flips,
        flip_rate: ref.rate,
        flip_low: ref.w.low,
        flip_high: ref.w.high,
        decision_shift: ref.b.mean,
        decision_shift_low: ref.b.low,
        decision_shift_high: ref.b.high,
        sae_flips: sae.flips,
        sae_flip_rate: sae.rate,
        sae_flip_low: sae.w.low,
        sae_flip_high: sae.w.high,
        sae_decision_shift: sae.b.mean,
        sae_decision_shift_low: sae.b.low,
        sae_decision_shift_high: sae.b.high,
        survival: mean(recs.map((r) => r.survival[key])),
        lsd_db: mean(recs.map((r) => r.lsd[key])),
        latents: condition === "edit"
          ? t.latents.join(" ")
          : condition === "random"
          ? `${t.latents.length} random`
          : "",
        probes: t.probes,
      });
    }
  }
  return rows;
}

/** Per task and scorer: causal effect shown at the α where the edit's interval lies above random's and none's. */
export function sweepVerdicts(rows: SweepRow[]): TaskVerdict[] {
  const out: TaskVerdict[] = [];
  const f = (v: number) => v.toFixed(3);
  for (const task of [...new Set(rows.map((r) => r.task))]) {
    for (const scorer of ["reference", "sae"] as const) {
      const lo = (r: SweepRow) => (scorer === "reference" ? r.decision_shift_low : r.sae_decision_shift_low);
      const hi = (
        r: SweepRow,
      ) => (scorer === "reference" ? r.decision_shift_high : r.sae_decision_shift_high);
      const est = (r: SweepRow) => (scorer === "reference" ? r.decision_shift : r.sae_decision_shift);
      const shown: number[] = [], parts: string[] = [];
      for (const alpha of [...new Set(rows.filter((r) => r.task === task).map((r) => r.alpha))]) {
        const at = (c: SweepCondition) =>
          rows.find((r) => r.task === task && r.alpha === alpha && r.condition === c)!;
        const e = at("edit"), rnd = at("random"), none = at("none");
        if (lo(e) > Math.max(hi(rnd), hi(none))) shown.push(alpha);
        parts.push(
          `α ${alpha}: edit ${f(est(e))} [${f(lo(e))}, ${f(hi(e))}], random ${f(est(rnd))} [${f(lo(rnd))}, ${
            f(hi(rnd))
          }], none ${f(est(none))} [${f(lo(none))}, ${f(hi(none))}]`,
        );
      }
      const verdict = shown.length ? "causal effect shown" : "no causal effect shown";
      // The positive control: a codec that clearly carries sex, so failing to move it bounds the accent result.
      const bound = !shown.length && task === SEX_TASK.name
        ? " Steering could not move sex (the positive control) here: this bounds what accent steering can show."
        : "";
      out.push({
        task,
        scorer,
        verdict,
        alphas: shown,
        text: `${task} (${
          scorer === "reference" ? "reference probe on u′" : "frame SAE's probe on z′"
        }): ${verdict}${
          shown.length ? ` at α ${shown.join(", ")}` : ""
        }. Decision shift toward the target (95 % bootstrap over recordings): ${parts.join("; ")}.${bound}`,
      });
    }
  }
  return out;
}

/** One task's sweep: each chosen recording steered under every condition and α, its rows; WAVs into outDir. */
async function sweepTask(
  codec: Codec,
  ctx: CellContext,
  { name, tp, latents }: { name: string; tp: TaskProbes; latents: number[] },
  opts: SteerSweepOptions & {
    alphas: number[];
    seconds: number;
    seed: number;
    source: number;
    bootstrap: number;
  },
  out: { outDir?: string; files: string[] },
): Promise<{ ts: TaskSweep; taskRows: SweepRow[] }> {
  const { alphas, seconds, seed, source, bootstrap } = opts;
  const outDir = out.outDir, files = out.files;
  const wavDir = outDir ? join(outDir, "wav", name.replace(/[^A-Za-z0-9._-]/g, "_")) : undefined;
  if (wavDir) await Deno.mkdir(wavDir, { recursive: true });
  const progress = new Progress({
    total: tp.steerIds.length,
    label: `steer sweep ${name}`,
    unit: "rec",
    quiet: opts.quiet,
  });
  const recordings: SweepRecording[] = [];
  for (const [n, id] of tp.steerIds.entries()) {
    const withWav = wavDir && n < (opts.wavUtterances ?? 2) ? wavDir : undefined;
    const rec = await sweepRecording(codec, ctx, tp, {
      id,
      n,
      task: name,
      latents,
      alphas,
      seconds,
      seed,
    }, withWav);
    if (rec.wavs && wavDir) {
      for (const [k, f] of Object.entries(rec.wavs)) {
        rec.wavs[k] = `wav/${name.replace(/[^A-Za-z0-9._-]/g, "_")}/${f}`;
        files.push(join(wavDir, f));
      }
    }
    recordings.push(rec);
    progress.tick();
  }
  const target = 1 - source;
  const ts: TaskSweep = {
    task: name,
    classes: tp.spec.classes,
    source,
    target,
    latents,
    magnitudes: latents.map((j) => tp.magnitudes[j]),
    probes: tp.probes,
    probeNote: tp.note,
    probeTrainRows: tp.trainRows,
    recordings,
  };
  return {
    ts,
    taskRows: sweepRows({ ...ts, refProbe: tp.refProbe, zProbe: tp.zProbe }, alphas, { bootstrap, seed }),
  };
}

/** Steers each task's recordings through the codec and tabulates the sweep (the cell's codec must decode). */
export async function steerSweepCell(ctx: CellContext, opts: SteerSweepOptions = {}): Promise<SweepResult> {
  const t0 = performance.now();
  if (ctx.saeInput !== "frames") {
    throw new Error(`cell ${ctx.cellKey}: the per-frame sweep needs a frame-level cell (--sae-input frames)`);
  }
  const alphas = opts.alphas ?? [...DEFAULT_ALPHAS], seconds = opts.seconds ?? 3, seed = opts.seed ?? 0;
  const source = opts.source ?? 0, count = opts.latents ?? 8, bootstrap = opts.bootstrap ?? 1000;
  if (alphas.length === 0 || alphas.some((a) => !Number.isFinite(a) || a < 0)) {
    throw new Error(`alphas must be finite and ≥ 0, got ${alphas.join(", ")}`);
  }
  if (source !== 0 && source !== 1) throw new Error(`source class must be 0 or 1, got ${source}`);
  const tasks = opts.tasks?.length ? opts.tasks : [ctx.task];
  const { config } = await readRunSettings(ctx.outDir);
  const outDir = opts.outDir === null ? undefined : opts.outDir ?? join(ctx.outDir, "steer");
  const prepared: { name: string; tp: TaskProbes; latents: number[] }[] = [];
  for (const name of tasks) {
    const tp = await taskProbes(ctx, name, config, { source, utterances: opts.utterances ?? 20 });
    const latents = opts.latentIds?.length
      ? checkedLatents(opts.latentIds, ctx.sae.config.dZ)
      : chooseLatents(tp.zProbe, tp.magnitudes, 1 - source, count);
    if (latents.length === 0) {
      throw new Error(`steering ${name}: the probe on pooled z favours class ${1 - source} with no latent`);
    }
    log(`steer ${name}: ${tp.note}; latents ${latents.join(", ")}`, opts.quiet);
    prepared.push({ name, tp, latents });
  }
  // The sweep's WAVs are its own: an earlier sweep's (another cell, task or α) would sit beside them, stale.
  if (outDir) {
    await Deno.remove(join(outDir, "wav"), { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
  const codec = await loadDecodingCodec(ctx, opts);
  const taskSweeps: TaskSweep[] = [], rows: SweepRow[] = [], files: string[] = [];
  try {
    if (seconds * codec.sampleRate < 512) {
      throw new Error(`--seconds ${seconds}: shorter than one 512-sample frame`);
    }
    for (const p of prepared) {
      const { ts, taskRows } = await sweepTask(codec, ctx, p, {
        ...opts,
        alphas,
        seconds,
        seed,
        source,
        bootstrap,
      }, {
        outDir,
        files,
      });
      taskSweeps.push(ts);
      rows.push(...taskRows);
    }
  } finally {
    codec.dispose();
  }
  const result: SweepResult = {
    cellKey: ctx.cellKey,
    codec: ctx.codec,
    cellTask: ctx.task,
    alphas,
    seconds,
    seed,
    tasks: taskSweeps,
    rows,
    verdicts: sweepVerdicts(rows),
    files,
    seconds_taken: (performance.now() - t0) / 1000,
  };
  if (outDir) files.push(...await writeSweepFiles(outDir, result));
  log(formatSweep(result), opts.quiet);
  return result;
}

/** Loads the frame-level cell (default: the most interpretable) of a results directory and runs the sweep. */
export async function steerSweep(
  resultsDir: string,
  opts: SteerSweepOptions & { select?: CellSelector } = {},
): Promise<SweepResult> {
  const ctx = await loadCellContext(resultsDir, { ...opts.select, saeInput: "frames" });
  return await steerSweepCell(ctx, opts);
}

// ---------------------------------------------------------------------------------------------------------
// Output

export const SWEEP_COLUMNS: (keyof SweepRow)[] = [
  "task",
  "alpha",
  "condition",
  "n",
  "flips",
  "flip_rate",
  "flip_low",
  "flip_high",
  "decision_shift",
  "decision_shift_low",
  "decision_shift_high",
  "sae_flips",
  "sae_flip_rate",
  "sae_flip_low",
  "sae_flip_high",
  "sae_decision_shift",
  "sae_decision_shift_low",
  "sae_decision_shift_high",
  "survival",
  "lsd_db",
  "latents",
  "probes",
];

export function sweepCsv(rows: SweepRow[]): string {
  const cell = (v: unknown) =>
    v === null || v === undefined
      ? ""
      : typeof v === "number"
      ? String(Number(v.toPrecision(6)))
      : /[",\n]/.test(String(v))
      ? `"${String(v).replaceAll('"', '""')}"`
      : String(v);
  return [SWEEP_COLUMNS.join(","), ...rows.map((r) => SWEEP_COLUMNS.map((c) => cell(r[c])).join(","))].join(
    "\n",
  ) +
    "\n";
}

/** sweep.csv, sweep.json (rows, verdicts, per-task settings and per-recording values). */
export async function writeSweepFiles(outDir: string, r: SweepResult): Promise<string[]> {
  await Deno.mkdir(outDir, { recursive: true });
  const csv = join(outDir, "sweep.csv"), json = join(outDir, "sweep.json");
  await writeFileAtomic(csv, sweepCsv(r.rows));
  const { files: _f, ...body } = r;
  await writeJsonAtomic(json, {
    ...body,
    definitions: {
      edit: "ê'_t = ê_t + D(z'_t) − D(z_t), z'_t[j] = α·m_j on the chosen latents, every frame",
      random: "the same on as many latents drawn at random (seeded) among those firing in the target class",
      none: "ê decoded unchanged, re-encoded (the codec round trip alone)",
      reconstruction: "ê'_t = D(z_t): the SAE reconstruction without an edit (error term dropped)",
      decision_shift: "mean ±(decision − decision on the original crop), + toward the target; 95 % bootstrap",
      flips: "recordings the reference probe on the re-encoded u′ assigns to the target class (Wilson 95 %)",
      survival: "Σ_t ⟨ê''_t − ê''none_t, Δ_t⟩ / Σ_t ‖Δ_t‖²",
      lsd_db: "log-spectral distance to the unedited decode",
    },
  });
  return [csv, json];
}

export function formatSweep(r: SweepResult): string {
  const f = (v: number | null, p = 3) => (v === null || !Number.isFinite(v) ? "—" : v.toFixed(p));
  const lines = [
    `per-frame steering sweep (${r.codec}, frame SAE of cell ${
      r.cellKey.slice(0, 12)
    }, ${r.seconds} s crops)`,
  ];
  for (const t of r.tasks) {
    lines.push(
      `${t.task}: ${t.classes[t.source]} → ${t.classes[t.target]}, ${t.recordings.length} recordings, ` +
        `latents ${t.latents.join(",")}; ${t.probeNote}`,
    );
  }
  lines.push(
    "task              α     condition       flips/n  shift [95% CI]              sae shift [95% CI]          survival  LSD dB",
  );
  for (const x of r.rows) {
    lines.push(
      `${x.task.padEnd(16)}  ${String(x.alpha).padEnd(4)}  ${x.condition.padEnd(14)}  ${
        `${x.flips}/${x.n}`.padEnd(7)
      }  ${`${f(x.decision_shift)} [${f(x.decision_shift_low)}, ${f(x.decision_shift_high)}]`.padEnd(26)}  ${
        `${f(x.sae_decision_shift)} [${f(x.sae_decision_shift_low)}, ${f(x.sae_decision_shift_high)}]`.padEnd(
          26,
        )
      }  ${f(x.survival).padStart(8)}  ${f(x.lsd_db, 2)}`,
    );
  }
  for (const v of r.verdicts) lines.push(v.text);
  return lines.join("\n");
}
