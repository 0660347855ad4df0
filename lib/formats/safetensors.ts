/**
 * safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header length, a JSON
 * header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}, then the raw
 * little-endian tensor bytes. One header parser serves two views of a file:
 * - `parseTensorMap`/`readTensorMap` (codec weights): floating dtypes widened to Float32Array, integer dtypes
 *   to Int32Array (I64 must fit in 32 bits); aligned F32 tensors are views into the file's bytes (read-only).
 * - `parseSafetensors`/`readSafetensors` (checkpoints): exact dtypes (F32, F64, I32, I64, U8) and the metadata;
 *   `encodeSafetensors`/`writeSafetensors` write that view, so checkpoints open in Python (safetensors, numpy).
 */
import { readError, writeFileAtomic } from "../common/fs.ts";

export type TensorData = Float32Array | Int32Array;

export interface Tensor {
  /** dtype as stored in the file (F32, F16, BF16, I64, I32, ...). */
  dtype: string;
  shape: number[];
  data: TensorData;
}

export type TensorMap = Map<string, Tensor>;

/** An empty state dict and how a float32 tensor goes into it (the builders of random codec weights). */
export function float32Tensors(): {
  weights: TensorMap;
  put: (name: string, shape: number[], data: Float32Array) => void;
} {
  const weights: TensorMap = new Map();
  return { weights, put: (name, shape, data) => void weights.set(name, { dtype: "F32", shape, data }) };
}

/** One header entry: dtype, shape and the byte range of its data within the whole file. */
export interface SafeEntry {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafeHeader {
  entries: Map<string, SafeEntry>;
  /** String-to-string metadata (`__metadata__`). */
  metadata: Record<string, string>;
}

const BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("safetensors: this module assumes a little-endian platform");
}

/**
 * Parses and fully checks the header of a safetensors file in memory; `source` names it in error messages.
 * Checked as the format's reference implementation does, so wrong weights are never read: the header is a JSON
 * object; every entry has a known dtype, a shape of non-negative integers and integer data_offsets
 * [begin ≤ end] with end − begin = dtype size × ∏shape; sorted by begin, the entries tile the data section
 * exactly (no overlap, no gap, nothing past the end, no trailing bytes); `__metadata__` maps strings to strings.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, source = "safetensors"): SafeHeader {
  const fail = (msg: string): never => {
    throw new Error(`${source}: invalid safetensors file: ${msg}`);
  };
  if (bytes.length < 8) fail(`too short (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen64 = view.getBigUint64(0, true);
  if (headerLen64 === 0n || headerLen64 + 8n > BigInt(bytes.length)) {
    fail(`header length ${headerLen64} does not fit the file (${bytes.length} bytes)`);
  }
  const headerLen = Number(headerLen64);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== "object" || Array.isArray(header)) {
    fail(
      `header must be a JSON object, got ${
        header === null ? "null" : Array.isArray(header) ? "an array" : typeof header
      }`,
    );
  }
  const base = 8 + headerLen;
  const dataLength = bytes.length - base;
  const entries = new Map<string, SafeEntry>();
  let metadata: Record<string, string> = {};
  const isCount = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (!raw || typeof raw !== "object" || Array.isArray(raw)) fail("__metadata__ must be an object");
      for (const [k, v] of Object.entries(raw as object)) {
        if (typeof v !== "string") fail(`__metadata__.${k} must be a string, got ${JSON.stringify(v)}`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const at = `tensor '${name}'`;
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) fail(`${at} must be an object`);
    const { dtype, shape, data_offsets } = raw as Record<string, unknown>;
    const width = typeof dtype === "string" ? BYTES[dtype] : undefined;
    if (!width) fail(`${at} has unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      fail(`${at} shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(data_offsets) || data_offsets.length !== 2 || !data_offsets.every(isCount)) {
      fail(`${at} data_offsets must be two non-negative integers, got ${JSON.stringify(data_offsets)}`);
    }
    const [begin, end] = data_offsets as number[];
    if (begin > end) fail(`${at} data_offsets [${begin}, ${end}] run backwards`);
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * width!) {
      fail(
        `${at} data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but ${dtype} × [${shape}] needs ` +
          `${count * width!}`,
      );
    }
    if (end > dataLength) {
      fail(`${at} data_offsets [${begin}, ${end}] run past the data (${dataLength} bytes)`);
    }
    entries.set(name, {
      dtype: dtype as string,
      shape: shape as number[],
      begin: base + begin,
      end: base + end,
    });
  }
  // The entries must tile the data section: sorted by offset, each starts where the previous one ended.
  const sorted = [...entries].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let at = base, prev = "";
  for (const [name, e] of sorted) {
    if (e.begin < at) {
      fail(`tensors '${prev}' and '${name}' overlap (data_offsets [${e.begin - base}, ${e.end - base}])`);
    }
    if (e.begin > at) {
      fail(`gap of ${e.begin - at} bytes before tensor '${name}' (data_offsets must be contiguous)`);
    }
    at = e.end;
    prev = name;
  }
  if (at !== bytes.length) {
    fail(`${bytes.length - at} bytes after the last tensor are not indexed by the header`);
  }
  return { entries, metadata };
}

/** Parses a safetensors file already in memory into widened tensors (see the module note). */
export function parseTensorMap(bytes: Uint8Array, source = "safetensors"): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, e] of parseSafetensorsHeader(bytes, source).entries) {
    const count = e.shape.reduce((a, b) => a * b, 1);
    out.set(name, {
      dtype: e.dtype,
      shape: e.shape,
      data: decodeTensorData(bytes.subarray(e.begin, e.end), e.dtype, count, `${source}: ${name}`),
    });
  }
  return out;
}

