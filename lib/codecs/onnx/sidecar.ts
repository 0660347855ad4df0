/**
 * The JSON sidecar that turns an ONNX export into a codec: `<name>.json` next to `<name>.onnx` (or naming
 * its graph in "onnx"). The graph maps `audio` float32 (1, 1, samples) → ê float32 (1, T, d).
 *
 *   {
 *     "id": "mycodec-6kbps",        registry id (unique)
 *     "sample_rate": 24000,         Hz of the input audio
 *     "d": 128,                     dimension of ê
 *     "hop": 320,                   samples per frame (frame_rate = sample_rate / hop) — or give "frame_rate"
 *     "bitrate_kbps": 6,            optional
 *     "min_samples": 320,           optional: shortest accepted input (default: hop)
 *     "source": "…",                where the weights come from, licence
 *     "input": "audio",             optional input name (default "audio")
 *     "output": "e_hat",            optional output name (default "e_hat")
 *     "onnx": "mycodec.onnx"        optional graph file, relative to the sidecar
 *   }
 */
import { basename, dirname, join, resolve } from "node:path";
import type { CodecInfo } from "../types.ts";

export interface OnnxSidecar extends CodecInfo {
  /** Absolute path of the graph. */
  onnxPath: string;
  sidecarPath: string;
  /** Samples per frame; audio is zero-padded to a multiple of it. */
  hop: number;
  input: string;
  output: string;
}

function fail(path: string, msg: string): never {
  throw new Error(`${path}: invalid codec sidecar: ${msg}`);
}

function positive(
  raw: Record<string, unknown>,
  key: string,
  path: string,
  integer: boolean,
): number | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    fail(path, `"${key}" must be a positive ${integer ? "integer" : "number"}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function text(raw: Record<string, unknown>, key: string, path: string, fallback?: string): string {
  const v = raw[key] ?? fallback;
  if (typeof v !== "string" || v.trim() === "") fail(path, `"${key}" must be a non-empty string`);
  return v;
}

/** Validates a parsed sidecar (`path` names it in errors). */
export function parseSidecar(raw: unknown, path: string): OnnxSidecar {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(path, "expected a JSON object");
  const r = raw as Record<string, unknown>;
  const id = text(r, "id", path);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) {
    fail(path, `"id" may hold letters, digits, '.', '_', '-' only: ${id}`);
  }
  const sampleRate = positive(r, "sample_rate", path, true) ?? fail(path, `"sample_rate" is required`);
  const dCodec = positive(r, "d", path, true) ?? fail(path, `"d" is required`);
  let hop = positive(r, "hop", path, true);
  const frameRate = positive(r, "frame_rate", path, false);
  if (hop === undefined && frameRate === undefined) {
    fail(path, `give "hop" (samples per frame) or "frame_rate"`);
  }
  if (hop === undefined) {
    hop = sampleRate / frameRate!;
    if (!Number.isInteger(hop)) {
      fail(path, `sample_rate / frame_rate = ${hop} is not whole; give "hop" explicitly`);
    }
  } else if (frameRate !== undefined && Math.abs(sampleRate / hop - frameRate) > 1e-6 * frameRate) {
    fail(path, `"frame_rate" ${frameRate} disagrees with sample_rate / hop = ${sampleRate / hop}`);
  }
  const onnxName = text(r, "onnx", path, basename(path).replace(/\.json$/i, ".onnx"));
  return {
    id,
    family: "onnx",
    sampleRate,
    dCodec,
    frameRate: sampleRate / hop,
    bitrateKbps: positive(r, "bitrate_kbps", path, false),
    minSamples: positive(r, "min_samples", path, true) ?? hop,
    source: text(r, "source", path),
    hop,
    input: text(r, "input", path, "audio"),
    output: text(r, "output", path, "e_hat"),
    onnxPath: resolve(dirname(path), onnxName),
    sidecarPath: resolve(path),
  };
}

/**
 * Finds sidecars in `dir` and its immediate subfolders: a `*.json` is a sidecar when it names an "onnx"
 * graph or a same-named `.onnx` sits beside it; other JSON files are not ours and are skipped.
 */
export async function findSidecarFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const scan = async (d: string, depth: number) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(d));
    } catch {
      return;
    }
    const names = new Set(entries.map((e) => e.name));
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory && depth === 0) await scan(p, 1);
      else if (e.isFile && /\.json$/i.test(e.name)) {
        if (names.has(e.name.replace(/\.json$/i, ".onnx"))) found.push(p);
        else if (await namesOnnx(p)) found.push(p);
      }
    }
  };
  await scan(dir, 0);
  return found;
}

async function namesOnnx(path: string): Promise<boolean> {
  try {
    const raw = JSON.parse(await Deno.readTextFile(path));
    return typeof raw === "object" && raw !== null && typeof raw.onnx === "string";
  } catch {
    return false;
  }
}
