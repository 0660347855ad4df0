/**
 * Mimi parity against the official code's outputs (../shared/fixtures/codecs/mimi): 8 and all 32 codebooks, the
 * long clip (not a multiple of the 1920-sample frame) and the short one, codes compared except at the near-ties
 * that nn_gap marks; causality; the registry ids through `--models`; the Hugging Face transformers names
 * (kyutai/mimi, with its q/k RoPE permutation); a full-size 30 s run; offline errors.
 */
import { GraphRunner } from "../lib/codecs/nn/graph_codec.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { MIMI_OFFICIAL_CONFIG, mimiConfigFrom } from "../lib/codecs/mimi/config.ts";
import { MIMI } from "../lib/codecs/mimi/model.ts";
import { randomMimiWeights } from "../lib/codecs/mimi/random_weights.ts";
import { MIMI_CHECKPOINT, MIMI_URL, readMimiWeights } from "../lib/codecs/mimi/weights.ts";
import { floatData, type TensorMap } from "../lib/formats/safetensors.ts";
import { getCodec } from "../lib/codecs/registry.ts";
import { writeSafetensors } from "../lib/formats/safetensors.ts";
import { assertClose, CODEC_FIXTURES, npyF32 } from "./codecs_fixture_util.ts";
import { skipWithout } from "./tools.ts";

const DIR = CODEC_FIXTURES && `${CODEC_FIXTURES}/mimi`;
const ignore = skipWithout(import.meta.url, "../shared/fixtures/codecs", !DIR);

const fixtureWeights = () =>
  readMimiWeights("safetensors", [`${DIR}/weights.safetensors`, `${DIR}/config.json`]);

Deno.test({
  name: "mimi: causal — the short clip's full frames equal the long clip's first frames",
  ignore,
  fn: async () => {
    const { weights, config } = await fixtureWeights();
    const runner = await GraphRunner.create(MIMI, weights, config, 8, { threads: 1 });
    try {
      const long = await runner.run((await npyF32(`${DIR}/input.npy`)).data, ["latent", "codes"]);
      const short = await runner.run((await npyF32(`${DIR}/input_short.npy`)).data, ["latent", "codes"]);
      const full = 8; // 16667 samples: 8 full 1920-sample frames, the 9th zero-padded
      const D = short.latent!.cols;
      assertClose(
        "latent frames 0-7",
        short.latent!.data.subarray(0, full * D),
        long.latent!.data.subarray(0, full * D),
      );
      for (let q = 0; q < 8; q++) {
        for (let t = 0; t < full; t++) assertEquals(short.codes![q * 9 + t], long.codes![q * 29 + t]);
      }
    } finally {
      await runner.release();
    }
  },
});

Deno.test({
  name: "mimi: registry ids mimi / mimi-all load the fixture through --models (parent or the folder)",
  ignore,
  fn: async () => {
    for (
      const [id, variant, modelsDir] of [["mimi", "8", CODEC_FIXTURES], ["mimi-all", "all", DIR]] as const
    ) {
      const entry = await getCodec(id);
      assertEquals([entry.sampleRate, entry.dCodec, entry.frameRate], [24000, 512, 12.5]);
      assertEquals(entry.bitrateKbps, variant === "8" ? 1.1 : 4.4);
      const codec = await entry.load({ modelsDir, offline: true, threads: 1 });
      try {
        assertStringIncludes(codec.source, "weights.safetensors");
        const e = await codec.encode((await npyF32(`${DIR}/input_short.npy`)).data);
        assertEquals([e.rows, e.cols], [9, 64]);
        assertClose(`${id} ê`, e.data, (await npyF32(`${DIR}/ehat_${variant}_short.npy`)).data);
      } finally {
        codec.dispose();
      }
    }
  },
});

