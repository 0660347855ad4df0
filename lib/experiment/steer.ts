/**
 * Steering through the codec's decoder: does moving u along accent latents change the accent a probe hears?
 *
 * The SAE sees u, the mean of ê over time, so an edit δ of u is realised by adding δ to every frame of ê (the
 * utterance mean then moves by exactly δ) and decoding to audio. The steered audio is encoded again with the same
 * codec, u′ recomputed, and the cell's reference probe on u decides its class. Three conditions per utterance:
 *   none    δ = 0 (decode → re-encode alone: what the codec round trip does by itself)
 *   edit    ablate latents (δ = −Σ z_j d_j), add α·d_j, or move toward the other class along the
 *           probe-weighted latents (δ ∝ Σ (c_j / σ_j) d_j, scaled to α × the distance between class means)
 *   random  a random direction of the same norm as the edit (seeded per utterance)
 * The flip rate is the share of the source class's test utterances that the probe assigns to the other class;
 * intervals are Wilson 95 %. How far the audio moved: log-spectral distance to the unedited decode.
 */
import { join } from "node:path";
import { encodeWav, loadAudio } from "../audio/mod.ts";
import { logSpectralDistance } from "../audio/spectrum.ts";
import { getCodec } from "../codecs/registry.ts";
import type { Codec } from "../codecs/types.ts";
import { meanOverTime } from "../extract/pooling.ts";
import { writeFileAtomic, writeJsonAtomic } from "../common/fs.ts";
import type { Matrix } from "../common/matrix.ts";
import { log, Progress } from "../common/progress.ts";
import { Rng } from "../common/random.ts";
import { wilsonInterval } from "../common/stats.ts";
import { type Locations, locationsOf } from "../common/settings.ts";
import { encodeSae } from "../sae/mod.ts";
import type { ProbeArtefact } from "./artefacts.ts";
import { type CellContext, uOf } from "./cell_context.ts";
import { classMeanDifference, decoderColumn, rankLatents } from "./latents.ts";

export const EDIT_KINDS = ["ablate", "add", "toward"] as const;
export type EditKind = typeof EDIT_KINDS[number];
export const CONDITIONS = ["none", "edit", "random"] as const;
export type Condition = typeof CONDITIONS[number];

/** `Locations`: where the codec's weights are found besides `modelsDir` (from the environment, at the edge). */
export interface SteerOptions extends Locations {
  edit: EditKind;
  /** The source class (0/1): its test utterances are steered toward the other class. Default 0. */
  source?: number;
  /** Latents to edit; default: the top `top` by |probe coefficient| (ablate: those favouring the source). */
  latents?: number[];
  top?: number;
  /** add: α in units of z (default: the latent's largest test activation); toward: × class-mean distance. */
  alpha?: number;
  /** At most this many source-class test utterances (default all). */
  utterances?: number;
  /** Crop of each utterance, seconds (default 4). */
  seconds?: number;
  seed?: number;
  /** Writes the WAVs, steer.json and flip_rates.{csv,json} here. */
  outDir?: string;
  modelsDir?: string;
  quiet?: boolean;
}

export interface UtteranceSteer {
  id: string;
  narrow: string;
  seconds: number;
  /** ‖δ‖ of the edit (the random control has the same). */
  deltaNorm: number;
  /** Probe decision (positive → class 1) on u of the crop before any decode. */
  decisionOriginal: number;
  decision: Record<Condition, number>;
  /** (u′ − u′_none) · δ̂: how far u′ moved along the intended direction (edit: δ, random: its own δ). */
  along: { edit: number; random: number };
  /** Log-spectral distance (dB) to the unedited decode. */
  lsd: { edit: number; random: number };
  wavs?: Record<Condition, string>;
}

export interface FlipRow {
  /** "original": the probe on u of the crop before any decode (the starting point, not a condition). */
  condition: Condition | "original";
  n: number;
  flips: number;
  flip_rate: number;
  flip_low: number;
  flip_high: number;
  /** Mean probe decision change against the original u (toward the target class is positive). */
  mean_decision_shift: number;
  /** Mean (u′ − u′_none)·δ̂ / ‖δ‖ (1 = the re-encoded mean moved by the whole edit). */
  mean_along_ratio: number | null;
  mean_lsd_db: number | null;
}

export interface SteerResult {
  cellKey: string;
  codec: string;
  task: string;
  edit: EditKind;
  latents: number[];
  alpha: number | null;
  source: number;
  target: number;
  classes: [string, string];
  seconds: number;
  utterances: UtteranceSteer[];
  table: FlipRow[];
  files: string[];
}