export async function readTensorMap(path: string): Promise<TensorMap> {
  return parseTensorMap(await Deno.readFile(path), path);
}

/** Per stored dtype: bytes per value, whether it widens to float32 (else int32), and how one value is read. */
const WIDEN: Record<string, { width: number; float: boolean; read: (dv: DataView, o: number) => number }> = {
  F32: { width: 4, float: true, read: (dv, o) => dv.getFloat32(o, true) },
  F64: { width: 8, float: true, read: (dv, o) => dv.getFloat64(o, true) },
  F16: { width: 2, float: true, read: (dv, o) => halfToFloat(dv.getUint16(o, true)) },
  BF16: { width: 2, float: true, read: (dv, o) => bfloat16ToFloat(dv.getUint16(o, true)) },
  I32: { width: 4, float: false, read: (dv, o) => dv.getInt32(o, true) },
  I16: { width: 2, float: false, read: (dv, o) => dv.getInt16(o, true) },
  I8: { width: 1, float: false, read: (dv, o) => dv.getInt8(o) },
  U8: { width: 1, float: false, read: (dv, o) => dv.getUint8(o) },
  BOOL: { width: 1, float: false, read: (dv, o) => dv.getUint8(o) },
};

const BF16_BITS = new Uint32Array(1), BF16_FLOAT = new Float32Array(BF16_BITS.buffer);

/** bfloat16 is the upper half of a float32. */
function bfloat16ToFloat(h: number): number {
  BF16_BITS[0] = h << 16;
  return BF16_FLOAT[0];
}

/** Little-endian raw bytes → Float32Array (floating dtypes) or Int32Array (integer dtypes). */
export function decodeTensorData(raw: Uint8Array, dtype: string, count: number, what: string): TensorData {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  // Aligned float32 data is used in place (a view into the file bytes): no copy of large checkpoints.
  if (dtype === "F32" && raw.byteOffset % 4 === 0) return new Float32Array(raw.buffer, raw.byteOffset, count);
  if (dtype === "I64") {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const v = dv.getBigInt64(8 * i, true);
      if (v > 2147483647n || v < -2147483648n) {
        throw new Error(`${what}: int64 value ${v} does not fit int32`);
      }
      out[i] = Number(v);
    }
    return out;
  }
  const w = WIDEN[dtype];
  if (!w) throw new Error(`${what}: unsupported dtype ${dtype}`);
  const out = w.float ? new Float32Array(count) : new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = w.read(dv, w.width * i);
  return out;
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Looks a tensor up, checking its shape when `shape` is given; the error names the tensor and `source`. */
export function getTensor(map: TensorMap, name: string, shape?: number[], source = "weights"): Tensor {
  const t = map.get(name);
  if (!t) throw new Error(`${source}: missing tensor '${name}'`);
  if (shape && (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i]))) {
    throw new Error(`${source}: tensor '${name}' has shape [${t.shape}], expected [${shape}]`);
  }
  return t;
}

