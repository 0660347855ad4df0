/**
 * Mimi weights, in any of three layouts (searched by `resolveCodecWeights`, folder `mimi`):
 * - `weights.safetensors` + `config.json`: official tensor names and a `mimi_config` (the reference fixtures;
 *   the config may also sit under a `mimi_config` key);
 * - `tokenizer-e351c8d8-checkpoint125.safetensors`: the official checkpoint from `kyutai/moshiko-pytorch-bf16`
 *   (weights CC-BY 4.0), with the official full-size config;
 * - `model.safetensors`: the Hugging Face transformers port `kyutai/mimi`, mapped back to the official names:
 *
 * | transformers (`MimiModel`)                                         | official (moshi)                                  |
 * | `encoder.layers.N.conv.*`, `encoder.layers.N.block.J.conv.*`       | `encoder.model.N.conv.conv.*`, `….block.J.conv.conv.*` |
 * | `encoder_transformer.layers.I.input_layernorm` / `post_attention_layernorm` | `encoder_transformer.transformer.layers.I.norm1` / `norm2` |
 * | `….self_attn.{q,k,v}_proj.weight` (q, k permuted to half-split RoPE) | `….self_attn.in_proj_weight` (q, k un-permuted to interleaved pairs, then q|k|v) |
 * | `….self_attn.o_proj`, `….mlp.fc1` / `fc2`                          | `….self_attn.out_proj`, `….linear1` / `linear2`    |
 * | `….self_attn_layer_scale.scale` / `mlp_layer_scale.scale`          | `….layer_scale_1.scale` / `layer_scale_2.scale`    |
 * | `downsample.conv.weight`                                           | `downsample.conv.conv.conv.weight`                |
 * | `quantizer.semantic_residual_vector_quantizer.*` / `acoustic_…`    | `quantizer.rvq_first.*` / `quantizer.rvq_rest.*`  |
 * | `….layers.L.codebook.embed_sum` / `cluster_usage` / `initialized`  | `….vq.layers.L._codebook.embedding_sum` / `cluster_usage` / `_initialized` |
 * Decoder-side tensors are not needed for ê and are dropped.
 */
import { readJson } from "../../common/fs.ts";
import { floatData, readTensorMap, type TensorMap } from "../../formats/safetensors.ts";
import {
  type CodecWeightsSpec,
  resolveCodecWeights,
  type ResolveWeightsOptions,
} from "../nn/weights_resolve.ts";
import { MIMI_OFFICIAL_CONFIG, type MimiConfig, mimiConfigFrom } from "./config.ts";

export const MIMI_CHECKPOINT = "tokenizer-e351c8d8-checkpoint125.safetensors";
export const MIMI_HUB_REPO = "kyutai/moshiko-pytorch-bf16";
export const MIMI_URL = `https://huggingface.co/${MIMI_HUB_REPO}/resolve/main/${MIMI_CHECKPOINT}`;

export type MimiLayout = "safetensors" | "official" | "hf";

export const MIMI_WEIGHTS: CodecWeightsSpec<MimiLayout> = {
  folder: "mimi",
  layouts: [
    { kind: "safetensors", files: ["weights.safetensors", "config.json"] },
    { kind: "official", files: [MIMI_CHECKPOINT] },
    { kind: "hf", files: ["model.safetensors"] },
  ],
  hubRepo: { repo: MIMI_HUB_REPO, kind: "official", files: [MIMI_CHECKPOINT] },
  official: { kind: "official", files: [{ path: MIMI_CHECKPOINT, url: MIMI_URL }] },
};

