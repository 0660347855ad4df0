/**
 * DAC 24 kHz codec entries: `dac-24khz` (all 32 codebooks, 24 kbps, the default of `DAC.encode`) and
 * `dac-24khz-8q` (first 8 codebooks, 6 kbps). ê is T × 1024 at 75 frames/s.
 */
import { graphCodecEntries } from "../nn/graph_codec.ts";
import type { CodecEntry } from "../types.ts";
import { DAC } from "./model.ts";

export { DAC_24KHZ, type DacConfig, dacConfigFromKwargs, dacHop } from "./config.ts";
export { buildDacGraph } from "./graph.ts";
export { DAC } from "./model.ts";
export { DAC_CHECKPOINT, DAC_URL, DAC_WEIGHTS, loadDacWeights, readDacWeights } from "./weights.ts";

export const DAC_CODECS: CodecEntry[] = graphCodecEntries(DAC, [
  { id: "dac-24khz", nQ: 32 },
  { id: "dac-24khz-8q", nQ: 8 },
]);
