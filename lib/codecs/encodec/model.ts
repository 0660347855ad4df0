/**
 * EnCodec as a graph codec: the SEANet encoder + RVQ as one ONNX graph (audio [1, 1, L] → latent, codes, ê).
 * ê = quantizer.decode(quantizer.encode(encoder(wav), frame_rate, bandwidth)), time-major (T × 128).
 */
import type { GraphFamily } from "../nn/graph_codec.ts";
import { buildSeanetRvqNet } from "../nn/seanet_rvq.ts";
import { type EncodecConfig, frameRate, OFFICIAL_24KHZ } from "./config.ts";
import { loadEncodecWeights, OFFICIAL_URL } from "./weights.ts";

export const ENCODEC: GraphFamily<EncodecConfig> = {
  family: "encodec",
  label: "EnCodec",
  source: `EnCodec 24 kHz, facebookresearch/encodec (code MIT), weights ${OFFICIAL_URL} (licence not stated)`,
  official: OFFICIAL_24KHZ,
  shape: (cfg) => ({
    sampleRate: cfg.sampleRate,
    dCodec: cfg.encoder.dimension,
    frameRate: frameRate(cfg),
    nQ: cfg.nQ,
    codebookSize: cfg.bins,
    padTo: 1,
  }),
  loadWeights: loadEncodecWeights,
  buildGraph: (w, cfg, nq) => buildSeanetRvqNet("encodec", w, cfg.encoder, cfg.bins, nq, "EnCodec weights"),
};
