/**
 * Uncertainty of ΔF1 and F1: across seeds (mean ± std, 95 % t-interval with the exact Student quantile); over
 * test speakers (re-exported from lib/common/speaker_bootstrap.ts: a paired cluster bootstrap, combined with
 * seeds — the interval every verdict uses); and the older percentile bootstrap over scored utterances (for ΔF1
 * the feature's and the reference's predictions resampled together), which treats a speaker's recordings as
 * independent and so is too narrow where speakers have several.
 */
import { Rng } from "../common/random.ts";
import { macroF1FromConfusion } from "../common/speaker_bootstrap.ts";

export { type Interval, seedInterval, studentTCdf, studentTQuantile } from "../common/stats.ts";
// Intervals over test speakers (cluster bootstrap, paired, combined with seeds): see that module's comment.
export {
  type ContrastSpec,
  type ContrastTerm,
  macroF1FromConfusion,
  type ScoredRecording,
  SpeakerBootstrap,
  speakerDeltaF1Interval,
  speakerF1Interval,
  type SpeakerInterval,
  speakerMethod,
} from "../common/speaker_bootstrap.ts";

/**
 * Percentile bootstrap (95 %) of ΔF1 = F1(feature) − F1(reference) over resampled test utterances (labels 0/1).
 * Each resample only counts confusion matrices, so a thousand resamples of a thousand utterances take
 * milliseconds.
 */
export function bootstrapDeltaF1(
  truth: ArrayLike<number>,
  predFeature: ArrayLike<number>,
  predRef: ArrayLike<number>,
  resamples: number,
  seed: number,
): { low: number; high: number } {
  const n = truth.length;
  for (
    const [name, a] of [["truth", truth], ["feature predictions", predFeature], [
      "reference predictions",
      predRef,
    ]] as const
  ) {
    if (a.length !== n) throw new Error(`bootstrapDeltaF1: ${name} has ${a.length} values, truth has ${n}`);
    for (let i = 0; i < n; i++) {
      if (a[i] !== 0 && a[i] !== 1) {
        throw new Error(`bootstrapDeltaF1: ${name}[${i}] = ${a[i]} is not a 0/1 label`);
      }
    }
  }
  // Cell index t·2 + p per utterance, for the feature and the reference.
  const cf = Int32Array.from({ length: n }, (_, i) => truth[i] * 2 + predFeature[i]);
  const cr = Int32Array.from({ length: n }, (_, i) => truth[i] * 2 + predRef[i]);
  return bootstrapConfusions(
    [cf, cr],
    resamples,
    seed,
    ([f, r]) => macroF1FromConfusion(f) - macroF1FromConfusion(r),
  );
}

/**
 * The 95 % percentile interval of `statistic` over bootstrap resamples: each resample draws n utterances
 * (uniformly, with replacement; one draw serves every prediction set) and counts, per set, the confusion
 * cells (truth·2 + prediction) of the drawn utterances.
 */
function bootstrapConfusions(
  cellSets: Int32Array[],
  resamples: number,
  seed: number,
  statistic: (counts: Int32Array[]) => number,
): { low: number; high: number } {
  const n = cellSets[0].length;
  const rng = new Rng(seed);
  const values = new Float64Array(resamples);
  const counts = cellSets.map(() => new Int32Array(4));
  for (let b = 0; b < resamples; b++) {
    for (const c of counts) c.fill(0);
    for (let i = 0; i < n; i++) {
      const j = rng.int(n);
      for (let k = 0; k < cellSets.length; k++) counts[k][cellSets[k][j]]++;
    }
    values[b] = statistic(counts);
  }
  values.sort();
  const at = (p: number) => values[Math.min(resamples - 1, Math.max(0, Math.floor(p * resamples)))];
  return { low: at(0.025), high: at(0.975) };
}

/** Percentile bootstrap (95 %) of macro-F1 over resampled scored utterances (labels 0/1). */
export function bootstrapF1(
  truth: ArrayLike<number>,
  pred: ArrayLike<number>,
  resamples: number,
  seed: number,
): { low: number; high: number } {
  const n = truth.length;
  if (pred.length !== n) throw new Error(`bootstrapF1: ${pred.length} predictions, truth has ${n}`);
  const cell = Int32Array.from({ length: n }, (_, i) => {
    if ((truth[i] !== 0 && truth[i] !== 1) || (pred[i] !== 0 && pred[i] !== 1)) {
      throw new Error(`bootstrapF1: row ${i} has truth ${truth[i]}, prediction ${pred[i]}; expected 0/1`);
    }
    return truth[i] * 2 + pred[i];
  });
  return bootstrapConfusions([cell], resamples, seed, ([c]) => macroF1FromConfusion(c));
}

/** Mean and the 2.5 % / 97.5 % percentiles of a sample (e.g. F1 of label-permuted probes). */
export function percentileInterval(values: number[]): { mean: number; low: number; high: number } {
  if (values.length === 0) throw new Error("percentileInterval: no values");
  const v = [...values].sort((a, b) => a - b);
  const at = (p: number) => v[Math.min(v.length - 1, Math.max(0, Math.floor(p * v.length)))];
  return { mean: v.reduce((a, b) => a + b, 0) / v.length, low: at(0.025), high: at(0.975) };
}
