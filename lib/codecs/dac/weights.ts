/**
 * DAC weights, in any of three layouts (searched by `resolveCodecWeights`, folder `dac_24khz`):
 * - `weights.safetensors` + `config.json`: official tensor names; the config holds the `DAC(...)` arguments
 *   under `constructor_args` (the reference fixtures) or `kwargs`;
 * - `weights_24khz.pth`: the official checkpoint (descript-audio-codec release 0.0.4, MIT), a torch pickle
 *   `{"state_dict": ..., "metadata": {"kwargs": ...}}` read by the restricted unpickler;
 * - `model.safetensors` (+ optional config.json): the Hugging Face transformers port `descript/dac_24khz`,
 *   whose names are mapped back to the official ones:
 *
 * | transformers (`DacModel`)                               | official (`dac.model.DAC`)                     |
 * | `encoder.conv1.*`                                       | `encoder.block.0.*`                            |
 * | `encoder.block.B.res_unit{J+1}.snake1.alpha`            | `encoder.block.{B+1}.block.J.block.0.alpha`    |
 * | `encoder.block.B.res_unit{J+1}.conv1.*` / `.snake2` / `.conv2.*` | `….block.J.block.1.*` / `.block.2` / `.block.3.*` |
 * | `encoder.block.B.snake1.alpha` / `encoder.block.B.conv1.*` | `encoder.block.{B+1}.block.3.alpha` / `.block.4.*` |
 * | `encoder.snake1.alpha` / `encoder.conv2.*`              | `encoder.block.{n+1}.alpha` / `encoder.block.{n+2}.*` (n strides) |
 * | `quantizer.quantizers.I.{in_proj,out_proj,codebook}.*`  | same                                           |
 * | `*.parametrizations.weight.original0` / `original1`     | `*.weight_g` / `*.weight_v` (also accepted as is) |
 * Decoder tensors are not needed for ê and are dropped.
 */
import { readJson } from "../../common/fs.ts";
import { readTensorMap, type TensorMap } from "../../formats/safetensors.ts";
import { readTorchCheckpoint, stateDictOf } from "../../formats/torch_pickle.ts";
import {
  type CodecWeightsSpec,
  resolveCodecWeights,
  type ResolveWeightsOptions,
} from "../nn/weights_resolve.ts";
import { DAC_24KHZ, type DacConfig, dacConfigFromKwargs } from "./config.ts";

export const DAC_CHECKPOINT = "weights_24khz.pth";
export const DAC_URL =
  `https://github.com/descriptinc/descript-audio-codec/releases/download/0.0.4/${DAC_CHECKPOINT}`;

export type DacLayout = "safetensors" | "torch" | "hf";

export const DAC_WEIGHTS: CodecWeightsSpec<DacLayout> = {
  folder: "dac_24khz",
  layouts: [
    { kind: "safetensors", files: ["weights.safetensors", "config.json"] },
    { kind: "torch", files: [DAC_CHECKPOINT] },
    // The official package's own cache name (`python3 -m dac download`), when a user copies that folder.
    { kind: "torch", files: ["weights_24khz_8kbps_0.0.4.pth"] },
    { kind: "hf", files: ["model.safetensors"] },
  ],
  hubRepo: { repo: "descript/dac_24khz", kind: "hf", files: ["model.safetensors"] },
  official: { kind: "torch", files: [{ path: DAC_CHECKPOINT, url: DAC_URL }] },
};

