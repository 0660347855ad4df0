/** The resampler, measured: SNR of a 1 kHz sine and attenuation of content above the new Nyquist. */
import { assert, assertEquals, assertGreaterOrEqual, assertLessOrEqual, assertThrows } from "@std/assert";
import { resample } from "../lib/audio/mod.ts";

function sine(freq: number, rate: number, seconds: number): Float32Array {
  const n = Math.round(rate * seconds);
  return Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin(2 * Math.PI * freq * i / rate));
}

/** The central 60 % of a signal (away from the zero-padded edges). */
function middle(x: Float32Array): Float32Array {
  return x.subarray(Math.floor(x.length * 0.2), Math.floor(x.length * 0.8));
}

/**
 * SNR (dB) of `y` against the best-fitting sine at `freq`: least squares over amplitude and phase, so any
 * distortion, aliasing, imaging or noise counts as error while a filter's constant delay does not.
 */
function sineSnrDb(y: Float32Array, freq: number, rate: number, offset: number): number {
  let ss = 0, cc = 0, sc = 0, ys = 0, yc = 0;
  for (let i = 0; i < y.length; i++) {
    const w = 2 * Math.PI * freq * (i + offset) / rate, s = Math.sin(w), c = Math.cos(w);
    ss += s * s, cc += c * c, sc += s * c, ys += y[i] * s, yc += y[i] * c;
  }
  const det = ss * cc - sc * sc, a = (ys * cc - yc * sc) / det, b = (yc * ss - ys * sc) / det;
  let signal = 0, error = 0;
  for (let i = 0; i < y.length; i++) {
    const w = 2 * Math.PI * freq * (i + offset) / rate;
    const fit = a * Math.sin(w) + b * Math.cos(w);
    signal += fit * fit;
    error += (y[i] - fit) ** 2;
  }
  return 10 * Math.log10(signal / error);
}

function rms(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / x.length);
}

for (const [from, to] of [[8000, 16000], [16000, 24000], [48000, 16000], [22050, 16000], [44100, 24000]]) {
  Deno.test(`resample ${from}→${to}: a 1 kHz sine keeps SNR ≥ 60 dB and its amplitude`, () => {
    const y = resample(sine(1000, from, 1), from, to);
    assertEquals(y.length, to);
    const mid = middle(y);
    const snr = sineSnrDb(mid, 1000, to, Math.floor(y.length * 0.2));
    assertGreaterOrEqual(snr, 60, `SNR ${snr.toFixed(1)} dB`);
    assertLessOrEqual(Math.abs(rms(mid) - 0.5 / Math.SQRT2), 1e-3, "passband gain");
  });
}

Deno.test("resample 48k→16k: tones above the new Nyquist (8 kHz) are attenuated ≥ 60 dB", () => {
  for (const f of [8200, 9000, 12000, 15000, 20000, 23500]) {
    const x = sine(f, 48000, 1);
    const atten = 20 * Math.log10(rms(middle(resample(x, 48000, 16000))) / rms(x));
    assertLessOrEqual(atten, -60, `${f} Hz: ${atten.toFixed(1)} dB`);
  }
});

Deno.test("resample 22.05k→16k and 44.1k→24k: tones above the new Nyquist are attenuated ≥ 60 dB", () => {
  for (
    const [from, to, f] of [[22050, 16000, 8500], [22050, 16000, 10000], [44100, 24000, 12500], [
      44100,
      24000,
      20000,
    ]]
  ) {
    const x = sine(f, from, 1);
    const atten = 20 * Math.log10(rms(middle(resample(x, from, to))) / rms(x));
    assertLessOrEqual(atten, -60, `${from}→${to}, ${f} Hz: ${atten.toFixed(1)} dB`);
  }
});

Deno.test("resample up (8k→16k, 16k→24k): spectral images above the old Nyquist are attenuated ≥ 60 dB", () => {
  // A 3.5 kHz tone at 8 kHz images at 4.5 kHz; at 16 kHz a 6.5 kHz tone images at 9.5 kHz. The sine fit
  // counts the image as error, so SNR ≥ 60 dB bounds the image below -60 dB.
  for (const [from, to, f] of [[8000, 16000, 3500], [16000, 24000, 6500]]) {
    const y = resample(sine(f, from, 1), from, to);
    const snr = sineSnrDb(middle(y), f, to, Math.floor(y.length * 0.2));
    assertGreaterOrEqual(snr, 60, `${from}→${to}, ${f} Hz: ${snr.toFixed(1)} dB`);
  }
});

Deno.test("resample: same rate copies; odd ratios work; bad rates are rejected", () => {
  const x = sine(440, 16000, 0.1);
  const same = resample(x, 16000, 16000);
  assertEquals(same, x);
  assert(same !== x);
  assertEquals(resample(x, 16000, 16001).length, Math.ceil(x.length * 16001 / 16000));
  assertThrows(() => resample(x, 0, 16000), RangeError);
  assertThrows(() => resample(x, 16000, 22050.5), RangeError);
});
