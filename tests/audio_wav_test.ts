/** WAV decoding: every supported sample format (ours and sox-written), and every malformed-input case. */
import {
  assert,
  assertEquals,
  assertLessOrEqual,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { checkDecoded } from "../lib/audio/errors.ts";
import { join } from "node:path";
import { AudioError, decodeAudio, encodeWav, type WavWriteOptions } from "../lib/audio/mod.ts";
import { toolAvailable } from "./tools.ts";

const dir = await Deno.makeTempDir({ prefix: "nac-sae-audio-wav-" });
addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

function sine(freq: number, rate: number, n: number, amp = 0.5, phase = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => amp * Math.sin(2 * Math.PI * freq * i / rate + phase));
}

async function write(name: string, bytes: Uint8Array): Promise<string> {
  const p = join(dir, name);
  await Deno.writeFile(p, bytes);
  return p;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const FORMATS: [string, WavWriteOptions, number][] = [
  ["pcm8", { encoding: "pcm", bitsPerSample: 8 }, 1 / 128],
  ["pcm16", { encoding: "pcm", bitsPerSample: 16 }, 1 / 32768],
  ["pcm24", { encoding: "pcm", bitsPerSample: 24 }, 1 / 8388608],
  ["pcm32", { encoding: "pcm", bitsPerSample: 32 }, 1e-7],
  ["float32", { encoding: "float", bitsPerSample: 32 }, 0],
  ["float64", { encoding: "float", bitsPerSample: 64 }, 0],
  ["ext-pcm24", { encoding: "pcm", bitsPerSample: 24, extensible: true }, 1 / 8388608],
  ["ext-float32", { encoding: "float", bitsPerSample: 32, extensible: true }, 0],
];

Deno.test("WAV: every sample format and 1, 2 and 5 channels decode to the written samples", async () => {
  for (const [name, opts, tol] of FORMATS) {
    for (const nc of [1, 2, 5]) {
      const chans = Array.from({ length: nc }, (_, c) => sine(300 + 100 * c, 16000, 801, 0.9, c));
      const p = await write(`${name}-${nc}ch.wav`, encodeWav(chans, 16000, opts));
      const got = await decodeAudio(p);
      assertEquals(got.sampleRate, 16000, name);
      assertEquals(got.channels.length, nc, name);
      for (let c = 0; c < nc; c++) {
        assertLessOrEqual(maxAbsDiff(got.channels[c], chans[c]), tol + 1e-7, `${name} ch${c}`);
      }
    }
  }
});

const hasSox = await toolAvailable(import.meta.url, "sox", "sox", ["--version"]);

Deno.test(
  "WAV: files written by sox (8/16/24/32-bit int, 32/64-bit float, extensible) agree with each other",
  {
    ignore: !hasSox,
  },
  async () => {
    const make = async (name: string, enc: string[]) => {
      const p = join(dir, `sox-${name}.wav`);
      // 3 channels make sox write WAVE_FORMAT_EXTENSIBLE; -D turns dither off so values are comparable.
      const args = [
        "-D",
        "-n",
        "-r",
        "22050",
        "-c",
        "3",
        ...enc,
        p,
        "synth",
        "0.2",
        "sine",
        "700",
        "vol",
        "0.5",
      ];
      const out = await new Deno.Command("sox", { args, stderr: "piped" }).output();
      assert(out.success, new TextDecoder().decode(out.stderr));
      return p;
    };
    const ref = await decodeAudio(await make("f64", ["-e", "floating-point", "-b", "64"]));
    const cases: [string, string[], number][] = [
      ["u8", ["-e", "unsigned-integer", "-b", "8"], 1.5 / 128],
      ["s16", ["-e", "signed-integer", "-b", "16"], 1.5 / 32768],
      ["s24", ["-e", "signed-integer", "-b", "24"], 1.5 / 8388608],
      ["s32", ["-e", "signed-integer", "-b", "32"], 1e-7],
      ["f32", ["-e", "floating-point", "-b", "32"], 1e-7],
    ];
    for (const [name, enc, tol] of cases) {
      const got = await decodeAudio(await make(name, enc));
      assertEquals(got.sampleRate, 22050);
      assertEquals(got.channels.length, 3);
      for (let c = 0; c < 3; c++) assertLessOrEqual(maxAbsDiff(got.channels[c], ref.channels[c]), tol, name);
    }
  },
);

Deno.test("WAV: decodeAudio crops to maxSeconds", async () => {
  const p = await write("long.wav", encodeWav([sine(440, 8000, 8000 * 3)], 8000));
  const got = await decodeAudio(p, { maxSeconds: 1.5 });
  assertEquals(got.channels[0].length, 12000);
});

Deno.test("WAV: chunks before fmt and between fmt and data (odd sizes, padded) are skipped", async () => {
  const plain = encodeWav([sine(440, 16000, 1000)], 16000);
  const junk = new Uint8Array(8 + 5 + 1); // odd-sized chunk + pad byte
  junk.set(new TextEncoder().encode("JUNK"), 0);
  new DataView(junk.buffer).setUint32(4, 5, true);
  const list = new Uint8Array(8 + 4);
  list.set(new TextEncoder().encode("LIST"), 0);
  new DataView(list.buffer).setUint32(4, 4, true);
  // RIFF header | JUNK | fmt | LIST | data
  const bytes = new Uint8Array([
    ...plain.subarray(0, 12),
    ...junk,
    ...plain.subarray(12, 36),
    ...list,
    ...plain.subarray(36),
  ]);
  new DataView(bytes.buffer).setUint32(4, bytes.length - 8, true);
  const got = await decodeAudio(await write("chunks.wav", bytes), { maxSeconds: 0.05 });
  assertEquals(got.sampleRate, 16000);
  assertEquals(got.channels[0].length, 800);
  assertLessOrEqual(maxAbsDiff(got.channels[0], sine(440, 16000, 800)), 1 / 32768);
});

/** Asserts that decoding rejects with an AudioError whose message names the file and contains `problem`. */
async function rejects(name: string, bytes: Uint8Array, problem: string): Promise<void> {
  const p = await write(name, bytes);
  const e = await assertRejects(() => decodeAudio(p), AudioError);
  assertStringIncludes(e.message, p);
  assertStringIncludes(e.message, problem);
}

const good = () => encodeWav([sine(440, 16000, 1600)], 16000);
function patched(edit: (v: DataView, b: Uint8Array) => void): Uint8Array {
  const b = good();
  edit(new DataView(b.buffer), b);
  return b;
}

Deno.test("bad WAV input: empty file", () => rejects("empty.wav", new Uint8Array(0), "empty file"));

Deno.test("bad WAV input: truncated header (inside RIFF, inside fmt, before data)", async () => {
  await rejects("hdr8.wav", good().subarray(0, 8), "truncated header");
  await rejects("hdr30.wav", good().subarray(0, 30), "truncated header");
  await rejects("hdr36.wav", good().subarray(0, 36), "truncated header");
});

Deno.test("bad WAV input: truncated data (declared size beyond the file; partial frame)", async () => {
  await rejects("cut.wav", good().subarray(0, 44 + 1000), "truncated data");
  const stereo = encodeWav([sine(1, 8000, 100), sine(1, 8000, 100)], 8000);
  const v = new DataView(stereo.buffer);
  v.setUint32(40, v.getUint32(40, true) - 2, true); // data size no longer a multiple of the 4-byte frame
  await rejects("partial.wav", stereo.subarray(0, stereo.length - 2), "not a whole number");
});

Deno.test("bad WAV input: non-audio files with an audio extension", async () => {
  const text = new TextEncoder().encode("<html><body>404 Not Found</body></html>\n".repeat(20));
  await rejects("page.wav", text, "not an audio file");
  await rejects("page.flac", text, "not an audio file");
  await rejects("page.mp3", text, "not an audio file");
  const avi = good();
  avi.set(new TextEncoder().encode("AVI "), 8);
  await rejects("movie.wav", avi, "not WAVE audio");
});

Deno.test("bad WAV input: zero-length audio", () =>
  rejects("zero.wav", encodeWav([new Float32Array(0)], 16000), "zero-length"));

Deno.test("bad WAV input: unsupported codecs and formats", async () => {
  await rejects("adpcm.wav", patched((v) => v.setUint16(20, 0x0002, true)), "unsupported codec");
  await rejects("mulaw.wav", patched((v) => v.setUint16(20, 0x0007, true)), "µ-law");
  await rejects("pcm12.wav", patched((v) => v.setUint16(34, 12, true)), "12-bit");
  await rejects("rifx.wav", patched((_v, b) => b.set(new TextEncoder().encode("RIFX"), 0)), "big-endian");
  const ogg = new Uint8Array(64);
  ogg.set(new TextEncoder().encode("OggS"), 0);
  await rejects("vorbis.flac", ogg, "unsupported codec");
});

Deno.test("bad WAV input: NaN and infinite float samples", async () => {
  const x = sine(440, 16000, 100);
  x[37] = NaN;
  await rejects(
    "nan.wav",
    encodeWav([x], 16000, { encoding: "float" }),
    "non-finite sample (NaN) at frame 37",
  );
  x[37] = 0;
  x[50] = Infinity;
  await rejects("inf.wav", encodeWav([x], 16000, { encoding: "float", bitsPerSample: 64 }), "Infinity");
});

Deno.test("bad WAV input: absurd header values (0 Hz, 10 GHz, 0 channels, inconsistent block align)", async () => {
  await rejects("0hz.wav", patched((v) => v.setUint32(24, 0, true)), "absurd sample rate 0 Hz");
  // 10 GHz does not fit the 32-bit field: the largest value it can hold is just as absurd.
  await rejects(
    "huge.wav",
    patched((v) => v.setUint32(24, 0xffffffff, true)),
    "absurd sample rate 4294967295 Hz",
  );
  await rejects("0ch.wav", patched((v) => v.setUint16(22, 0, true)), "absurd channel count 0");
  // The same check guards what the FLAC/MP3 decoders report, where a 10 GHz rate could come back.
  const e = assertThrows(
    () => checkDecoded("x.mp3", { channels: [new Float32Array(4)], sampleRate: 10e9 }),
    AudioError,
  );
  assertStringIncludes(e.message, "x.mp3: absurd sample rate 10000000000 Hz");
  await rejects("align.wav", patched((v) => v.setUint16(32, 3, true)), "block align");
});

Deno.test("bad input: a missing file is an AudioError naming it", async () => {
  const p = join(dir, "nope.wav");
  const e = await assertRejects(() => decodeAudio(p), AudioError);
  assertStringIncludes(e.message, `${p}: file not found`);
});
