/**
 * SpeechTokenizer codecs for the registry: `speechtokenizer` (all 8 RVQ layers) and `speechtokenizer-1q`
 * (RVQ-1 only, the HuBERT-distilled "semantic" layer). ê is T × 1024 at 50 frames/s (16 kHz input).
 */
import { graphCodecEntries } from "../nn/graph_codec.ts";
import type { CodecEntry } from "../types.ts";
import { SPEECHTOKENIZER } from "./model.ts";

export const SPEECHTOKENIZER_CODECS: CodecEntry[] = graphCodecEntries(SPEECHTOKENIZER, [
  { id: "speechtokenizer", nQ: 8 },
  { id: "speechtokenizer-1q", nQ: 1 },
]);
