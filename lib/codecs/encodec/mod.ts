/**
 * EnCodec 24 kHz codecs for the registry: ids `encodec-<bw>kbps` for the official target bandwidths (weights
 * resolved as in lib/codecs/nn/weights_resolve.ts, folder `encodec_24khz`).
 * ê (T × 128, 75 frames/s) = the dequantized RVQ output the decoder consumes; see README "Codecs".
 */
import { graphCodecEntries } from "../nn/graph_codec.ts";
import type { CodecEntry } from "../types.ts";
import { nqForBandwidth } from "./config.ts";
import { ENCODEC } from "./model.ts";

export const ENCODEC_CODECS: CodecEntry[] = graphCodecEntries(
  ENCODEC,
  [1.5, 3, 6, 12, 24].map((kbps) => ({
    id: `encodec-${kbps}kbps`,
    nQ: (cfg) => nqForBandwidth(cfg, kbps),
    bitrateKbps: kbps,
  })),
);
