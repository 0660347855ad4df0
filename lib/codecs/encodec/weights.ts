/**
 * EnCodec weights: our/fixture layout (`weights.safetensors` + `config.json`, official names), the official
 * checkpoint (`encodec_24khz-d7cc33bc.th`, a torch-saved state dict), or the Hugging Face transformers file
 * (`facebook/encodec_24khz` `model.safetensors`), whose names are mapped back to the official ones:
 *
 * | transformers (file / in memory)                       | official                                   |
 * | `encoder.layers.N.conv.*`                             | `encoder.model.N.conv.conv.*`              |
 * | `encoder.layers.N.block.J.conv.*`                     | `encoder.model.N.block.J.conv.conv.*`      |
 * | `encoder.layers.N.shortcut.conv.*`                    | `encoder.model.N.shortcut.conv.conv.*`     |
 * | `encoder.layers.N.lstm.*`                             | `encoder.model.N.lstm.*`                   |
 * | `quantizer.layers.I.codebook.*`                       | `quantizer.vq.layers.I._codebook.*`        |
 * | `*.parametrizations.weight.original0` / `original1`   | `*.weight_g` / `*.weight_v`                |
 * Decoder tensors are not needed for ê and are dropped.
 */
import { readJson } from "../../common/fs.ts";
import { encoderSubset, readTensorMap, type TensorMap } from "../../formats/safetensors.ts";
import { readTorchStateDict } from "../../formats/torch_pickle.ts";
import {
  type CodecWeightsSpec,
  resolveCodecWeights,
  type ResolveWeightsOptions,
} from "../nn/weights_resolve.ts";
import { configFromJson, configFromWeights, type EncodecConfig, OFFICIAL_24KHZ } from "./config.ts";

export const OFFICIAL_CHECKPOINT = "encodec_24khz-d7cc33bc.th";
export const OFFICIAL_URL = `https://dl.fbaipublicfiles.com/encodec/v0/${OFFICIAL_CHECKPOINT}`;

export const ENCODEC_WEIGHTS: CodecWeightsSpec<"safetensors" | "torch" | "hf"> = {
  folder: "encodec_24khz",
  layouts: [
    { kind: "safetensors", files: ["weights.safetensors", "config.json"] },
    { kind: "torch", files: [OFFICIAL_CHECKPOINT] },
    { kind: "hf", files: ["model.safetensors"] },
  ],
  hubRepo: { repo: "facebook/encodec_24khz", kind: "hf", files: ["model.safetensors"] },
  official: { kind: "torch", files: [{ path: OFFICIAL_CHECKPOINT, url: OFFICIAL_URL, sha256: "d7cc33bc" }] },
};

/** Maps a transformers EncodecModel name to the official one (undefined: not used for ê). */
export function officialName(hfName: string): string | undefined {
  const name = hfName.replace(".parametrizations.weight.original0", ".weight_g")
    .replace(".parametrizations.weight.original1", ".weight_v");
  let m = name.match(/^encoder\.layers\.(\d+)\.lstm\.(.+)$/);
  if (m) return `encoder.model.${m[1]}.lstm.${m[2]}`;
  m = name.match(/^encoder\.layers\.(\d+)\.(block\.\d+\.|shortcut\.)?conv\.(\w+)$/);
  if (m) return `encoder.model.${m[1]}.${m[2] ?? ""}conv.conv.${m[3]}`;
  m = name.match(/^quantizer\.layers\.(\d+)\.codebook\.(\w+)$/);
  if (m) return `quantizer.vq.layers.${m[1]}._codebook.${m[2]}`;
  return undefined;
}

/** Renames a transformers state dict to official names, keeping only what ê needs. */
export function fromHfNames(w: TensorMap): TensorMap {
  const out: TensorMap = new Map();
  for (const [k, v] of w) {
    const name = officialName(k);
    if (name) out.set(name, v);
  }
  return out;
}

export interface LoadedEncodecWeights {
  weights: TensorMap;
  config: EncodecConfig;
  /** Where they came from (file paths), for messages and listings. */
  source: string;
}

/** Reads weights from a resolved layout. */
export async function readEncodecWeights(
  kind: "safetensors" | "torch" | "hf",
  files: string[],
): Promise<LoadedEncodecWeights> {
  const source = files[0];
  if (kind === "safetensors") {
    let weights = await readTensorMap(files[0]);
    if (!weights.has("encoder.model.0.conv.conv.weight_v") && weights.has("encoder.layers.0.conv.weight_v")) {
      weights = fromHfNames(weights);
    }
    const base = files[1] ? configFromJson(await readJson(files[1]), files[1]) : OFFICIAL_24KHZ;
    return { weights: encoderSubset(weights), config: configFromWeights(base, weights, source), source };
  }
  const weights = kind === "torch"
    ? await readTorchStateDict(files[0])
    : fromHfNames(await readTensorMap(files[0]));
  return {
    weights: encoderSubset(weights),
    config: configFromWeights(OFFICIAL_24KHZ, weights, source),
    source,
  };
}

export async function loadEncodecWeights(opts: ResolveWeightsOptions = {}): Promise<LoadedEncodecWeights> {
  const r = await resolveCodecWeights(ENCODEC_WEIGHTS, opts);
  return await readEncodecWeights(r.kind, r.files);
}
