/**
 * Audio preprocessing against the signal it must produce, sample by sample: a band-limited resampler output
 * is the analytic continuous-time signal evaluated at m / toRate (no delay, no gain, no time-axis slip), and
 * loadAudio's decode → crop (first maxSeconds, in seconds of the source) → mono (channel mean) → resample
 * gives exactly that for a stereo WAV with different tones per channel.
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import { encodeWav, loadAudio, resample } from "../lib/audio/mod.ts";

type Tone = [freq: number, amp: number, phase: number];

function signal(tones: Tone[], t: number): number {
  return tones.reduce((a, [f, amp, ph]) => a + amp * Math.sin(2 * Math.PI * f * t + ph), 0);
}

function sampled(tones: Tone[], rate: number, n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => signal(tones, i / rate));
}

/** Largest |y[m] − want(m / rate)| over the middle 60 % (the edges see zero padding). */
function worstError(y: Float32Array, rate: number, want: (t: number) => number): number {
  let worst = 0;
  for (let m = Math.floor(y.length * 0.2); m < Math.floor(y.length * 0.8); m++) {
    worst = Math.max(worst, Math.abs(y[m] - want(m / rate)));
  }
  return worst;
}

const TONES: Tone[] = [[310, 0.3, 0.4], [1234, 0.25, 1.1], [2950, 0.2, 2.0]]; // below 0.9 × 4 kHz

for (const [from, to] of [[8000, 16000], [16000, 24000], [48000, 16000], [22050, 16000], [44100, 24000]]) {
  Deno.test(`reference audio: resample ${from}→${to} equals the analytic signal at m/${to} s`, () => {
    const x = sampled(TONES, from, Math.round(from * 0.5));
    const y = resample(x, from, to);
    assertEquals(y.length, Math.ceil((x.length * to) / from));
    const err = worstError(y, to, (t) => signal(TONES, t));
    assert(err < 2e-3, `worst sample error ${err}`);
  });
}

Deno.test("reference audio: loadAudio crops in source seconds, averages the channels, then resamples", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ref_audio_" });
  try {
    const rate = 22050, seconds = 3;
    const left: Tone[] = [[440, 0.4, 0]], right: Tone[] = [[1000, 0.2, 0.5]];
    const path = join(dir, "stereo.wav");
    await Deno.writeFile(
      path,
      encodeWav([sampled(left, rate, rate * seconds), sampled(right, rate, rate * seconds)], rate, {
        encoding: "float",
      }),
    );
    const y = await loadAudio(path, { sampleRate: 16000, maxSeconds: 2 });
    assertEquals(y.length, 2 * 16000);
    const err = worstError(y, 16000, (t) => (signal(left, t) + signal(right, t)) / 2);
    assert(err < 2e-3, `worst sample error ${err} against the mean of the channels`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
