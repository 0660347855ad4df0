/**
 * Lyra v2 under LiteRT.js: golden ê of Lyra's own sample at the three bitrates (fixtures made by
 * tests/fixtures/lyra/generate.ts, checked exactly), independence from what was encoded before, framing and
 * padding, one encoder pass shared by the bitrates, and the lyragan decoder reproducing the input's energy
 * envelope.
 */
import { assert, assertEquals, assertGreater, assertRejects } from "@std/assert";
import { join } from "node:path";
import { loadAudio } from "../lib/audio/mod.ts";
import { sharedDir } from "../lib/cli/settings.ts";
import { readJson } from "../lib/common/fs.ts";
import { sha256Hex } from "../lib/common/hash.ts";
import { readNpy } from "../lib/formats/npy.ts";
import { LYRA_BITRATES, LYRA_CODECS, LyraCodec } from "../lib/codecs/lyra/mod.ts";
import { codecGroups, getCodec, loadCodecGroup } from "../lib/codecs/registry.ts";
import { meanOverTime } from "../lib/extract/pooling.ts";
import { skipWithout } from "./tools.ts";

const FIX = new URL("./fixtures/lyra/", import.meta.url).pathname;
const SHARED = sharedDir();
const MODELS = Deno.env.get("NAC_SAE_MODELS") ?? join(SHARED ?? "", "models");
const TESTDATA = join(MODELS, "lyra-v1.3.2", "testdata");
/** The Lyra weights (and their test clips) and the FSDD recordings, from ../shared or NAC_SAE_MODELS. */
const SKIP = skipWithout(
  import.meta.url,
  "the Lyra weights and ../shared data",
  !SHARED || !(await Deno.stat(TESTDATA).then(() => true, () => false)),
);
const opts = { modelsDir: MODELS, offline: true, quiet: true };

interface Golden {
  frames: number;
  d: number;
  sha256: string;
  u: number[];
}

Deno.test("lyra: registry lists the three bitrates with their metadata", async () => {
  assertEquals(LYRA_CODECS.map((c) => c.id), ["lyra-3.2kbps", "lyra-6kbps", "lyra-9.2kbps"]);
  const e = await getCodec("lyra-9.2kbps");
  assertEquals([e.sampleRate, e.dCodec, e.frameRate, e.bitrateKbps, e.family], [16000, 64, 50, 9.2, "lyra"]);
});

Deno.test(
  "lyra: ê of sample1 equals the golden fixtures at 3.2, 6 and 9.2 kbps",
  { ignore: SKIP },
  async () => {
    const audio = await loadAudio(join(TESTDATA, "sample1_16kHz.wav"), { sampleRate: 16000 });
    const summary = await readJson<Record<string, Golden>>(join(FIX, "summary.json"));
    for (const b of LYRA_BITRATES) {
      const want = summary[b.id];
      const codec = await LyraCodec.load(b.quantizers, opts);
      try {
        const e = await codec.encode(audio);
        assertEquals([e.rows, e.cols], [want.frames, want.d], b.id);
        assertEquals(e.rows, Math.ceil(audio.length / 320));
        const first = await readNpy(join(FIX, `${b.id}_first12.npy`));
        assertEquals(
          Array.from(e.data.slice(0, first.data.length)),
          Array.from(first.data as Float32Array),
          `${b.id} first frames`,
        );
        assertEquals(Array.from(meanOverTime(e)), want.u.map(Math.fround), `${b.id} u`);
        assertEquals(
          await sha256Hex(new Uint8Array(e.data.buffer)),
          want.sha256,
          `${b.id}: all of ê, bit for bit`,
        );
        const codes = await codec.codes(audio.subarray(0, 12 * 320));
        const wantCodes = await readNpy(join(FIX, `${b.id}_codes_first12.npy`));
        assertEquals(Array.from(codes.data), Array.from(wantCodes.data as Int32Array), `${b.id} codes`);
        // Quantizers beyond the bitrate are unused (-1); those within it are 4-bit codes.
        for (let t = 0; t < 12; t++) {
          for (let q = 0; q < 46; q++) {
            const c = codes.data[t * 46 + q];
            assert(
              q < b.quantizers ? c >= 0 && c < 16 : c === -1,
              `${b.id} frame ${t} quantizer ${q}: code ${c}`,
            );
          }
        }
      } finally {
        codec.dispose();
      }
    }
  },
);

