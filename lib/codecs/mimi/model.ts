/**
 * Mimi as a graph codec: `pad_for_conv1d` (right zero-pad to a multiple of the 1920-sample frame), then the
 * causal encoder, transformer, downsampling and split RVQ (codes row 0 semantic). ê =
 * `decode_latent(encode(x))`, T × 512 at 12.5 Hz; "latent" is `encode_to_latent(x, quantize=False)`.
 */
import { locationsOf } from "../../common/settings.ts";
import type { GraphFamily } from "../nn/graph_codec.ts";
import { MIMI_OFFICIAL_CONFIG, type MimiConfig, mimiConfigFrom, mimiEncoderHop, mimiHop } from "./config.ts";
import { buildMimiGraph, mimiAuxFeeds } from "./graph.ts";
import { loadMimiWeights, MIMI_CHECKPOINT, MIMI_HUB_REPO } from "./weights.ts";

export const MIMI: GraphFamily<MimiConfig> = {
  family: "mimi",
  label: "Mimi",
  source: `Kyutai Mimi ${MIMI_CHECKPOINT} (weights CC-BY 4.0, code MIT), huggingface.co/${MIMI_HUB_REPO}`,
  official: mimiConfigFrom(MIMI_OFFICIAL_CONFIG, "Mimi official config"),
  shape: (cfg) => ({
    sampleRate: cfg.sampleRate,
    dCodec: cfg.quantizer.outputDimension,
    frameRate: cfg.sampleRate / mimiHop(cfg),
    nQ: cfg.quantizer.nQ,
    codebookSize: cfg.quantizer.bins,
    padTo: mimiHop(cfg),
  }),
  loadWeights: (opts) =>
    loadMimiWeights({
      ...locationsOf(opts),
      modelsDir: opts.modelsDir,
      offline: opts.offline,
      quiet: opts.quiet,
    }),
  buildGraph: buildMimiGraph,
  auxFeeds: (cfg, samples) => mimiAuxFeeds(cfg, samples / mimiEncoderHop(cfg)),
};
