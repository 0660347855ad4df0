/**
 * Which SAE latents carry accent in one grid cell, as numbers: latents ranked by the absolute L1-probe
 * coefficient on z, and for each of the top ones its activation frequency per class on test, an activation
 * histogram per class, the accents of its top-activating test utterances (all narrow accents of the test split,
 * not only the task's two classes), and the cosine of its decoder direction with the difference of class means
 * of u. The report stage renders these (lib/report/latents.ts); tests recompute them from z.
 */
import type { Matrix } from "../common/matrix.ts";
import { encodeSae } from "../sae/mod.ts";
import { type CellContext, uOf } from "./cell_context.ts";

export interface TopUtterance {
  id: string;
  activation: number;
  narrow: string;
  /** The task label (0/1), or null for a test utterance outside the task's two classes. */
  label: number | null;
}

export interface LatentStats {
  latent: number;
  /** Probe coefficient on the standardized z_j (positive favours class 1). */
  coef: number;
  /** The class the coefficient's sign favours (0 or 1). */
  favours: number;
  /** Share of the task's test utterances of each class on which z_j > 0. */
  freq: [number, number];
  /** Mean z_j over each class's test utterances (zeros included). */
  meanActivation: [number, number];
  /** Histogram of z_j on each class's test utterances: bin edges (bins + 1) and counts; zeros in bin 0. */
  histogram: { edges: number[]; counts: [number[], number[]] };
  /** cos(d_j, mean(u | class 1) − mean(u | class 0)) over the task's train utterances. */
  cosineClassMeans: number;
  /** The top-activating utterances of the whole test split (z_j > 0 only), highest first. */
  top: TopUtterance[];
  /** Share of `top` in the favoured class, among those with a task label (null when none has one). */
  classPurity: number | null;
  /** The most common narrow accent of `top` and its share. */
  narrowPurity: { accent: string; share: number } | null;
  /** Counts of narrow accents in `top`. */
  topNarrow: Record<string, number>;
  /** Per narrow accent of the test split: utterances and the share on which z_j > 0. */
  byNarrow: { accent: string; n: number; freq: number }[];
}

export interface LatentsReport {
  cellKey: string;
  refKey: string;
  dataset: string;
  codec: string;
  task: string;
  classes: [string, string];
  q: number;
  s: number;
  seed: number;
  k: number;
  dZ: number;
  deltaF1: number;
  f1: number;
  f1Ref: number;
  chosenBy: string;
  probe: { name: string; nnz: number; C: number; intercept: number };
  /** Test utterances: the task's (labelled) and the whole test split's. */
  nTaskTest: [number, number];
  nSplitTest: number;
  /** Narrow accents of the whole test split and their counts. */
  testNarrow: Record<string, number>;
  latents: LatentStats[];
}

export interface LatentsOptions {
  /** Latents shown (the top by |coef| among the probe's non-zero coefficients). */
  top?: number;
  /** Top-activating utterances per latent. */
  utterances?: number;
  /** Histogram bins of the active values. */
  bins?: number;
}

/** Latent indices by decreasing |coef| (non-zero only; ties: smaller index first). */
export function rankLatents(coef: ArrayLike<number>): number[] {
  const idx: number[] = [];
  for (let j = 0; j < coef.length; j++) if (coef[j] !== 0) idx.push(j);
  return idx.sort((a, b) => Math.abs(coef[b]) - Math.abs(coef[a]) || a - b);
}