Deno.test(
  "lyra: one encoder pass for all bitrates gives each bitrate's ê bit for bit (golden fixtures too)",
  { ignore: SKIP },
  async () => {
    const summary = await readJson<Record<string, Golden>>(join(FIX, "summary.json"));
    const ids = LYRA_BITRATES.map((b) => b.id);
    assertEquals(await codecGroups([...ids, "encodec-6kbps"], opts), [ids, ["encodec-6kbps"]]);
    const group = await loadCodecGroup(ids, opts);
    const deep = await LyraCodec.load(46, opts);
    try {
      assertEquals(
        group.codecs.map((c) => [c.id, c.bitrateKbps]),
        LYRA_BITRATES.map((b) => [b.id, b.bitrateKbps]),
      );
      const sample = await loadAudio(join(TESTDATA, "sample1_16kHz.wav"), { sampleRate: 16000 });
      const es = await group.encode(sample);
      for (const [i, b] of LYRA_BITRATES.entries()) {
        assertEquals(
          await sha256Hex(new Uint8Array(es[i].data.buffer)),
          summary[b.id].sha256,
          `${b.id} golden ê`,
        );
      }
      // Real speech at 8 kHz (resampled), against one codec per bitrate; and the RVQ's greedy prefix property
      // the sharing rests on: the first n codes at depth 46 are the codes at depth n.
      for (const f of ["0_theo_0.wav", "7_jackson_3.wav"]) {
        const audio = await loadAudio(join(SHARED!, "data/fsdd/recordings", f), {
          sampleRate: 16000,
        });
        const shared = await group.encode(audio);
        const codes46 = await deep.codes(audio);
        for (const [i, b] of LYRA_BITRATES.entries()) {
          const alone = await LyraCodec.load(b.quantizers, opts);
          try {
            assertEquals(
              Array.from(shared[i].data),
              Array.from((await alone.encode(audio)).data),
              `${f} ${b.id}`,
            );
            const codes = await alone.codes(audio);
            assertEquals(
              Array.from(codes.data),
              Array.from(codes46.data, (c, j) => (j % 46 < b.quantizers ? c : -1)),
              `${f} ${b.id} codes`,
            );
          } finally {
            alone.dispose();
          }
        }
      }
    } finally {
      group.dispose();
      deep.dispose();
    }
  },
);

Deno.test(
  "lyra: an utterance's ê does not depend on what was encoded before it",
  { ignore: SKIP },
  async () => {
    const s1 = await loadAudio(join(TESTDATA, "sample1_16kHz.wav"), { sampleRate: 16000 });
    const s2 = await loadAudio(join(TESTDATA, "sample2_16kHz.wav"), { sampleRate: 16000 });
    const codec = await LyraCodec.load(30, opts);
    const fresh = await LyraCodec.load(30, opts);
    try {
      const a = await codec.encode(s2);
      const first = await codec.encode(s1);
      const again = await codec.encode(s1);
      const other = await fresh.encode(s1);
      assertEquals(Array.from(again.data), Array.from(first.data));
      assertEquals(Array.from(other.data), Array.from(first.data));
      const a2 = await fresh.encode(s2);
      assertEquals(Array.from(a2.data), Array.from(a.data));
    } finally {
      codec.dispose();
      fresh.dispose();
    }
  },
);

