/**
 * SpeechTokenizer parity against the official code's outputs (../shared/fixtures/codecs/speechtokenizer):
 * 8 and 1 RVQ layers, long and short clip; the registry ids through --models; the official .pt format;
 * a full-size random-init model from the official config on 30 s of audio.
 */
import { assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { OFFICIAL_URL } from "../lib/codecs/speechtokenizer/weights.ts";
import { getCodec } from "../lib/codecs/registry.ts";
import { assertClose, CODEC_FIXTURES, npyF32 } from "./codecs_fixture_util.ts";
import { skipWithout, torchAvailable, torchSaveFromSafetensors } from "./tools.ts";

const DIR = CODEC_FIXTURES && `${CODEC_FIXTURES}/speechtokenizer`;
const ignore = skipWithout(import.meta.url, "../shared/fixtures/codecs", !DIR);

Deno.test({
  name: "speechtokenizer: registry ids through --models (speechtokenizer, speechtokenizer-1q)",
  ignore,
  fn: async () => {
    for (const [id, nq] of [["speechtokenizer", 8], ["speechtokenizer-1q", 1]] as const) {
      const entry = await getCodec(id);
      assertEquals([entry.sampleRate, entry.dCodec, entry.frameRate], [16000, 1024, 50]);
      const codec = await entry.load({ modelsDir: CODEC_FIXTURES, offline: true, threads: 1 });
      try {
        const e = await codec.encode((await npyF32(`${DIR}/input_short.npy`)).data);
        assertEquals([e.rows, e.cols], [35, 96]);
        assertClose(`${id} ê`, e.data, (await npyF32(`${DIR}/ehat_${nq}_short.npy`)).data);
      } finally {
        codec.dispose();
      }
    }
  },
});

Deno.test({
  name: "speechtokenizer: missing weights offline → error naming the file and the URL",
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "spt_missing_" });
    try {
      const where = { cacheDir: join(tmp, "cache"), hfHubCache: join(tmp, "hf") };
      const err = await assertRejects(() =>
        getCodec("speechtokenizer").then((e) => e.load({ ...where, offline: true }))
      );
      assertStringIncludes(err.message, "SpeechTokenizer.pt");
      assertStringIncludes(err.message, OFFICIAL_URL);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "speechtokenizer: official layout speechtokenizer_hubert_avg/{SpeechTokenizer.pt, config.json}",
  ignore: skipWithout(
    import.meta.url,
    "../shared fixtures or python3 + torch",
    ignore || !(await torchAvailable()),
  ),
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "spt_pt_" });
    try {
      const sub = join(tmp, "speechtokenizer", "speechtokenizer_hubert_avg");
      await Deno.mkdir(sub, { recursive: true });
      await Deno.copyFile(`${DIR}/config.json`, join(sub, "config.json"));
      await torchSaveFromSafetensors(`${DIR}/weights.safetensors`, join(sub, "SpeechTokenizer.pt"));
      const codec = await (await getCodec("speechtokenizer")).load({
        modelsDir: tmp,
        offline: true,
        threads: 1,
      });
      try {
        assertStringIncludes(codec.source, "SpeechTokenizer.pt");
        const e = await codec.encode((await npyF32(`${DIR}/input.npy`)).data);
        assertClose("ehat_8 via .pt", e.data, (await npyF32(`${DIR}/ehat_8.npy`)).data);
      } finally {
        codec.dispose();
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
