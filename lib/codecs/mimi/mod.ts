/**
 * Mimi codec entries: `mimi` (8 codebooks, the default of moshi's `get_mimi` and of Moshi itself, 1.1 kbps)
 * and `mimi-all` (all 32 codebooks, 4.4 kbps). ê is T × 512 at 12.5 frames/s.
 */
import { graphCodecEntries } from "../nn/graph_codec.ts";
import type { CodecEntry } from "../types.ts";
import { MIMI } from "./model.ts";

export { MIMI_OFFICIAL_CONFIG, type MimiConfig, mimiConfigFrom, mimiHop } from "./config.ts";
export { buildMimiGraph, mimiAuxFeeds } from "./graph.ts";
export { MIMI } from "./model.ts";
export { loadMimiWeights, MIMI_CHECKPOINT, MIMI_URL, MIMI_WEIGHTS, readMimiWeights } from "./weights.ts";

export const MIMI_CODECS: CodecEntry[] = graphCodecEntries(MIMI, [
  { id: "mimi", nQ: 8 },
  { id: "mimi-all", nQ: 32 },
]);