Deno.test("lyra: the last partial frame is zero-padded; bad input is refused", { ignore: SKIP }, async () => {
  const s1 = await loadAudio(join(TESTDATA, "sample1_16kHz.wav"), { sampleRate: 16000 });
  const codec = await LyraCodec.load(16, opts);
  try {
    const cut = s1.subarray(0, 3 * 320 + 17);
    const padded = new Float32Array(4 * 320);
    padded.set(cut);
    const e1 = await codec.encode(cut);
    const e2 = await codec.encode(padded);
    assertEquals(e1.rows, 4);
    assertEquals(Array.from(e1.data), Array.from(e2.data));
    assertEquals((await codec.encode(s1.subarray(0, 1))).rows, 1);
    await assertRejects(() => codec.encode(new Float32Array(0)), Error, "empty audio");
    await assertRejects(
      () => codec.encode(new Float32Array([0, NaN])),
      Error,
      "non-finite sample NaN at index 1",
    );
    await assertRejects(() => LyraCodec.load(47, opts), Error, "quantizers must be an integer in 1..46");
  } finally {
    codec.dispose();
  }
});

Deno.test("lyra: lyragan decodes ê back to audio with the input's length and energy envelope", {
  ignore: SKIP,
}, async () => {
  const s1 = await loadAudio(join(TESTDATA, "sample1_16kHz.wav"), { sampleRate: 16000 });
  const codec = await LyraCodec.load(46, opts);
  try {
    const e = await codec.encode(s1);
    const y = await codec.decode(e);
    assertEquals(y.length, e.rows * 320);
    // Decoding is stateless across calls too.
    assertEquals(Array.from(await codec.decode(e)), Array.from(y));
    const rms = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
    const ratio = rms(y.subarray(0, s1.length)) / rms(s1);
    assert(ratio > 0.5 && ratio < 2, `rms ratio ${ratio}`);
    // Log-energy envelopes (20 ms frames) correlate, allowing the decoder's delay of a few frames.
    const env = (x: Float32Array) =>
      Array.from(
        { length: Math.floor(x.length / 320) },
        (_, t) => Math.log10(1e-8 + rms(x.subarray(t * 320, (t + 1) * 320))),
      );
    const a = env(s1), b = env(y);
    let best = -1, bestLag = 0;
    for (let lag = 0; lag <= 5; lag++) {
      const n = a.length - lag;
      const c = corr(a.slice(0, n), b.slice(lag, lag + n));
      if (c > best) [best, bestLag] = [c, lag];
    }
    assertGreater(best, 0.9, `envelope correlation ${best} at lag ${bestLag}`);
  } finally {
    codec.dispose();
  }
});

function corr(a: number[], b: number[]): number {
  const n = a.length, ma = a.reduce((s, v) => s + v, 0) / n, mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

Deno.test("lyra: resetting by heap snapshot gives exactly the ê of resetting by recompiling", {
  ignore: SKIP,
}, async () => {
  const rec = join(SHARED!, "data", "fsdd", "recordings");
  const names = [...Deno.readDirSync(rec)].map((e) => e.name).filter((n) => n.endsWith(".wav")).sort();
  // 40 real utterances of varied length (every 75th recording), plus very short and long ones.
  const utts = await Promise.all(
    names.filter((_, i) => i % 75 === 0).map((n) => loadAudio(join(rec, n), { sampleRate: 16000 })),
  );
  const long = await loadAudio(join(TESTDATA, "sample1_16kHz.wav"), { sampleRate: 16000 });
  utts.splice(5, 0, long.subarray(0, 100), long, long.subarray(0, 321));
  const fast = await LyraCodec.load(30, opts);
  const fastOut: Float32Array[] = [];
  try {
    for (const u of utts) fastOut.push((await fast.encode(u)).data);
  } finally {
    fast.dispose();
  }
  const slow = await LyraCodec.load(30, opts);
  try {
    (slow as unknown as { useSnapshots: boolean }).useSnapshots = false;
    for (let i = 0; i < utts.length; i++) {
      assertEquals(Array.from(fastOut[i]), Array.from((await slow.encode(utts[i])).data), `utterance ${i}`);
    }
  } finally {
    slow.dispose();
  }
});
