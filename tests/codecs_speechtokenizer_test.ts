/**
 * SpeechTokenizer parity against the official code's outputs (../shared/fixtures/codecs/speechtokenizer):
 * 8 and 1 RVQ layers, long and short clip; the registry ids through --models; the official .pt format;
 * a full-size random-init model from the official config on 30 s of audio.
 */
import { GraphRunner } from "../lib/codecs/nn/graph_codec.ts";
import { assert, assertEquals, assertLess, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { OFFICIAL_CONFIG } from "../lib/codecs/speechtokenizer/config.ts";
import { SPEECHTOKENIZER } from "../lib/codecs/speechtokenizer/model.ts";
import { OFFICIAL_URL } from "../lib/codecs/speechtokenizer/weights.ts";
import { getCodec } from "../lib/codecs/registry.ts";
import { randomSeanetWeights } from "../lib/codecs/nn/seanet.ts";
import { assertClose, CODEC_FIXTURES, npyF32 } from "./codecs_fixture_util.ts";
import { skipWithout } from "./tools.ts";

const DIR = CODEC_FIXTURES && `${CODEC_FIXTURES}/speechtokenizer`;
const ignore = !DIR;

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

const PY = "/usr/bin/python3";
async function torchAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command(PY, { args: ["-c", "import torch"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

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
      const script = `
import json, sys, collections, numpy as np, torch
raw = open(sys.argv[1], "rb").read()
n = int.from_bytes(raw[:8], "little"); header = json.loads(raw[8:8 + n]); sd = collections.OrderedDict()
for k, v in header.items():
    if k == "__metadata__": continue
    a, b = v["data_offsets"]
    sd[k] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(v["shape"]).copy())
torch.save(sd, sys.argv[2])
`;
      const out = await new Deno.Command(PY, {
        args: ["-c", script, `${DIR}/weights.safetensors`, join(sub, "SpeechTokenizer.pt")],
      }).output();
      assert(out.success, new TextDecoder().decode(out.stderr));
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

Deno.test({
  name: "speechtokenizer: full-size official config, random weights, 30 s of audio (shapes, bounded memory)",
  fn: async () => {
    const cfg = OFFICIAL_CONFIG;
    const weights = randomSeanetWeights(cfg.encoder, cfg.nQ, cfg.codebookSize);
    const runner = await GraphRunner.create(SPEECHTOKENIZER, weights, cfg, 8);
    const audio = new Float32Array(30 * 16000 + 5);
    for (let i = 0; i < audio.length; i++) audio[i] = 0.3 * Math.sin(i * 0.05) * Math.sin(i * 0.001);
    const before = Deno.memoryUsage().rss;
    const r = await runner.run(audio, ["ehat", "codes"]);
    const grown = Deno.memoryUsage().rss - before;
    assertEquals([r.ehat!.rows, r.ehat!.cols], [Math.ceil(audio.length / 320), 1024]);
    assertEquals(r.codes!.length, 8 * 1501);
    assert(r.ehat!.data.every(Number.isFinite));
    assertLess(grown, 2e9, `RSS grew by ${(grown / 1e6).toFixed(0)} MB`);
    await runner.release();
  },
});
