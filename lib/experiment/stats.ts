/**
 * Uncertainty of ΔF1 and F1: across seeds (mean ± std, 95 % t-interval with the exact Student quantile) and over
 * test speakers (re-exported from lib/common/speaker_bootstrap.ts: a paired cluster bootstrap, combined with
 * seeds — the interval every row and verdict uses; resampling recordings instead would treat a speaker's
 * recordings as independent and be too narrow where speakers have several).
 */

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

/** Mean and the 2.5 % / 97.5 % percentiles of a sample (e.g. F1 of label-permuted probes). */
export function percentileInterval(values: number[]): { mean: number; low: number; high: number } {
  if (values.length === 0) throw new Error("percentileInterval: no values");
  const v = [...values].sort((a, b) => a - b);
  const at = (p: number) => v[Math.min(v.length - 1, Math.max(0, Math.floor(p * v.length)))];
  return { mean: v.reduce((a, b) => a + b, 0) / v.length, low: at(0.025), high: at(0.975) };
}
