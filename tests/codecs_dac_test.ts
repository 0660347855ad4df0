/**
 * DAC 24 kHz parity against the official code's outputs (../shared/fixtures/codecs/dac_24khz): all 32 and 8
 * codebooks, the long clip (not a multiple of the hop) and the short one; the registry ids through `--models`;
 * the Hugging Face transformers names and the official `.pth` layout; a full-size 30 s run; offline errors.
 */
import { GraphRunner } from "../lib/codecs/nn/graph_codec.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { DAC_24KHZ, dacConfigFromKwargs } from "../lib/codecs/dac/config.ts";
import { buildDacGraph } from "../lib/codecs/dac/graph.ts";
import { DAC } from "../lib/codecs/dac/model.ts";
import { createSession, runSession } from "../lib/formats/onnx.ts";
import { randomDacWeights } from "../lib/codecs/dac/random_weights.ts";
import { DAC_CHECKPOINT, DAC_URL, dacOfficialName, readDacWeights } from "../lib/codecs/dac/weights.ts";
import type { TensorMap } from "../lib/formats/safetensors.ts";
import { getCodec } from "../lib/codecs/registry.ts";
import { writeSafetensors } from "../lib/formats/safetensors.ts";
import { assertClose, CODEC_FIXTURES, npyF32 } from "./codecs_fixture_util.ts";
import { skipWithout, torchAvailable, torchSaveFromSafetensors } from "./tools.ts";

const DIR = CODEC_FIXTURES && `${CODEC_FIXTURES}/dac_24khz`;
const ignore = skipWithout(import.meta.url, "../shared/fixtures/codecs", !DIR);

const fixtureWeights = () =>
  readDacWeights("safetensors", [`${DIR}/weights.safetensors`, `${DIR}/config.json`]);

Deno.test({
  name: "dac: registry ids dac-24khz / dac-24khz-8q load the fixture through --models (parent or the folder)",
  ignore,
  fn: async () => {
    for (
      const [id, variant, modelsDir] of [["dac-24khz", "all", CODEC_FIXTURES], [
        "dac-24khz-8q",
        "8",
        DIR,
      ]] as const
    ) {
      const entry = await getCodec(id);
      assertEquals([entry.sampleRate, entry.dCodec, entry.frameRate], [24000, 1024, 75]);
      assertEquals(entry.bitrateKbps, variant === "all" ? 24 : 6);
      const codec = await entry.load({ modelsDir, offline: true, threads: 1 });
      try {
        assertStringIncludes(codec.source, "weights.safetensors");
        const e = await codec.encode((await npyF32(`${DIR}/input_short.npy`)).data);
        assertEquals([e.rows, e.cols], [53, 64]);
        assertClose(`${id} ê`, e.data, (await npyF32(`${DIR}/ehat_${variant}_short.npy`)).data);
      } finally {
        codec.dispose();
      }
    }
  },
});

Deno.test({
  name: "dac: Snake folded into the convs equals the official form, including the tiny-α fallback",
  ignore,
  fn: async () => {
    const { weights, config } = await fixtureWeights();
    const audio = (await npyF32(`${DIR}/input_short.npy`)).data;
    const run = async (w: TensorMap, foldSnake: boolean) => {
      const net = buildDacGraph(w, config, 8, { foldSnake });
      const session = await createSession(net.finish(), { threads: 1 });
      const padded = new Float32Array(Math.ceil(audio.length / 320) * 320);
      padded.set(audio);
      const r = await runSession(session, net.feeds(padded), ["latent"]);
      await session.release();
      return r.latent.data as Float32Array;
    };
    // The official (unfolded) form alone matches the fixture too.
    assertClose(
      "latent_short, unfolded Snake",
      await run(weights, false),
      (await npyF32(`${DIR}/latent_short.npy`)).data,
    );
    // α = 0 (where only the official form is defined: the 1e-9 keeps y = x) and tiny α in some layers.
    const edited: TensorMap = new Map(weights);
    for (
      const [name, v] of [["encoder.block.1.block.0.block.0.alpha", 0], [
        "encoder.block.2.block.1.block.2.alpha",
        1e-5,
      ]] as const
    ) {
      const t = weights.get(name)!;
      const data = Float32Array.from(t.data as Float32Array);
      data[1] = v;
      edited.set(name, { ...t, data });
    }
    const folded = await run(edited, true);
    assert(folded.every(Number.isFinite));
    assertClose("folded vs unfolded with tiny α", folded, await run(edited, false), 1e-5);
  },
});

