/**
 * EnCodec 24 kHz parity against the official code's outputs (../shared/fixtures/codecs/encodec_24khz): the
 * primary scaled-down fixture (256-entry codebooks), supplement/tiny (official 1024 entries, many lengths,
 * official and Hugging Face names), supplement/full (the real full-size architecture, weights rebuilt by the
 * documented rule), a full-size 30 s run, weight resolution and the official .th checkpoint format.
 */
import { GraphRunner } from "../lib/codecs/nn/graph_codec.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { nqForBandwidth, OFFICIAL_24KHZ } from "../lib/codecs/encodec/config.ts";
import { ENCODEC } from "../lib/codecs/encodec/model.ts";
import { OFFICIAL_CHECKPOINT, OFFICIAL_URL, readEncodecWeights } from "../lib/codecs/encodec/weights.ts";
import { getCodec } from "../lib/codecs/registry.ts";
import { sha256Hex } from "../lib/common/hash.ts";
import {
  assertClose,
  assertCodes,
  CODEC_FIXTURES,
  npyF32,
  npyInt,
  ruleWeights,
} from "./codecs_fixture_util.ts";
import { skipWithout, torchAvailable, torchSaveFromSafetensors } from "./tools.ts";

const DIR = CODEC_FIXTURES && `${CODEC_FIXTURES}/encodec_24khz`;
const SUP = DIR && `${DIR}/supplement`;
const ignore = skipWithout(import.meta.url, "../shared/fixtures/codecs", !DIR);

Deno.test({
  name: "encodec: registry id encodec-6kbps resolves the fixture folder through --models",
  ignore,
  fn: async () => {
    const entry = await getCodec("encodec-6kbps");
    assertEquals([entry.sampleRate, entry.dCodec, entry.frameRate, entry.bitrateKbps], [24000, 128, 75, 6]);
    const codec = await entry.load({ modelsDir: CODEC_FIXTURES, offline: true, threads: 1 });
    try {
      const e = await codec.encode((await npyF32(`${DIR}/input_short.npy`)).data);
      assertClose("ehat_6_short", e.data, (await npyF32(`${DIR}/ehat_6_short.npy`)).data);
      assertEquals([e.rows, e.cols], [54, 128]);
    } finally {
      codec.dispose();
    }
  },
});

const TINY_INPUTS = [
  "speech",
  "noise_len1",
  "noise_len7",
  "noise_len319",
  "noise_len320",
  "noise_len321",
  "noise_len4817",
];

for (const names of ["official", "hf"]) {
  Deno.test({
    name: `encodec: supplement/tiny parity (1024-entry codebooks, ${names} names, L = 1 … 82766)`,
    ignore,
    fn: async () => {
      const file = names === "hf" ? "weights.hf.safetensors" : "weights.safetensors";
      const { weights, config } = await readEncodecWeights("safetensors", [`${SUP}/tiny/${file}`]);
      assertEquals([config.bins, config.nQ, config.encoder.dimension], [1024, 16, 8]);
      let ties = 0;
      for (const bw of [1.5, 6, 12]) {
        const nq = nqForBandwidth(config, bw);
        assertEquals(nq, { 1.5: 2, 6: 8, 12: 16 }[bw]);
        const runner = await GraphRunner.create(ENCODEC, weights, config, nq, { threads: 1 });
        for (const input of TINY_INPUTS) {
          const audio = (await npyF32(`${SUP}/tiny/inputs/${input}.npy`)).data;
          const ref = `${SUP}/tiny/${input}`;
          const r = await runner.run(audio);
          assertEquals(r.latent!.rows, Math.ceil(audio.length / 320), `${input}: frames`);
          assertClose(`${input} e`, r.latent!.data, (await npyF32(`${ref}/e.npy`)).data);
          const skip = assertCodes(
            `${input} codes ${bw}`,
            r.codes!,
            (await npyInt(`${ref}/codes_${bw}kbps.npy`)).data,
            nq,
            (await npyF32(`${ref}/margin_${bw}kbps.npy`)).data,
          );
          ties += skip.size;
          assertClose(
            `${input} ehat ${bw}`,
            r.ehat!.data,
            (await npyF32(`${ref}/ehat_${bw}kbps.npy`)).data,
            1e-4,
            8,
            skip,
          );
        }
        await runner.release();
      }
      // README: at most 4 (6 kbps) + 12 (12 kbps) near-tie entries exist, all in tiny/speech.
      assert(ties <= 16, `${ties} near-tie frames`);
    },
  });
}

