/**
 * FLAC files whose last block is shorter than the others decode sample-exactly, compared with sox: the
 * SAA recording that exposed the lost final block (english_333.flac) and files sox writes at several lengths,
 * rates, channel counts and bit depths. Plus the frame splitter's view of a trailing tag and a cut file.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { sharedDir } from "../lib/cli/settings.ts";
import { decodeAudio } from "../lib/audio/mod.ts";
import { flacFrames } from "../lib/audio/flac_frames.ts";
import { skipWithout } from "./tools.ts";

const dir = await Deno.makeTempDir({ prefix: "nac-sae-flac-frames-" });
addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const shared = sharedDir();

async function sox(args: string[]): Promise<Uint8Array> {
  const out = await new Deno.Command("sox", { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`sox ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return out.stdout;
}

/** sox's decoding of `path` as interleaved signed integers of `bits` bits. */
async function soxSamples(path: string, bits: 16 | 24): Promise<Int32Array> {
  const raw = await sox([path, "-t", "raw", "-e", "signed", "-b", String(bits), "-L", "-"]);
  const bytes = bits / 8, n = raw.length / bytes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let k = bytes - 1; k >= 0; k--) v = (v << 8) | raw[i * bytes + k];
    out[i] = (v << (32 - bits)) >> (32 - bits);
  }
  return out;
}

/** Decodes with our path and checks every sample against sox (after scaling back to integers). */
async function assertMatchesSox(path: string, bits: 16 | 24): Promise<number> {
  const ours = await decodeAudio(path);
  const ref = await soxSamples(path, bits);
  const ch = ours.channels.length, n = ours.channels[0].length;
  assertEquals(n * ch, ref.length, `${path}: sample count`);
  const scale = 2 ** (bits - 1);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < ch; c++) {
      const got = Math.round(ours.channels[c][i] * scale);
      if (got !== ref[i * ch + c]) {
        throw new Error(`${path}: sample ${i} channel ${c}: ${got} vs sox ${ref[i * ch + c]}`);
      }
    }
  }
  return n;
}

Deno.test({
  name: "FLAC: SAA english_333.flac decodes all 127552 samples, identical to sox (its last block has 576)",
  ignore: skipWithout(import.meta.url, "../shared data", !shared),
  async fn() {
    const path = join(shared!, "data", "saa", "recordings", "english", "english_333.flac");
    assertEquals(await assertMatchesSox(path, 16), 127552);
    const split = flacFrames(await Deno.readFile(path));
    assert(!("error" in split));
    assertEquals(split.frames.length, 32); // 31 × 4096 + 576
    // The mirror's WAV of the same recording (sox writes it byte-identically) decodes to the same floats.
    const wav = join(dir, "english_333.wav");
    await sox([path, "-t", "wav", "-b", "16", "-e", "signed", wav]);
    assertEquals((await decodeAudio(path)).channels[0], (await decodeAudio(wav)).channels[0]);
  },
});

Deno.test("FLAC: short final blocks at several lengths, rates, channel counts and bit depths match sox", async () => {
  const cases: { rate: number; channels: number; bits: 16 | 24; samples: number }[] = [
    { rate: 8000, channels: 1, bits: 16, samples: 4096 * 3 + 576 },
    { rate: 8000, channels: 1, bits: 16, samples: 4608 * 2 + 1 },
    { rate: 16000, channels: 1, bits: 16, samples: 12345 },
    { rate: 44100, channels: 2, bits: 16, samples: 22050 + 17 },
    { rate: 24000, channels: 1, bits: 24, samples: 9999 },
  ];
  for (const [i, c] of cases.entries()) {
    const path = join(dir, `short_${i}.flac`);
    // Repeatable (-R) noise plus a tone, so frames use varied subframe types.
    await sox([
      "-R",
      "-r",
      String(c.rate),
      "-c",
      String(c.channels),
      "-n",
      "-b",
      String(c.bits),
      path,
      "synth",
      `${c.samples}s`,
      "whitenoise",
      "sine",
      "440",
      "vol",
      "0.5",
    ]);
    assertEquals(await assertMatchesSox(path, c.bits), c.samples, path);
  }
});

Deno.test("FLAC frame splitter: a trailing ID3v1 tag is not a frame; a cut file names the unfinished frame", async () => {
  const path = join(dir, "tagged.flac");
  await sox(["-R", "-r", "8000", "-c", "1", "-n", "-b", "16", path, "synth", "5000s", "whitenoise"]);
  const flac = await Deno.readFile(path);
  const tag = new Uint8Array(128);
  tag.set(new TextEncoder().encode("TAG"));
  const tagged = new Uint8Array([...flac, ...tag]);
  const a = flacFrames(flac), b = flacFrames(tagged);
  assert(!("error" in a) && !("error" in b));
  assertEquals(b.frames.length, a.frames.length);
  const cut = flacFrames(flac.subarray(0, flac.length - 3));
  assert("error" in cut);
  assertStringIncludes(cut.error, `frame ${a.frames.length - 1} at byte`);
  assertEquals(cut.frames.length, a.frames.length - 1);
});
