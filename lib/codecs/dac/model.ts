/**
 * DAC as a graph codec: `preprocess` (right zero-pad to a multiple of the hop), encoder, first n_q RVQ stages.
 * ê is `z` of the official `DAC.encode` (what `DAC.decode` consumes), time-major T × latent_dim; the extra
 * output "projLatents" is the per-stage in_proj outputs z_e side by side, T × (n_q · codebook_dim) (the
 * official `latents`).
 */
import { locationsOf } from "../../common/settings.ts";
import type { GraphFamily } from "../nn/graph_codec.ts";
import { DAC_24KHZ, type DacConfig, dacHop } from "./config.ts";
import { buildDacGraph } from "./graph.ts";
import { loadDacWeights } from "./weights.ts";

export const DAC: GraphFamily<DacConfig> = {
  family: "dac",
  label: "DAC",
  source: `descript-audio-codec 0.0.4 weights_24khz.pth (MIT), github.com/descriptinc/descript-audio-codec`,
  official: DAC_24KHZ,
  shape: (cfg) => ({
    sampleRate: cfg.sampleRate,
    dCodec: cfg.latentDim,
    frameRate: cfg.sampleRate / dacHop(cfg),
    nQ: cfg.nCodebooks,
    codebookSize: cfg.codebookSize,
    padTo: dacHop(cfg),
  }),
  loadWeights: (opts) =>
    loadDacWeights({
      ...locationsOf(opts),
      modelsDir: opts.modelsDir,
      offline: opts.offline,
      quiet: opts.quiet,
    }),
  buildGraph: buildDacGraph,
};
