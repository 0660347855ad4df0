/**
 * SpeechTokenizer as a graph codec: the SEANet (BiLSTM) encoder + RVQ as one ONNX graph: audio [1, 1, L] at
 * 16 kHz → latent [T, D], codes, ê [T, D] = quantizer.decode(model.encode(x, n_q)) (time-major).
 */
import type { GraphFamily } from "../nn/graph_codec.ts";
import { buildSeanetRvqNet } from "../nn/seanet_rvq.ts";
import { frameRate, OFFICIAL_CONFIG, type SpeechTokenizerConfig } from "./config.ts";
import { loadSptWeights, OFFICIAL_URL } from "./weights.ts";

export const SPEECHTOKENIZER: GraphFamily<SpeechTokenizerConfig> = {
  family: "speechtokenizer",
  label: "SpeechTokenizer",
  source:
    `SpeechTokenizer (ZhangXInFD/SpeechTokenizer, code Apache-2.0), weights ${OFFICIAL_URL} (licence not stated)`,
  official: OFFICIAL_CONFIG,
  shape: (cfg) => ({
    sampleRate: cfg.sampleRate,
    dCodec: cfg.encoder.dimension,
    frameRate: frameRate(cfg),
    nQ: cfg.nQ,
    codebookSize: cfg.codebookSize,
    padTo: 1,
  }),
  loadWeights: loadSptWeights,
  buildGraph: (w, cfg, nq) => {
    if (nq < 1 || nq > cfg.nQ) throw new Error(`SpeechTokenizer: n_q ${nq} outside 1..${cfg.nQ}`);
    return buildSeanetRvqNet(
      "speechtokenizer",
      w,
      cfg.encoder,
      cfg.codebookSize,
      nq,
      "SpeechTokenizer weights",
    );
  },
};