/** A float tensor's data (throws for integer tensors). */
export function floatData(t: Tensor, name = "tensor"): Float32Array {
  if (!(t.data instanceof Float32Array)) {
    throw new Error(`${name}: expected a floating tensor, got ${t.dtype}`);
  }
  return t.data;
}

/** The tensors needed for ê: names under `encoder.` and the codebooks (`….embed`); decoders and training state dropped. */
export function encoderSubset(
  map: TensorMap,
  keep = (name: string) => name.startsWith("encoder.") || name.endsWith(".embed"),
): TensorMap {
  const out: TensorMap = new Map();
  for (const [k, v] of map) if (keep(k)) out.set(k, v);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Exact-dtype view, for checkpoints written and read by this toolkit

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

const EXACT: Record<SafeDtype, (b: ArrayBuffer) => SafeData> = {
  F32: (b) => new Float32Array(b),
  F64: (b) => new Float64Array(b),
  I32: (b) => new Int32Array(b),
  I64: (b) => new BigInt64Array(b),
  U8: (b) => new Uint8Array(b),
};

function dtypeOf(data: SafeData): SafeDtype {
  if (data instanceof Float32Array) return "F32";
  if (data instanceof Float64Array) return "F64";
  if (data instanceof Int32Array) return "I32";
  if (data instanceof BigInt64Array) return "I64";
  return "U8";
}

/** Serialises tensors (in the given order) and metadata to safetensors bytes. */
/** The header (8-byte length + JSON, padded so the data starts 8-byte aligned) and the data's byte length. */
function encodeHeader(
  tensors: Record<string, { shape: number[]; data: SafeData }>,
  metadata: Record<string, string>,
): { head: Uint8Array; dataBytes: number } {
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
  const text = new TextEncoder().encode(json);
  const head = new Uint8Array(8 + text.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(text.length), true);
  head.set(text, 8);
  return { head, dataBytes: offset };
}

const bytesOf = (d: SafeData) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

export function encodeSafetensors(
  tensors: Record<string, { shape: number[]; data: SafeData }>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const { head, dataBytes } = encodeHeader(tensors, metadata);
  const out = new Uint8Array(head.length + dataBytes);
  out.set(head);
  let at = head.length;
  for (const t of Object.values(tensors)) {
    out.set(bytesOf(t.data), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Parses safetensors bytes keeping each tensor's dtype; tensors are copied (aligned). */
export function parseSafetensors(bytes: Uint8Array, source = "<bytes>"): SafeFile {
  const { entries, metadata } = parseSafetensorsHeader(bytes, source);
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, e] of entries) {
    const make = EXACT[e.dtype as SafeDtype];
    if (!make) throw new Error(`${source}: tensor ${name} has unsupported dtype ${e.dtype}`);
    tensors[name] = {
      dtype: e.dtype as SafeDtype,
      shape: e.shape,
      data: make(bytes.slice(e.begin, e.end).buffer),
    };
  }
  return { tensors, metadata };
}

export async function writeSafetensors(
  path: string,
  tensors: Record<string, { shape: number[]; data: SafeData }>,
  metadata: Record<string, string> = {},
): Promise<void> {
  // Streamed tensor by tensor: a checkpoint can be hundreds of MB, so no second copy of it is built.
  const { head } = encodeHeader(tensors, metadata);
  await writeFileAtomic(path, [head, ...Object.values(tensors).map((t) => bytesOf(t.data))]);
}

export async function readSafetensors(path: string): Promise<SafeFile> {
  const bytes = await Deno.readFile(path).catch((e) => {
    throw readError(path, e);
  });
  return parseSafetensors(bytes, path);
}
