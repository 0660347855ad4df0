/**
 * Any codec exported to ONNX as `audio (1, 1, samples) → ê (1, T, d)` plus a JSON sidecar (see
 * `sidecar.ts`; `tools/export_codec_onnx.py` shows how to export one from PyTorch) becomes a codec id.
 * Sidecars are discovered in the models directory (`--models DIR`, else `NAC_SAE_MODELS`); onnxruntime is
 * loaded only when such a codec is used.
 */
import { readJson } from "../../common/fs.ts";
import { log } from "../../common/progress.ts";
import type { CodecEntry } from "../types.ts";
import { findSidecarFiles, type OnnxSidecar, parseSidecar } from "./sidecar.ts";

export { findSidecarFiles, type OnnxSidecar, parseSidecar } from "./sidecar.ts";

/** Registry entries for every valid sidecar in `dir`; invalid ones are reported on stderr and skipped. */
export async function discoverOnnxCodecs(
  dir: string,
  taken: Set<string>,
  quiet = false,
): Promise<CodecEntry[]> {
  const entries: CodecEntry[] = [];
  for (const path of await findSidecarFiles(dir)) {
    let sidecar: OnnxSidecar;
    try {
      sidecar = parseSidecar(await readJson(path), path);
    } catch (e) {
      log(`warning: skipping ${(e as Error).message}`, quiet);
      continue;
    }
    if (taken.has(sidecar.id)) {
      log(`warning: skipping ${path}: codec id '${sidecar.id}' is already registered`, quiet);
      continue;
    }
    taken.add(sidecar.id);
    const { onnxPath: _o, sidecarPath: _s, hop: _h, input: _i, output: _u, ...info } = sidecar;
    entries.push({
      ...info,
      source: `${sidecar.source} [ONNX: ${sidecar.onnxPath}]`,
      load: async (o) => (await import("./codec.ts")).OnnxCodec.load(sidecar, o),
    });
  }
  return entries;
}