/** The reference probe's decision value on one u (positive → probe.classes[1]). */
export function probeDecision(p: ProbeArtefact, u: ArrayLike<number>): number {
  let s = p.intercept;
  for (let j = 0; j < p.coef.length; j++) {
    if (p.coef[j] !== 0) s += p.coef[j] * ((u[j] - p.scaler.mean[j]) / p.scaler.scale[j]);
  }
  return s;
}

/** ê with δ added to every frame (so its mean over time moves by exactly δ). */
export function addToFrames(e: Matrix, delta: ArrayLike<number>): Matrix {
  if (delta.length !== e.cols) throw new Error(`addToFrames: δ has ${delta.length} dims, ê has ${e.cols}`);
  const data = new Float32Array(e.data.length);
  for (let t = 0; t < e.rows; t++) {
    for (let c = 0; c < e.cols; c++) data[t * e.cols + c] = e.data[t * e.cols + c] + delta[c];
  }
  return { rows: e.rows, cols: e.cols, data };
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** A seeded random direction scaled to `length`. */
export function randomDirection(d: number, length: number, rng: Rng): Float64Array {
  const v = Float64Array.from({ length: d }, () => rng.normal());
  const n = norm(v);
  return v.map((x) => (x * length) / n);
}

/** The latents an edit uses: explicit, or the top ones by |coef| (ablate: those favouring the source class). */
export function editLatents(ctx: CellContext, opts: SteerOptions, source: number): number[] {
  const dZ = ctx.sae.config.dZ;
  if (opts.latents?.length) {
    for (const j of opts.latents) {
      if (!Number.isInteger(j) || j < 0 || j >= dZ) throw new Error(`latent ${j} is not in 0..${dZ - 1}`);
    }
    return opts.latents;
  }
  const coef = ctx.zProbe.coef;
  let ranked = rankLatents(coef);
  // A positive coefficient favours class 1: ablating the source's evidence removes latents favouring it.
  if (opts.edit === "ablate") ranked = ranked.filter((j) => (coef[j] > 0 ? 1 : 0) === source);
  const picked = ranked.slice(0, opts.top ?? (opts.edit === "add" ? 1 : 8));
  if (picked.length === 0) {
    throw new Error(
      `cell ${ctx.cellKey}: the probe on z has no non-zero coefficient for a ${opts.edit} edit`,
    );
  }
  return picked;
}

/** Builds the edit δ for one utterance from its z (the SAE's code of u). */
function editDelta(
  ctx: CellContext,
  kind: EditKind,
  latents: number[],
  z: Float32Array,
  scale: { alpha: number; towardStep?: Float64Array },
): Float64Array {
  const d = ctx.sae.config.dIn, delta = new Float64Array(d);
  if (kind === "toward") return scale.towardStep!.map((v) => v * scale.alpha);
  for (const j of latents) {
    const col = decoderColumn(ctx, j), w = kind === "ablate" ? -z[j] : scale.alpha;
    for (let c = 0; c < d; c++) delta[c] += w * col[c];
  }
  return delta;
}

/** Loads the cell's codec (from the run's models directory unless another is given) and checks it can decode. */
export async function loadDecodingCodec(
  ctx: CellContext,
  where: Locations & { modelsDir?: string } = {},
): Promise<Codec> {
  const load = { ...locationsOf(where), modelsDir: where.modelsDir ?? ctx.modelsDir, quiet: true };
  const codec = await (await getCodec(ctx.codec, load)).load(load);
  if (!codec.decode) {
    codec.dispose();
    throw new Error(
      `codec ${ctx.codec} has no decoder; steering needs one (e.g. lyra-3.2kbps/6kbps/9.2kbps)`,
    );
  }
  return codec;
}

/** Decodes ê + δ (δ on every frame); δ = 0 decodes ê unchanged. */
export function steerDecode(codec: Codec, e: Matrix, delta: ArrayLike<number>): Promise<Float32Array> {
  if (!codec.decode) throw new Error(`codec ${codec.id} has no decoder`);
  return codec.decode(addToFrames(e, delta));
}

/** Runs a steering experiment on the source class's test utterances of a loaded cell. */
export async function steerCell(ctx: CellContext, opts: SteerOptions): Promise<SteerResult> {
  const source = checkSteerRequest(ctx, opts);
  const target = 1 - source, seconds = opts.seconds ?? 4, seed = opts.seed ?? 0;
  const latents = editLatents(ctx, opts, source);
  const ids = ctx.splits.test.filter((id) => ctx.splits.labels[id] === source).slice(0, opts.utterances);
  if (ids.length === 0) throw new Error(`cell ${ctx.cellKey}: no test utterance of class ${source}`);
  const scale = await editScale(ctx, { edit: opts.edit, alpha: opts.alpha, latents, target });
  const codec = await loadDecodingCodec(ctx, opts);
  // The log-spectral distance compares 512-sample frames of the decodes: a shorter crop measures nothing.
  if (seconds * codec.sampleRate < 512) {
    codec.dispose();
    throw new Error(
      `--seconds ${seconds}: a crop shorter than one 512-sample analysis frame (${
        (512 / codec.sampleRate).toFixed(3)
      } s at ${codec.sampleRate} Hz) leaves nothing to compare; use at least 0.1 s`,
    );
  }
  const wavDir = opts.outDir ? join(opts.outDir, "wav") : undefined;
  if (wavDir) await Deno.mkdir(wavDir, { recursive: true });
  let steered: { utterances: UtteranceSteer[]; files: string[] };
  try {
    steered = await steerUtterances(ctx, codec, {
      ids,
      edit: opts.edit,
      latents,
      scale,
      seconds,
      seed,
      wavDir,
      quiet: opts.quiet,
    });
  } finally {
    codec.dispose();
  }
  const { utterances, files } = steered;
  const result: SteerResult = {
    cellKey: ctx.cellKey,
    codec: ctx.codec,
    task: ctx.task,
    edit: opts.edit,
    latents,
    alpha: opts.edit === "ablate" ? null : scale.alpha,
    source,
    target,
    classes: ctx.classes,
    seconds,
    utterances,
    table: flipTable(utterances, ctx.refProbe, target),
    files,
  };
  if (opts.outDir) result.files.push(...await writeSteerFiles(opts.outDir, result));
  log(formatFlipTable(result), opts.quiet);
  return result;
}

/** Refuses a request steering cannot honour, before the codec loads; returns the source class. */
function checkSteerRequest(ctx: CellContext, opts: SteerOptions): number {
  if (ctx.pooling !== "mean") {
    throw new Error(`cell ${ctx.cellKey}: steering edits the mean of ê; this run pooled u as ${ctx.pooling}`);
  }
  if (!EDIT_KINDS.includes(opts.edit)) {
    throw new Error(`unknown edit '${opts.edit}' (${EDIT_KINDS.join(", ")})`);
  }
  const source = opts.source ?? 0;
  if (source !== 0 && source !== 1) throw new Error(`source class must be 0 or 1, got ${source}`);
  return source;
}

type EditScale = { alpha: number; towardStep?: Float64Array };

/** Scales fixed before the loop: add uses the latent's largest test activation; toward the class-mean distance. */
async function editScale(
  ctx: CellContext,
  { edit, alpha: given, latents, target }: {
    edit: EditKind;
    alpha?: number;
    latents: number[];
    target: number;
  },
): Promise<EditScale> {
  let alpha = given ?? 1;
  if (edit === "add" && given === undefined) {
    const zTest = await encodeSae(ctx.sae, uOf(ctx, ctx.splits.test));
    alpha = 0;
    for (let i = 0; i < zTest.rows; i++) alpha = Math.max(alpha, zTest.data[i * zTest.cols + latents[0]]);
    if (alpha === 0) alpha = 1;
  }
  return edit === "toward" ? { alpha, towardStep: towardStep(ctx, { latents, target }) } : { alpha };
}

/** The probe-weighted direction of the latents toward the target class, as long as the class-mean distance. */
function towardStep(
  ctx: CellContext,
  { latents, target }: { latents: number[]; target: number },
): Float64Array {
  const dir = new Float64Array(ctx.sae.config.dIn), coef = ctx.zProbe.coef, sc = ctx.zProbe.scaler.scale;
  const sign = target === 1 ? 1 : -1;
  for (const j of latents) {
    const col = decoderColumn(ctx, j);
    for (let c = 0; c < dir.length; c++) dir[c] += (sign * coef[j] / sc[j]) * col[c];
  }
  const n = norm(dir);
  if (n === 0) {
    const zero = latents.filter((j) => coef[j] === 0);
    throw new Error(
      `cell ${ctx.cellKey}: the chosen latents (${latents.join(", ")}) give no direction toward class ` +
        `${target}: the z probe's L1 weights are 0 on ${
          zero.length === latents.length ? "all of them" : zero.join(", ")
        }` +
        `; choose latents the probe uses (--top N picks the N with the largest weights) or --edit add`,
    );
  }
  const distance = norm(classMeanDifference(ctx));
  return dir.map((v) => (v / n) * distance);
}

interface SteerPlan {
  ids: string[];
  edit: EditKind;
  latents: number[];
  scale: EditScale;
  seconds: number;
  seed: number;
  /** Where the WAVs go (none: not written). */
  wavDir?: string;
  quiet?: boolean;
}

/** Steers each utterance in turn (the codec stays loaded; the caller disposes it). */
async function steerUtterances(
  ctx: CellContext,
  codec: Codec,
  plan: SteerPlan,
): Promise<{ utterances: UtteranceSteer[]; files: string[] }> {
  const utterances: UtteranceSteer[] = [];
  const files: string[] = [];
  const progress = new Progress({
    total: plan.ids.length,
    label: `steer ${plan.edit} ${ctx.codec}`,
    unit: "utt",
    quiet: plan.quiet,
  });
  for (const [n, id] of plan.ids.entries()) {
    const { rec, out } = await steerUtterance(ctx, codec, plan, { id, n });
    if (plan.wavDir) {
      rec.wavs = await writeConditionWavs(plan.wavDir, { id, out, sampleRate: codec.sampleRate, files });
    }
    utterances.push(rec);
    progress.tick();
  }
  return { utterances, files };
}

type Decoded = Record<Condition, { audio: Float32Array; u: Float32Array }>;

/** One utterance: its edit and random control decoded, re-encoded and judged by the reference probe. */
async function steerUtterance(
  ctx: CellContext,
  codec: Codec,
  plan: SteerPlan,
  { id, n }: { id: string; n: number },
): Promise<{ rec: UtteranceSteer; out: Decoded }> {
  const info = ctx.info.get(id)!;
  const audio = await loadAudio(info.path, { sampleRate: codec.sampleRate, maxSeconds: plan.seconds });
  const e = await codec.encode(audio);
  const u = meanOverTime(e);
  const z = (await encodeSae(ctx.sae, { rows: 1, cols: u.length, data: u })).data;
  const delta = editDelta(ctx, plan.edit, plan.latents, z, plan.scale);
  const dn = norm(delta);
  // A fresh generator per utterance (seed, position): its control does not depend on earlier draws.
  const rnd = randomDirection(delta.length, dn, new Rng(plan.seed * 1000003 + n));
  const deltas: Record<Condition, Float64Array> = {
    none: new Float64Array(u.length),
    edit: delta,
    random: rnd,
  };
  const out = {} as Decoded;
  for (const c of CONDITIONS) {
    const steered = await steerDecode(codec, e, deltas[c]);
    out[c] = { audio: steered, u: meanOverTime(await codec.encode(steered)) };
  }
  const along = (c: "edit" | "random") =>
    dn > 0 ? dot(out[c].u.map((v, i) => v - out.none.u[i]), deltas[c]) / dn : 0;
  const rec: UtteranceSteer = {
    id,
    narrow: info.narrow,
    seconds: audio.length / codec.sampleRate,
    deltaNorm: dn,
    decisionOriginal: probeDecision(ctx.refProbe, u),
    decision: {
      none: probeDecision(ctx.refProbe, out.none.u),
      edit: probeDecision(ctx.refProbe, out.edit.u),
      random: probeDecision(ctx.refProbe, out.random.u),
    },
    along: { edit: along("edit"), random: along("random") },
    lsd: {
      edit: logSpectralDistance(out.edit.audio, out.none.audio),
      random: logSpectralDistance(out.random.audio, out.none.audio),
    },
  };
  return { rec, out };
}

/** Writes one WAV per condition (appending each path to `files`); returns the paths relative to the output. */
async function writeConditionWavs(
  wavDir: string,
  { id, out, sampleRate, files }: { id: string; out: Decoded; sampleRate: number; files: string[] },
): Promise<Record<Condition, string>> {
  const safe = id.replace(/[^A-Za-z0-9._-]/g, "_");
  const wavs = {} as Record<Condition, string>;
  for (const c of CONDITIONS) {
    const name = `${safe}.${c}.wav`;
    await writeFileAtomic(join(wavDir, name), encodeWav([out[c].audio], sampleRate));
    wavs[c] = `wav/${name}`;
    files.push(join(wavDir, name));
  }
  return wavs;
}

/** The flip-rate table: per condition, flips to the target class with Wilson intervals, shifts and distances. */
export function flipTable(rows: UtteranceSteer[], probe: ProbeArtefact, target: number): FlipRow[] {
  const sign = probe.classes[1] === target ? 1 : -1;
  const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0);
  const toTarget = (d: number) => (d > 0 ? probe.classes[1] : probe.classes[0]) === target;
  const originalFlips = rows.filter((r) => toTarget(r.decisionOriginal)).length;
  const original: FlipRow = {
    condition: "original",
    n: rows.length,
    flips: originalFlips,
    flip_rate: rows.length ? originalFlips / rows.length : 0,
    flip_low: wilsonInterval(originalFlips, rows.length).low,
    flip_high: wilsonInterval(originalFlips, rows.length).high,
    mean_decision_shift: 0,
    mean_along_ratio: null,
    mean_lsd_db: null,
  };
  return [
    original,
    ...CONDITIONS.map((c): FlipRow => {
      const flips = rows.filter((r) => toTarget(r.decision[c])).length;
      const w = wilsonInterval(flips, rows.length);
      const moved = rows.filter((r) => r.deltaNorm > 0);
      return {
        condition: c,
        n: rows.length,
        flips,
        flip_rate: rows.length ? flips / rows.length : 0,
        flip_low: w.low,
        flip_high: w.high,
        mean_decision_shift: mean(rows.map((r) => sign * (r.decision[c] - r.decisionOriginal))),
        mean_along_ratio: c === "none" || moved.length === 0
          ? null
          : mean(moved.map((r) => r.along[c as "edit" | "random"] / r.deltaNorm)),
        mean_lsd_db: c === "none" ? null : mean(rows.map((r) => r.lsd[c as "edit" | "random"])),
      };
    }),
  ];
}

