/**
 * The intervals over test speakers against a plain reference: each replicate draws S speakers with replacement
 * (the same random draws: S calls of int(S) per replicate, the module's documented order), lists every drawn
 * speaker's recordings as often as it was drawn, and computes macro-F1 from that list by the definition; the
 * interval is the 2.5 / 97.5 % percentiles of the replicates (index ⌊p·R⌋). ΔF1 resamples the probe and its
 * reference with the same draw. Catches a wrong resampling unit (recordings instead of speakers), an unpaired
 * reference, a shifted percentile.
 */
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { Rng } from "../lib/common/random.ts";
import { speakerDeltaF1Interval, speakerF1Interval } from "../lib/common/speaker_bootstrap.ts";
import { refMacroF1 } from "../testdata/reference/stats.ts";

interface Rec {
  speaker_id: string;
  label: number;
  predicted: number;
}

/** Speakers with 1–4 recordings each (one label per speaker), predictions right with probability `acc`. */
function scored(seed: number, speakers: number, acc: number): Rec[] {
  const rng = new Rng(seed), out: Rec[] = [];
  for (let s = 0; s < speakers; s++) {
    const label = s % 3 === 0 ? 1 : 0, n = 1 + rng.int(4);
    for (let i = 0; i < n; i++) {
      out.push({
        speaker_id: `spk${String(s).padStart(3, "0")}`,
        label,
        predicted: rng.next() < acc ? label : 1 - label,
      });
    }
  }
  return out;
}

function refReplicates(probes: Rec[][], resamples: number, seed: number): number[][] {
  const speakers = [...new Set(probes.flatMap((p) => p.map((r) => r.speaker_id)))].sort();
  const S = speakers.length, rng = new Rng(seed);
  const out = probes.map(() => [] as number[]);
  for (let b = 0; b < resamples; b++) {
    const drawn: string[] = [];
    for (let j = 0; j < S; j++) drawn.push(speakers[rng.int(S)]);
    probes.forEach((rows, p) => {
      const list = drawn.flatMap((s) => rows.filter((r) => r.speaker_id === s));
      out[p].push(refMacroF1(list.map((r) => r.label), list.map((r) => r.predicted)));
    });
  }
  return out;
}

const percentile = (values: number[], p: number) => {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(p * v.length))];
};

Deno.test("speaker bootstrap: a probe's F1 interval equals the reference cluster bootstrap", () => {
  const rows = scored(1, 40, 0.75);
  const got = speakerF1Interval(rows, { resamples: 300, seed: 7 });
  const [reps] = refReplicates([rows], 300, 7);
  assertAlmostEquals(got.estimate, refMacroF1(rows.map((r) => r.label), rows.map((r) => r.predicted)), 1e-12);
  assertAlmostEquals(got.low, percentile(reps, 0.025), 1e-12);
  assertAlmostEquals(got.high, percentile(reps, 0.975), 1e-12);
  assertEquals([got.speakers, got.seeds, got.resamples], [40, 1, 300]);
});

Deno.test("speaker bootstrap: ΔF1 resamples the probe and its reference with the same speaker draw", () => {
  const probe = scored(2, 30, 0.8),
    ref = scored(2, 30, 0.8).map((r, i) => ({ ...r, predicted: i % 5 === 0 ? 1 - r.label : r.label }));
  const got = speakerDeltaF1Interval(probe, ref, { resamples: 250, seed: 3 });
  const [a, b] = refReplicates([probe, ref], 250, 3);
  const deltas = a.map((v, i) => v - b[i]);
  assertAlmostEquals(got.low, percentile(deltas, 0.025), 1e-12);
  assertAlmostEquals(got.high, percentile(deltas, 0.975), 1e-12);
  // Paired: a probe against itself has ΔF1 = 0 in every replicate.
  const self = speakerDeltaF1Interval(probe, probe, { resamples: 100, seed: 3 });
  assertEquals([self.estimate, self.low, self.high], [0, 0, 0]);
});

Deno.test("speaker bootstrap: many recordings per speaker widen the interval over resampling recordings", () => {
  // One speaker-level error pattern repeated over 8 recordings each: resampling recordings would understate it.
  const rows: Rec[] = [];
  for (let s = 0; s < 30; s++) {
    const label = s % 2, right = s % 4 !== 0;
    for (let i = 0; i < 8; i++) {
      rows.push({ speaker_id: `s${s}`, label, predicted: right ? label : 1 - label });
    }
  }
  const speakers = speakerF1Interval(rows, { resamples: 400, seed: 1 });
  const perRecording = speakerF1Interval(rows.map((r, i) => ({ ...r, speaker_id: `r${i}` })), {
    resamples: 400,
    seed: 1,
  });
  assert(
    speakers.high - speakers.low > 1.8 * (perRecording.high - perRecording.low),
    `${JSON.stringify([speakers, perRecording])}`,
  );
});