/** Official → transformers `DacModel` names (the forward direction, written independently of the loader's map). */
function toHfName(name: string): string {
  const n = 4; // strides
  return name
    .replace(/^encoder\.block\.0\./, "encoder.conv1.")
    .replace(
      /^encoder\.block\.(\d)\.block\.(\d)\.block\.(\d)\./,
      (_, b, j, k) =>
        `encoder.block.${b - 1}.res_unit${Number(j) + 1}.${["snake1", "conv1", "snake2", "conv2"][k]}.`,
    )
    .replace(/^encoder\.block\.(\d)\.block\.3\./, (_, b) => `encoder.block.${b - 1}.snake1.`)
    .replace(/^encoder\.block\.(\d)\.block\.4\./, (_, b) => `encoder.block.${b - 1}.conv1.`)
    .replace(new RegExp(`^encoder\\.block\\.${n + 1}\\.`), "encoder.snake1.")
    .replace(new RegExp(`^encoder\\.block\\.${n + 2}\\.`), "encoder.conv2.")
    .replace(".weight_g", ".parametrizations.weight.original0")
    .replace(".weight_v", ".parametrizations.weight.original1");
}

Deno.test({
  name: "dac: Hugging Face transformers names (descript/dac_24khz layout) map back to the official ones",
  ignore,
  fn: async () => {
    const { weights } = await fixtureWeights();
    const hf: TensorMap = new Map();
    for (const [k, v] of weights) if (!k.startsWith("decoder.")) hf.set(toHfName(k), v);
    assert(hf.has("encoder.block.3.res_unit3.conv2.parametrizations.weight.original1"));
    assertEquals(dacOfficialName("encoder.snake1.alpha", 4), "encoder.block.5.alpha");
    const tmp = await Deno.makeTempDir({ prefix: "dac_hf_" });
    try {
      await writeSafetensors(join(tmp, "model.safetensors"), Object.fromEntries(hf));
      const { weights: mapped, config } = await readDacWeights("hf", [join(tmp, "model.safetensors")]);
      assertEquals(config, DAC_24KHZ); // no config beside the file: the official one
      const fixtureCfg = dacConfigFromKwargs({
        ...JSON.parse(await Deno.readTextFile(`${DIR}/config.json`)).constructor_args,
      }, "fixture");
      const runner = await GraphRunner.create(DAC, mapped, fixtureCfg, 8, { threads: 1 });
      const r = await runner.run((await npyF32(`${DIR}/input_short.npy`)).data, ["ehat"]);
      assertClose("ehat_8_short via HF names", r.ehat!.data, (await npyF32(`${DIR}/ehat_8_short.npy`)).data);
      await runner.release();
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "dac: official .pth layout ({state_dict, metadata.kwargs}, torch.save) loads through the unpickler",
  ignore: skipWithout(
    import.meta.url,
    "../shared fixtures or python3 + torch",
    ignore || !(await torchAvailable()),
  ),
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "dac_pth_" });
    try {
      await Deno.mkdir(join(tmp, "dac_24khz"));
      await torchSaveFromSafetensors(
        `${DIR}/weights.safetensors`,
        join(tmp, "dac_24khz", DAC_CHECKPOINT),
        `${DIR}/config.json`,
      );
      const codec = await (await getCodec("dac-24khz")).load({ modelsDir: tmp, offline: true, threads: 1 });
      try {
        assertStringIncludes(codec.source, DAC_CHECKPOINT);
        assertEquals(codec.dCodec, 64); // from metadata.kwargs
        const e = await codec.encode((await npyF32(`${DIR}/input.npy`)).data);
        assertClose("ehat_all via .pth", e.data, (await npyF32(`${DIR}/ehat_all.npy`)).data);
      } finally {
        codec.dispose();
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("dac: the full-size official architecture has the official parameter counts", () => {
  // The 30 s run and its memory bound are in bench/codecs_full_size_bench.ts.
  const weights = randomDacWeights(DAC_24KHZ, 7);
  let encoder = 0;
  let quantizer = 0;
  for (const [k, v] of weights) {
    k.startsWith("encoder.") ? (encoder += v.data.length) : (quantizer += v.data.length);
  }
  assertEquals([encoder, quantizer], [21_521_536, 852_480]); // the README's parameter counts
});

Deno.test({
  name: "dac: missing weights offline → error naming the file and the URL",
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "dac_missing_" });
    try {
      const where = { cacheDir: join(tmp, "cache"), hfHubCache: join(tmp, "hf") };
      const err = await assertRejects(() =>
        getCodec("dac-24khz").then((e) => e.load({ ...where, modelsDir: tmp, offline: true }))
      );
      assertStringIncludes(err.message, DAC_CHECKPOINT);
      assertStringIncludes(err.message, DAC_URL);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
