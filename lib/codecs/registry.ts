/**
 * Codec ids → implementations. Built-in families register their entries here; codecs exported to ONNX
 * with a JSON sidecar are discovered from a models directory at run time (see `lib/codecs/onnx`).
 */
import { homesOf, howToPoint } from "../common/settings.ts";
import { type CodecEntry, type CodecGroup, type LoadOptions, singleCodecGroup } from "./types.ts";
import { LYRA_CODECS } from "./lyra/mod.ts";
import { ENCODEC_CODECS } from "./encodec/mod.ts";
import { SPEECHTOKENIZER_CODECS } from "./speechtokenizer/mod.ts";
import { DAC_CODECS } from "./dac/mod.ts";
import { MIMI_CODECS } from "./mimi/mod.ts";
import { discoverOnnxCodecs } from "./onnx/mod.ts";

const BUILTIN: CodecEntry[] = [
  // Each family module exports its entries; keep one line per family.
  ...LYRA_CODECS,
  ...ENCODEC_CODECS,
  ...SPEECHTOKENIZER_CODECS,
  ...DAC_CODECS,
  ...MIMI_CODECS,
];

export function builtinCodecs(): CodecEntry[] {
  return [...BUILTIN];
}

/** All codec entries: built-in plus ONNX sidecars found in the models directory. */
export async function listCodecs(opts: LoadOptions = {}): Promise<CodecEntry[]> {
  const extra = await discoverExternal(opts);
  return [...BUILTIN, ...extra];
}

export async function getCodec(id: string, opts: LoadOptions = {}): Promise<CodecEntry> {
  const all = await listCodecs(opts);
  const entry = all.find((c) => c.id === id);
  if (!entry) {
    throw new Error(
      `unknown codec id '${id}'. Known ids: ${
        all.map((c) => c.id).join(", ")
      }. A codec exported to ONNX is ` +
        `known by its sidecar (NAME.onnx + NAME.json): ${howToPoint("models", "them")}`,
    );
  }
  return entry;
}

/** ONNX codecs: sidecars in the explicit models directory, then NAC_SAE_MODELS, then ../shared/models. */
async function discoverExternal(opts: LoadOptions): Promise<CodecEntry[]> {
  const dirs = [opts.modelsDir, ...homesOf(opts, "models")].filter((d): d is string => !!d);
  const taken = new Set(BUILTIN.map((c) => c.id));
  const found: CodecEntry[] = [];
  for (const dir of new Set(dirs)) found.push(...await discoverOnnxCodecs(dir, taken, opts.quiet));
  return found;
}

/**
 * Splits codec ids into the groups that encode together: ids whose entries share an encoder pass (same
 * `shared.key`, e.g. Lyra's three bitrates) form one group; every other id is a group of its own. Groups keep
 * the order of first appearance.
 */
export async function codecGroups(ids: string[], opts: LoadOptions = {}): Promise<string[][]> {
  const groups: string[][] = [];
  const byKey = new Map<string, string[]>();
  for (const id of new Set(ids)) {
    const key = (await getCodec(id, opts)).shared?.key;
    const group = key === undefined ? undefined : byKey.get(key);
    if (group) {
      group.push(id);
      continue;
    }
    const fresh = [id];
    if (key !== undefined) byKey.set(key, fresh);
    groups.push(fresh);
  }
  return groups;
}

/** Loads codecs that encode together (one of `codecGroups`' groups): the shared loader, else one codec. */
export async function loadCodecGroup(ids: string[], opts: LoadOptions = {}): Promise<CodecGroup> {
  const entries = await Promise.all(ids.map((id) => getCodec(id, opts)));
  const key = entries[0].shared?.key;
  if (ids.length === 1 && key === undefined) return singleCodecGroup(await entries[0].load(opts));
  if (key === undefined || entries.some((e) => e.shared?.key !== key)) {
    throw new Error(`codecs ${ids.join(", ")} do not share an encoder; extract them separately`);
  }
  return entries[0].shared!.load(ids, opts);
}