const FLIP_COLUMNS: (keyof FlipRow)[] = [
  "condition",
  "n",
  "flips",
  "flip_rate",
  "flip_low",
  "flip_high",
  "mean_decision_shift",
  "mean_along_ratio",
  "mean_lsd_db",
];

export function flipTableCsv(table: FlipRow[]): string {
  const cell = (
    v: unknown,
  ) => (v === null ? "" : typeof v === "number" ? String(Number(v.toPrecision(6))) : String(v));
  return [FLIP_COLUMNS.join(","), ...table.map((r) => FLIP_COLUMNS.map((c) => cell(r[c])).join(","))].join(
    "\n",
  ) +
    "\n";
}

export function formatFlipTable(r: SteerResult): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const lines = [
    `steering ${r.edit} on latents ${r.latents.join(",")} (${r.codec}, ${r.task}, cell ${
      r.cellKey.slice(0, 12)
    }): ` +
    `${r.classes[r.source]} → ${
      r.classes[r.target]
    }, ${r.utterances.length} test utterances, ${r.seconds} s crops`,
    "(a flip: the reference probe on u′ decides the target class; original = u of the crop before decoding)",
    "condition  flips/n  rate    95% Wilson        decision shift  along δ  LSD dB",
  ];
  for (const t of r.table) {
    lines.push(
      `${t.condition.padEnd(9)}  ${`${t.flips}/${t.n}`.padEnd(7)}  ${pct(t.flip_rate).padEnd(6)}  ` +
        `[${pct(t.flip_low)}, ${pct(t.flip_high)}]`.padEnd(18) +
        `${t.mean_decision_shift.toFixed(3).padStart(14)}  ${
          t.mean_along_ratio === null ? "—".padStart(7) : t.mean_along_ratio.toFixed(3).padStart(7)
        }  ${t.mean_lsd_db === null ? "—" : t.mean_lsd_db.toFixed(2)}`,
    );
  }
  return lines.join("\n");
}

/** steer.json (everything), flip_rates.csv and flip_rates.json. */
export async function writeSteerFiles(outDir: string, r: SteerResult): Promise<string[]> {
  await Deno.mkdir(outDir, { recursive: true });
  const files = [join(outDir, "steer.json"), join(outDir, "flip_rates.csv"), join(outDir, "flip_rates.json")];
  const { files: _f, ...body } = r;
  await writeJsonAtomic(files[0], body);
  await writeFileAtomic(files[1], flipTableCsv(r.table));
  await writeJsonAtomic(files[2], { cell_key: r.cellKey, edit: r.edit, latents: r.latents, rows: r.table });
  return files;
}