/** transformers' `permute` of q/k rows for its half-split RoPE: new (h, j, i) = old (h, i, j). */
function permuteRope(w: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const dh = rows / heads;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < dh / 2; i++) {
      for (let j = 0; j < 2; j++) {
        const src = h * dh + 2 * i + j;
        const dst = h * dh + j * (dh / 2) + i;
        out.set(w.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}

/** Official → transformers `MimiModel` names (the forward direction, independent of the loader's map). */
function toHf(w: TensorMap, heads: number): Record<string, { shape: number[]; data: Float32Array }> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, v] of w) {
    const data = floatData(v, k);
    if (k.startsWith("decoder") || k.startsWith("upsample")) continue;
    const attn = k.match(/^encoder_transformer\.transformer\.layers\.(\d+)\.self_attn\.in_proj_weight$/);
    if (attn) {
      const [rows3, cols] = v.shape;
      const rows = rows3 / 3;
      const p = `encoder_transformer.layers.${attn[1]}.self_attn`;
      out[`${p}.q_proj.weight`] = {
        shape: [rows, cols],
        data: permuteRope(data.subarray(0, rows * cols), rows, cols, heads),
      };
      out[`${p}.k_proj.weight`] = {
        shape: [rows, cols],
        data: permuteRope(data.subarray(rows * cols, 2 * rows * cols), rows, cols, heads),
      };
      out[`${p}.v_proj.weight`] = { shape: [rows, cols], data: data.slice(2 * rows * cols) };
      continue;
    }
    const name = k
      .replace(/^encoder\.model\.(\d+)\.(block\.\d+\.)?conv\.conv\./, "encoder.layers.$1.$2conv.")
      .replace(/^encoder_transformer\.transformer\.layers\./, "encoder_transformer.layers.")
      .replace(".norm1.", ".input_layernorm.").replace(".norm2.", ".post_attention_layernorm.")
      .replace(".linear1.", ".mlp.fc1.").replace(".linear2.", ".mlp.fc2.")
      .replace(".layer_scale_1.", ".self_attn_layer_scale.").replace(".layer_scale_2.", ".mlp_layer_scale.")
      .replace(".self_attn.out_proj.", ".self_attn.o_proj.")
      .replace("downsample.conv.conv.conv.", "downsample.conv.")
      .replace("quantizer.rvq_first.", "quantizer.semantic_residual_vector_quantizer.")
      .replace("quantizer.rvq_rest.", "quantizer.acoustic_residual_vector_quantizer.")
      .replace(/\.vq\.layers\.(\d+)\._codebook\./, ".layers.$1.codebook.")
      .replace("codebook.embedding_sum", "codebook.embed_sum").replace(
        "codebook._initialized",
        "codebook.initialized",
      );
    out[name] = { shape: v.shape, data };
  }
  return out;
}

Deno.test({
  name:
    "mimi: Hugging Face transformers names (kyutai/mimi layout, permuted q/k) map back to the official ones",
  ignore,
  fn: async () => {
    const { weights, config } = await fixtureWeights();
    const tmp = await Deno.makeTempDir({ prefix: "mimi_hf_" });
    try {
      const hf = toHf(weights, config.transformer.numHeads);
      assert("encoder_transformer.layers.1.self_attn.k_proj.weight" in hf);
      assert("quantizer.acoustic_residual_vector_quantizer.layers.30.codebook.embed_sum" in hf);
      await writeSafetensors(join(tmp, "model.safetensors"), hf);
      const { weights: mapped } = await readMimiWeights("hf", [join(tmp, "model.safetensors")]);
      const runner = await GraphRunner.create(MIMI, mapped, config, 32, { threads: 1 });
      const r = await runner.run((await npyF32(`${DIR}/input.npy`)).data, ["latent", "ehat"]);
      assertClose("latent via HF names", r.latent!.data, (await npyF32(`${DIR}/latent.npy`)).data);
      assertClose("ehat_all via HF names", r.ehat!.data, (await npyF32(`${DIR}/ehat_all.npy`)).data);
      await runner.release();
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("mimi: the full-size official architecture has the official parameter count", () => {
  // The 30 s run and its memory bound are in bench/codecs_full_size_bench.ts.
  const weights = randomMimiWeights(mimiConfigFrom(MIMI_OFFICIAL_CONFIG, "official"), 7);
  let params = 0;
  for (const [k, v] of weights) if (!k.includes("._codebook.")) params += v.data.length;
  assertEquals(params, 38_867_232 + 524_288); // encoder side + quantizer projections (README)
});

Deno.test({
  name: "mimi: missing weights offline → error naming the file and the URL",
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "mimi_missing_" });
    try {
      const where = { cacheDir: join(tmp, "cache"), hfHubCache: join(tmp, "hf") };
      const err = await assertRejects(() =>
        getCodec("mimi").then((e) => e.load({ ...where, modelsDir: tmp, offline: true }))
      );
      assertStringIncludes(err.message, MIMI_CHECKPOINT);
      assertStringIncludes(err.message, MIMI_URL);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