/** Inverse of transformers' RoPE permutation of q/k rows: half-split (h, j, i) → interleaved (h, i, j). */
function unpermuteRope(w: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const dh = rows / heads;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < dh / 2; i++) {
        const src = h * dh + j * (dh / 2) + i;
        const dst = h * dh + 2 * i + j;
        out.set(w.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}

/** Maps a transformers `MimiModel` name to the official one (undefined: not needed for ê or handled apart). */
export function mimiOfficialName(hf: string): string | undefined {
  let m = hf.match(/^encoder\.layers\.(\d+)\.(block\.\d+\.)?conv\.(\w+)$/);
  if (m) return `encoder.model.${m[1]}.${m[2] ?? ""}conv.conv.${m[3]}`;
  m = hf.match(/^encoder_transformer\.layers\.(\d+)\.(.+)$/);
  if (m) {
    const rest = ({
      "input_layernorm.weight": "norm1.weight",
      "input_layernorm.bias": "norm1.bias",
      "post_attention_layernorm.weight": "norm2.weight",
      "post_attention_layernorm.bias": "norm2.bias",
      "mlp.fc1.weight": "linear1.weight",
      "mlp.fc2.weight": "linear2.weight",
      "self_attn_layer_scale.scale": "layer_scale_1.scale",
      "mlp_layer_scale.scale": "layer_scale_2.scale",
      "self_attn.o_proj.weight": "self_attn.out_proj.weight",
    } as Record<string, string>)[m[2]];
    return rest ? `encoder_transformer.transformer.layers.${m[1]}.${rest}` : undefined;
  }
  if (hf === "downsample.conv.weight") return "downsample.conv.conv.conv.weight";
  m = hf.match(/^quantizer\.(semantic|acoustic)_residual_vector_quantizer\.(.+)$/);
  if (m) {
    const rest = m[2].replace(/^layers\.(\d+)\.codebook\./, "vq.layers.$1._codebook.")
      .replace("._codebook.embed_sum", "._codebook.embedding_sum")
      .replace("._codebook.initialized", "._codebook._initialized");
    return `quantizer.${m[1] === "semantic" ? "rvq_first" : "rvq_rest"}.${rest}`;
  }
  return undefined;
}

/** Renames a transformers state dict to official names, re-fusing q/k/v (with RoPE un-permutation). */
export function fromHfNames(w: TensorMap, heads: number): TensorMap {
  const out: TensorMap = new Map();
  const qkv = new Map<string, Record<string, { data: Float32Array; shape: number[] }>>();
  for (const [k, v] of w) {
    const m = k.match(/^encoder_transformer\.layers\.(\d+)\.self_attn\.([qkv])_proj\.weight$/);
    if (m) {
      const entry = qkv.get(m[1]) ?? {};
      entry[m[2]] = { data: floatData(v, k), shape: v.shape };
      qkv.set(m[1], entry);
      continue;
    }
    const name = mimiOfficialName(k);
    if (name) out.set(name, v);
  }
  for (const [layer, parts] of qkv) {
    const { q, k, v } = parts;
    if (!q || !k || !v) throw new Error(`Mimi transformers weights: layer ${layer} lacks one of q/k/v_proj`);
    const [rows, cols] = q.shape;
    const fused = new Float32Array(3 * rows * cols);
    fused.set(unpermuteRope(q.data, rows, cols, heads), 0);
    fused.set(unpermuteRope(k.data, rows, cols, heads), rows * cols);
    fused.set(v.data, 2 * rows * cols);
    out.set(`encoder_transformer.transformer.layers.${layer}.self_attn.in_proj_weight`, {
      dtype: "F32",
      shape: [3 * rows, cols],
      data: fused,
    });
  }
  return out;
}

export interface LoadedMimiWeights {
  weights: TensorMap;
  config: MimiConfig;
  source: string;
}

export async function readMimiWeights(kind: MimiLayout, files: string[]): Promise<LoadedMimiWeights> {
  const source = files[0];
  let config: MimiConfig;
  if (kind === "safetensors") {
    const raw = (await readJson(files[1])) as Record<string, unknown>;
    const cfg = (raw.mimi_config ?? raw) as Record<string, unknown>;
    config = mimiConfigFrom(cfg, files[1]);
  } else {
    config = mimiConfigFrom(MIMI_OFFICIAL_CONFIG, "Mimi official config");
  }
  let weights = await readTensorMap(source);
  if ([...weights.keys()].some((k) => k.startsWith("encoder.layers."))) {
    weights = fromHfNames(weights, config.transformer.numHeads);
  }
  // Only the encoder side is needed for ê (the decoder, its transformer and the upsampler are dropped).
  for (const k of [...weights.keys()]) {
    if (!/^(encoder\.|encoder_transformer\.|downsample\.|quantizer\.)/.test(k)) weights.delete(k);
  }
  return { weights, config, source };
}

export async function loadMimiWeights(opts: ResolveWeightsOptions = {}): Promise<LoadedMimiWeights> {
  const r = await resolveCodecWeights(MIMI_WEIGHTS, opts);
  return await readMimiWeights(r.kind, r.files);
}
