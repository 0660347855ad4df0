/**
 * SpeechTokenizer weights: our/fixture layout (`weights.safetensors` + `config.json`, official names) or the
 * official checkpoint `speechtokenizer_hubert_avg/{SpeechTokenizer.pt, config.json}` from the Hugging Face repo
 * fnlp/SpeechTokenizer (a torch-saved state dict, read by the restricted unpickler).
 */
import { readJson } from "../../common/fs.ts";
import { encoderSubset, readTensorMap, type TensorMap } from "../../formats/safetensors.ts";
import { readTorchStateDict } from "../../formats/torch_pickle.ts";
import {
  type CodecWeightsSpec,
  resolveCodecWeights,
  type ResolveWeightsOptions,
} from "../nn/weights_resolve.ts";
import { configFromJson, type SpeechTokenizerConfig } from "./config.ts";

const HF = "https://huggingface.co/fnlp/SpeechTokenizer/resolve/main/speechtokenizer_hubert_avg";
export const OFFICIAL_URL = `${HF}/SpeechTokenizer.pt`;

export const SPT_WEIGHTS: CodecWeightsSpec<"safetensors" | "torch" | "torch-sub"> = {
  folder: "speechtokenizer",
  layouts: [
    { kind: "safetensors", files: ["weights.safetensors", "config.json"] },
    { kind: "torch", files: ["SpeechTokenizer.pt", "config.json"] },
    {
      kind: "torch-sub",
      files: ["speechtokenizer_hubert_avg/SpeechTokenizer.pt", "speechtokenizer_hubert_avg/config.json"],
    },
  ],
  hubRepo: {
    repo: "fnlp/SpeechTokenizer",
    kind: "torch-sub",
    files: ["speechtokenizer_hubert_avg/SpeechTokenizer.pt", "speechtokenizer_hubert_avg/config.json"],
  },
  official: {
    kind: "torch",
    files: [
      { path: "SpeechTokenizer.pt", url: OFFICIAL_URL },
      { path: "config.json", url: `${HF}/config.json` },
    ],
  },
};

export interface LoadedSptWeights {
  weights: TensorMap;
  config: SpeechTokenizerConfig;
  source: string;
}

export async function readSptWeights(kind: string, files: string[]): Promise<LoadedSptWeights> {
  const weights = kind === "safetensors" ? await readTensorMap(files[0]) : await readTorchStateDict(files[0]);
  const config = configFromJson(await readJson(files[1]), files[1]);
  return { weights: encoderSubset(weights), config, source: files[0] };
}

export async function loadSptWeights(opts: ResolveWeightsOptions = {}): Promise<LoadedSptWeights> {
  const r = await resolveCodecWeights(SPT_WEIGHTS, opts);
  return await readSptWeights(r.kind, r.files);
}
