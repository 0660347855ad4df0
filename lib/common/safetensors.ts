/**
 * safetensors reading and writing (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}},
 * then the raw little-endian tensor bytes. Used for checkpoints so they open in Python (safetensors, numpy).
 */
import { writeFileAtomic } from "./fs.ts";

export type SafeDtype = "F32" | "F64" | "I32" | "I64" | "U8";
export type SafeData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface SafeTensor {
  dtype: SafeDtype;
  shape: number[];
  data: SafeData;
}

export interface SafeFile {
  tensors: Record<string, SafeTensor>;
  /** String-to-string metadata (`__metadata__`). */
  metadata: Record<string, string>;
}

const CTORS: Record<SafeDtype, { bytes: number; make: (b: ArrayBuffer) => SafeData }> = {
  F32: { bytes: 4, make: (b) => new Float32Array(b) },
  F64: { bytes: 8, make: (b) => new Float64Array(b) },
  I32: { bytes: 4, make: (b) => new Int32Array(b) },
  I64: { bytes: 8, make: (b) => new BigInt64Array(b) },
  U8: { bytes: 1, make: (b) => new Uint8Array(b) },
};

function dtypeOf(data: SafeData): SafeDtype {
  if (data instanceof Float32Array) return "F32";
  if (data instanceof Float64Array) return "F64";
  if (data instanceof Int32Array) return "I32";
  if (data instanceof BigInt64Array) return "I64";
  return "U8";
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("safetensors: this module assumes a little-endian platform");
}

/** Serialises tensors (in the given order) and metadata to safetensors bytes. */
export function encodeSafetensors(
  tensors: Record<string, { shape: number[]; data: SafeData }>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new Error(`safetensors: tensor ${name} has ${t.data.length} values but shape (${t.shape})`);
    }
    header[name] = {
      dtype: dtypeOf(t.data),
      shape: t.shape,
      data_offsets: [offset, offset + t.data.byteLength],
    };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((json.length + 8) % 8)) % 8); // align the data start to 8 bytes
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Parses safetensors bytes; `source` names the file in error messages. Tensors are copied (aligned). */
export function parseSafetensors(bytes: Uint8Array, source = "<bytes>"): SafeFile {
  if (bytes.length < 8) throw new Error(`${source}: not a safetensors file (shorter than 8 bytes)`);
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + headerLen > bytes.length) {
    throw new Error(`${source}: header length ${headerLen} exceeds the file size ${bytes.length}`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new Error(`${source}: malformed safetensors JSON header: ${(e as Error).message}`);
  }
  const dataStart = 8 + headerLen;
  const tensors: Record<string, SafeTensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = entry as {
      dtype: string;
      shape: number[];
      data_offsets: number[];
    };
    const ctor = CTORS[dtype as SafeDtype];
    if (!ctor) throw new Error(`${source}: tensor ${name} has unsupported dtype ${dtype}`);
    const [begin, end] = data_offsets;
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * ctor.bytes || dataStart + end > bytes.length || begin < 0) {
      throw new Error(
        `${source}: tensor ${name} offsets [${begin}, ${end}] do not fit shape (${shape}) ${dtype}`,
      );
    }
    const buf = bytes.slice(dataStart + begin, dataStart + end).buffer;
    tensors[name] = { dtype: dtype as SafeDtype, shape, data: ctor.make(buf) };
  }
  return { tensors, metadata };
}

export async function writeSafetensors(
  path: string,
  tensors: Record<string, { shape: number[]; data: SafeData }>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export async function readSafetensors(path: string): Promise<SafeFile> {
  return parseSafetensors(await Deno.readFile(path), path);
}