/** The mean of the given rows of u (float64). */
export function meanRows(u: Matrix, rows: number[]): Float64Array {
  const m = new Float64Array(u.cols);
  for (const i of rows) for (let c = 0; c < u.cols; c++) m[c] += u.data[i * u.cols + c];
  for (let c = 0; c < u.cols; c++) m[c] /= Math.max(1, rows.length);
  return m;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/** Decoder column j (the atom of latent j), length d. */
export function decoderColumn(ctx: Pick<CellContext, "sae">, j: number): Float32Array {
  const d = ctx.sae.config.dIn;
  return ctx.sae.wDecT.subarray(j * d, (j + 1) * d);
}

/** The class-mean difference of u over the task's train utterances: mean(class 1) − mean(class 0). */
export function classMeanDifference(ctx: CellContext): Float64Array {
  const ids = ctx.splits.train;
  const u = uOf(ctx, ids);
  const rows = (c: number) => ids.flatMap((id, i) => (ctx.splits.labels[id] === c ? [i] : []));
  const m0 = meanRows(u, rows(0)), m1 = meanRows(u, rows(1));
  return m1.map((v, i) => v - m0[i]);
}

/** Computes the dashboard's numbers for a loaded cell. */
export async function latentsReport(ctx: CellContext, opts: LatentsOptions = {}): Promise<LatentsReport> {
  const nTop = opts.top ?? 8, nUtt = opts.utterances ?? 5, bins = opts.bins ?? 12;
  const scope = await testScope(ctx);
  const latents = rankLatents(ctx.zProbe.coef).slice(0, nTop).map((j) =>
    latentStats(scope, j, { bins, utterances: nUtt })
  );
  const nTask: [number, number] = [0, 0];
  for (const id of scope.taskIds) nTask[ctx.splits.labels[id]]++;
  return {
    cellKey: ctx.cellKey,
    refKey: ctx.refKey,
    dataset: ctx.dataset,
    codec: ctx.codec,
    task: ctx.task,
    classes: ctx.classes,
    q: ctx.q,
    s: ctx.s,
    seed: ctx.seed,
    k: ctx.sae.config.k,
    dZ: ctx.sae.config.dZ,
    deltaF1: ctx.deltaF1,
    f1: ctx.f1,
    f1Ref: ctx.f1Ref,
    chosenBy: ctx.chosenBy,
    probe: {
      name: ctx.zProbeName,
      nnz: ctx.zProbe.nnz,
      C: ctx.zProbe.C,
      intercept: ctx.zProbe.intercept,
    },
    nTaskTest: nTask,
    nSplitTest: scope.testIds.length,
    testNarrow: scope.testNarrow,
    latents,
  };
}

/** What every latent's numbers are computed over: the test utterances, their z, and the class-mean direction. */
interface TestScope {
  ctx: CellContext;
  /** The task's (labelled) test utterances. */
  taskIds: string[];
  taskSet: Set<string>;
  /** The whole test split, the task's test utterances first (rows of z in this order). */
  testIds: string[];
  z: Matrix;
  testNarrow: Record<string, number>;
  diff: Float64Array;
}

async function testScope(ctx: CellContext): Promise<TestScope> {
  const taskIds = ctx.splits.test;
  const taskSet = new Set(taskIds);
  // The whole test split (every narrow accent), the task's test utterances first.
  const extra = ctx.ids.filter((id) => ctx.info.get(id)?.split === "test" && !taskSet.has(id));
  const testIds = [...taskIds, ...extra];
  const z = await encodeSae(ctx.sae, uOf(ctx, testIds));
  const diff = classMeanDifference(ctx);
  const testNarrow: Record<string, number> = {};
  for (const id of testIds) {
    const a = ctx.info.get(id)?.narrow ?? "unknown";
    testNarrow[a] = (testNarrow[a] ?? 0) + 1;
  }
  return { ctx, taskIds, taskSet, testIds, z, testNarrow, diff };
}

/** z_j of the i-th utterance of `testIds`. */
type Activation = (i: number) => number;

/** One latent's row of the dashboard. */
function latentStats(
  scope: TestScope,
  j: number,
  { bins, utterances }: { bins: number; utterances: number },
): LatentStats {
  const { ctx, z, testNarrow } = scope;
  const coef = ctx.zProbe.coef;
  const act: Activation = (i) => z.data[i * z.cols + j];
  const { freq, mean, n, max } = classActivity(scope, act);
  const top = topUtterances(scope, act, utterances);
  const favours = coef[j] > 0 ? 1 : 0;
  const labelled = top.filter((t) => t.label !== null);
  const topNarrow: Record<string, number> = {};
  for (const t of top) topNarrow[t.narrow] = (topNarrow[t.narrow] ?? 0) + 1;
  const best = Object.entries(topNarrow).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
  const byNarrow = Object.keys(testNarrow).sort().map((accent) => {
    const rows = scope.testIds.flatMap((id, i) => (ctx.info.get(id)?.narrow === accent ? [i] : []));
    return { accent, n: rows.length, freq: rows.filter((i) => act(i) > 0).length / rows.length };
  });
  return {
    latent: j,
    coef: coef[j],
    favours,
    freq: [freq[0] / Math.max(1, n[0]), freq[1] / Math.max(1, n[1])],
    meanActivation: [mean[0] / Math.max(1, n[0]), mean[1] / Math.max(1, n[1])],
    histogram: activationHistogram(scope, act, { bins, max }),
    cosineClassMeans: cosine(decoderColumn(ctx, j), scope.diff),
    top,
    classPurity: labelled.length
      ? labelled.filter((t) => t.label === favours).length / labelled.length
      : null,
    narrowPurity: best ? { accent: best[0], share: best[1] / top.length } : null,
    topNarrow,
    byNarrow,
  };
}

/** Per class of the task's test utterances: count, active count and summed z_j; and the largest z_j. */
function classActivity({ ctx, taskIds }: TestScope, act: Activation) {
  const freq: [number, number] = [0, 0], mean: [number, number] = [0, 0], n: [number, number] = [0, 0];
  let max = 0;
  taskIds.forEach((id, i) => {
    const c = ctx.splits.labels[id], a = act(i);
    n[c]++;
    mean[c] += a;
    if (a > 0) freq[c]++;
    max = Math.max(max, a);
  });
  return { freq, mean, n, max };
}

/** Equal bins from 0 to the largest activation (all zero: 0..1); inactive utterances count in bin 0. */
function activationHistogram(
  { ctx, taskIds }: TestScope,
  act: Activation,
  { bins, max }: { bins: number; max: number },
): LatentStats["histogram"] {
  const edges = Array.from({ length: bins + 1 }, (_, b) => (max > 0 ? (b * max) / bins : b / bins));
  const counts: [number[], number[]] = [new Array(bins).fill(0), new Array(bins).fill(0)];
  taskIds.forEach((id, i) => {
    const a = act(i), c = ctx.splits.labels[id];
    counts[c][a <= 0 || max <= 0 ? 0 : Math.min(bins - 1, Math.floor((a / max) * bins))]++;
  });
  return { edges, counts };
}

/** The `count` most active test utterances (z_j > 0; ties: earlier row first). */
function topUtterances({ ctx, taskSet, testIds }: TestScope, act: Activation, count: number): TopUtterance[] {
  const label = (id: string) => (taskSet.has(id) ? ctx.splits.labels[id] : null);
  const order = testIds.map((_, i) => i).filter((i) => act(i) > 0).sort((a, b) => act(b) - act(a) || a - b);
  return order.slice(0, count).map((i): TopUtterance => ({
    id: testIds[i],
    activation: act(i),
    narrow: ctx.info.get(testIds[i])?.narrow ?? "unknown",
    label: label(testIds[i]),
  }));
}
