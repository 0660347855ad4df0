/** FLAC and MP3 through the npm decoders, loadAudio end to end, and their malformed-input errors. */
import {
  assertEquals,
  assertGreaterOrEqual,
  assertLessOrEqual,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { join } from "node:path";
import { sharedDir } from "../lib/cli/settings.ts";
import { skipWithout } from "./tools.ts";
import { AudioError, decodeAudio, encodeWav, loadAudio, toMono } from "../lib/audio/mod.ts";

const fixtures = new URL("./fixtures/audio/", import.meta.url).pathname;
// 0.5 s stereo: left 1 kHz, right 440 Hz, amplitude 0.5 (sox), encoded with flac 1.4 and lame 3.100.
const FLAC = join(fixtures, "tone_1k_440_44k1_stereo.flac");
const MP3 = join(fixtures, "tone_1k_440_32k_stereo.mp3");

const dir = await Deno.makeTempDir({ prefix: "nac-sae-audio-cmp-" });
addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

/** Dominant frequency by a coarse DFT scan (1 Hz steps between lo and hi). */
function peakHz(x: Float32Array, rate: number, lo: number, hi: number): number {
  let best = 0, bestF = lo;
  for (let f = lo; f <= hi; f += 1) {
    let re = 0, im = 0;
    for (let i = 0; i < x.length; i++) {
      const w = 2 * Math.PI * f * i / rate;
      re += x[i] * Math.cos(w), im += x[i] * Math.sin(w);
    }
    const p = re * re + im * im;
    if (p > best) best = p, bestF = f;
  }
  return bestF;
}

Deno.test("FLAC: decodes the fixture (stereo 44.1 kHz, 1 kHz left, 440 Hz right)", async () => {
  const a = await decodeAudio(FLAC);
  assertEquals(a.sampleRate, 44100);
  assertEquals(a.channels.length, 2);
  assertEquals(a.channels[0].length, 22050);
  assertEquals(peakHz(a.channels[0].subarray(0, 4410), 44100, 900, 1100), 1000);
  assertEquals(peakHz(a.channels[1].subarray(0, 4410), 44100, 400, 480), 440);
});

Deno.test("MP3: decodes the fixture (stereo 32 kHz after lame's resampling)", async () => {
  const a = await decodeAudio(MP3);
  assertEquals(a.sampleRate, 32000);
  assertEquals(a.channels.length, 2);
  assertLessOrEqual(Math.abs(a.channels[0].length - 16000), 1152);
  assertEquals(peakHz(a.channels[0].subarray(3200, 6400), 32000, 900, 1100), 1000);
  assertEquals(peakHz(a.channels[1].subarray(3200, 6400), 32000, 400, 480), 440);
});

Deno.test("loadAudio: FLAC/MP3/WAV → mono at the requested rate, cropped before resampling", async () => {
  for (const p of [FLAC, MP3]) {
    const y = await loadAudio(p, { sampleRate: 16000 });
    assertLessOrEqual(Math.abs(y.length - 8000), 600, p);
  }
  const y = await loadAudio(FLAC, { sampleRate: 24000, maxSeconds: 0.25 });
  assertEquals(y.length, 6000);
  // 40 s of 8 kHz stereo → the first 30 s, mono, 16 kHz.
  const n = 8000 * 40;
  const left = Float32Array.from({ length: n }, (_, i) => (i < 8000 * 30 ? 0.25 : 0.9));
  const p = join(dir, "long.wav");
  await Deno.writeFile(p, encodeWav([left, new Float32Array(n)], 8000));
  const mono = await loadAudio(p, { sampleRate: 16000 });
  assertEquals(mono.length, 16000 * 30);
  // Far from the edges the mono mix is (0.25 + 0)/2; the later 0.45 part was cropped away (the bound
  // leaves room for the band-limited step's ~9 % Gibbs overshoot at the edges).
  assertLessOrEqual(Math.abs(mono[240000] - 0.125), 1e-3);
  let max = 0;
  for (const v of mono) max = Math.max(max, Math.abs(v));
  assertLessOrEqual(max, 0.2);
});

Deno.test("toMono averages channels", () => {
  const m = toMono([Float32Array.of(1, 0, -1), Float32Array.of(0, 0, 1)]);
  assertEquals(Array.from(m), [0.5, 0, 0]);
});

async function rejects(name: string, bytes: Uint8Array, problem: string): Promise<void> {
  const p = join(dir, name);
  await Deno.writeFile(p, bytes);
  const e = await assertRejects(() => decodeAudio(p), AudioError);
  assertStringIncludes(e.message, p);
  assertStringIncludes(e.message, problem);
}

Deno.test("bad FLAC input: truncated header, truncated data, corrupt frames, absurd rate, zero length", async () => {
  const flac = await Deno.readFile(FLAC);
  await rejects("hdr.flac", flac.subarray(0, 20), "truncated header");
  await rejects("cut.flac", flac.subarray(0, Math.floor(flac.length * 0.7)), "truncated data");
  const corrupt = flac.slice();
  for (let i = 200; i < corrupt.length; i += 7) corrupt[i] ^= 0x5a;
  await rejects("corrupt.flac", corrupt, "corrupt");
  const zeroRate = flac.slice();
  zeroRate[18] = 0, zeroRate[19] = 0, zeroRate[20] &= 0x0f; // STREAMINFO sample rate := 0
  await rejects("0hz.flac", zeroRate, "absurd sample rate 0 Hz");
  const headerOnly = flac.slice(0, 42);
  for (let i = 21; i < 26; i++) headerOnly[i] = i === 21 ? headerOnly[i] & 0xf0 : 0; // total samples := 0
  headerOnly[4] |= 0x80; // last metadata block, no frames follow
  await rejects("empty.flac", headerOnly, "zero-length");
});

Deno.test("bad MP3 input: truncated and corrupt streams (checked against the Xing/Info frame count)", async () => {
  const mp3 = await Deno.readFile(MP3);
  await rejects("cut.mp3", mp3.subarray(0, Math.floor(mp3.length * 0.6)), "truncated or corrupt");
  const corrupt = mp3.slice();
  for (let i = 600; i < corrupt.length; i += 7) corrupt[i] ^= 0x5a;
  await rejects("corrupt.mp3", corrupt, "truncated or corrupt");
  // An MPEG frame header followed by nothing decodable.
  await rejects("header-only.mp3", mp3.subarray(0, 4), "no MPEG audio frames");
});

const shared = sharedDir();

Deno.test({
  name: "loadAudio output is finite and non-silent for a real FSDD recording",
  ignore: skipWithout(import.meta.url, "../shared data", !shared),
  fn: async () => {
    const p = join(shared!, "data", "fsdd", "recordings", "0_jackson_0.wav");
    const y = await loadAudio(p, { sampleRate: 16000 });
    assertGreaterOrEqual(y.length, 8000);
    let e = 0;
    for (const v of y) e += v * v;
    assertGreaterOrEqual(e / y.length, 1e-5);
  },
});