Deno.test({
  name: "encodec: supplement/full parity (full-size architecture, rule weights, 1.5/6/12 kbps)",
  ignore,
  fn: async () => {
    const checks = JSON.parse(await Deno.readTextFile(`${SUP}/full/weights_check.json`));
    const weights = await ruleWeights(`${SUP}/full/weights_check.json`);
    for (const [name, t] of weights) {
      const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      assertEquals(await sha256Hex(bytes), checks[name].sha256, `rule rebuild of ${name}`);
    }
    const config = OFFICIAL_24KHZ;
    for (const bw of [1.5, 6, 12]) {
      const nq = nqForBandwidth(config, bw);
      const runner = await GraphRunner.create(ENCODEC, weights, config, nq);
      for (const input of ["speech_24100", "noise_len321"]) {
        const audio = (await npyF32(`${SUP}/full/inputs/${input}.npy`)).data;
        const ref = `${SUP}/full/${input}`;
        const r = await runner.run(audio);
        assertClose(`${input} e`, r.latent!.data, (await npyF32(`${ref}/e.npy`)).data);
        const skip = assertCodes(
          `${input} codes ${bw}`,
          r.codes!,
          (await npyInt(`${ref}/codes_${bw}kbps.npy`)).data,
          nq,
          (await npyF32(`${ref}/margin_${bw}kbps.npy`)).data,
        );
        assertEquals(skip.size, 0);
        assertClose(`${input} ehat ${bw}`, r.ehat!.data, (await npyF32(`${ref}/ehat_${bw}kbps.npy`)).data);
      }
      await runner.release();
    }
  },
});

Deno.test({
  name: "encodec: missing weights offline → error naming the file and the URL",
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "encodec_missing_" });
    try {
      const where = { cacheDir: join(tmp, "cache"), hfHubCache: join(tmp, "hf") };
      const entry = await getCodec("encodec-6kbps");
      const err = await assertRejects(() => entry.load({ ...where, modelsDir: tmp, offline: true }));
      assertStringIncludes(err.message, OFFICIAL_CHECKPOINT);
      assertStringIncludes(err.message, OFFICIAL_URL);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "encodec: a Hugging Face hub cache snapshot (transformers names) is used in place",
  ignore,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "encodec_hub_" });
    try {
      const snap = join(tmp, "hub", "models--facebook--encodec_24khz", "snapshots", "0123abc");
      await Deno.mkdir(snap, { recursive: true });
      await Deno.copyFile(`${SUP}/tiny/weights.hf.safetensors`, join(snap, "model.safetensors"));
      const where = { cacheDir: join(tmp, "cache"), hfHubCache: join(tmp, "hub") };
      const codec = await (await getCodec("encodec-6kbps")).load({ ...where, offline: true, threads: 1 });
      try {
        assertStringIncludes(codec.source, snap);
        const e = await codec.encode((await npyF32(`${SUP}/tiny/inputs/noise_len4817.npy`)).data);
        assertClose("hub ehat_6", e.data, (await npyF32(`${SUP}/tiny/noise_len4817/ehat_6kbps.npy`)).data);
      } finally {
        codec.dispose();
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "encodec: official .th checkpoint (torch.save of the fixture state dict) loads through the unpickler",
  ignore: skipWithout(
    import.meta.url,
    "../shared fixtures or python3 + torch",
    ignore || !(await torchAvailable()),
  ),
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "encodec_th_" });
    try {
      await Deno.mkdir(join(tmp, "encodec_24khz"));
      await torchSaveFromSafetensors(
        `${DIR}/weights.safetensors`,
        join(tmp, "encodec_24khz", OFFICIAL_CHECKPOINT),
      );
      const codec = await (await getCodec("encodec-1.5kbps")).load({
        modelsDir: tmp,
        offline: true,
        threads: 1,
      });
      try {
        assertStringIncludes(codec.source, OFFICIAL_CHECKPOINT);
        // The .th carries no config: the fixture's 256-entry codebooks give 600 bit/s each → 2 codebooks.
        const e = await codec.encode((await npyF32(`${DIR}/input.npy`)).data);
        assertClose("ehat_1.5 via .th", e.data, (await npyF32(`${DIR}/ehat_1.5.npy`)).data);
      } finally {
        codec.dispose();
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