/** Maps a transformers `DacModel` tensor name to the official one (undefined: not needed for ê). */
export function dacOfficialName(hfName: string, nStrides: number): string | undefined {
  const name = hfName.replace(".parametrizations.weight.original0", ".weight_g")
    .replace(".parametrizations.weight.original1", ".weight_v");
  if (name.startsWith("quantizer.")) return name;
  let m = name.match(/^encoder\.conv1\.(\w+)$/);
  if (m) return `encoder.block.0.${m[1]}`;
  m = name.match(/^encoder\.block\.(\d+)\.res_unit(\d)\.(snake1|conv1|snake2|conv2)\.(\w+)$/);
  if (m) {
    const idx = { snake1: 0, conv1: 1, snake2: 2, conv2: 3 }[m[3] as "snake1"];
    return `encoder.block.${Number(m[1]) + 1}.block.${Number(m[2]) - 1}.block.${idx}.${m[4]}`;
  }
  m = name.match(/^encoder\.block\.(\d+)\.(snake1|conv1)\.(\w+)$/);
  if (m) return `encoder.block.${Number(m[1]) + 1}.block.${m[2] === "snake1" ? 3 : 4}.${m[3]}`;
  m = name.match(/^encoder\.(snake1|conv2)\.(\w+)$/);
  if (m) return `encoder.block.${nStrides + (m[1] === "snake1" ? 1 : 2)}.${m[2]}`;
  return undefined;
}

export function fromHfNames(w: TensorMap, nStrides: number): TensorMap {
  const out: TensorMap = new Map();
  for (const [k, v] of w) {
    const name = dacOfficialName(k, nStrides);
    if (name) out.set(name, v);
  }
  return out;
}

export interface LoadedDacWeights {
  weights: TensorMap;
  config: DacConfig;
  /** The file the weights came from. */
  source: string;
}

function kwargsOfConfigJson(raw: unknown, path: string): Record<string, unknown> {
  if (!raw || typeof raw !== "object") throw new Error(`${path}: not a JSON object`);
  const o = raw as Record<string, unknown>;
  const kw = o.constructor_args ?? o.kwargs ?? o;
  if (!kw || typeof kw !== "object") throw new Error(`${path}: no DAC constructor arguments`);
  return kw as Record<string, unknown>;
}

/** The `metadata.kwargs` of an official checkpoint (plain values after the restricted unpickle). */
function kwargsOfCheckpoint(obj: unknown, path: string): Record<string, unknown> | undefined {
  if (!(obj instanceof Map)) return undefined;
  const meta = obj.get("metadata");
  const kw = meta instanceof Map ? meta.get("kwargs") : undefined;
  if (!(kw instanceof Map)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of kw) out[String(k)] = v;
  if (typeof out.encoder_rates !== "object") {
    throw new Error(`${path}: metadata.kwargs.encoder_rates is not a list`);
  }
  return out;
}

/** Drops what ê does not need (the decoder: 52 M of the 75 M parameters). */
function encoderSide(w: TensorMap): TensorMap {
  for (const k of [...w.keys()]) if (!k.startsWith("encoder.") && !k.startsWith("quantizer.")) w.delete(k);
  return w;
}

/** Reads a resolved layout into official-named tensors and the model config. */
export async function readDacWeights(kind: DacLayout, files: string[]): Promise<LoadedDacWeights> {
  const source = files[0];
  if (kind === "torch") {
    const obj = await readTorchCheckpoint(source);
    const kw = kwargsOfCheckpoint(obj, source);
    return {
      weights: encoderSide(stateDictOf(obj, source)),
      config: kw ? dacConfigFromKwargs(kw, source) : DAC_24KHZ,
      source,
    };
  }
  const configPath = files[1];
  const config = configPath
    ? dacConfigFromKwargs(kwargsOfConfigJson(await readJson(configPath), configPath), configPath)
    : DAC_24KHZ;
  let weights = await readTensorMap(source);
  if ([...weights.keys()].some((k) => k.startsWith("encoder.conv1."))) {
    weights = fromHfNames(weights, config.encoderRates.length);
  }
  return { weights: encoderSide(weights), config, source };
}

export async function loadDacWeights(opts: ResolveWeightsOptions = {}): Promise<LoadedDacWeights> {
  const r = await resolveCodecWeights(DAC_WEIGHTS, opts);
  return await readDacWeights(r.kind, r.files);
}
