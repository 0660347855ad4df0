/**
 * safetensors reader (https://github.com/huggingface/safetensors): 8-byte little-endian header length, a JSON
 * header {name: {dtype, shape, data_offsets}} and the raw little-endian data. Floating dtypes are widened to
 * Float32Array, integer dtypes to Int32Array (I64 must fit in 32 bits) — what the codec graphs consume.
 * Aligned F32 tensors are views into the file's bytes (treat them as read-only).
 */

export type TensorData = Float32Array | Int32Array;

export interface Tensor {
  /** dtype as stored in the file (F32, F16, BF16, I64, I32, ...). */
  dtype: string;
  shape: number[];
  data: TensorData;
}

export type TensorMap = Map<string, Tensor>;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
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
};

/** Parses a safetensors file already in memory. `source` names it in error messages. */
export function parseSafetensors(bytes: Uint8Array, source = "safetensors"): TensorMap {
  if (bytes.length < 8) {
    throw new Error(`${source}: too short for a safetensors file (${bytes.length} bytes)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen <= 0 || 8 + headerLen > bytes.length) {
    throw new Error(
      `${source}: invalid safetensors header length ${headerLen} (file has ${bytes.length} bytes)`,
    );
  }
  let header: Record<string, HeaderEntry | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new Error(`${source}: safetensors header is not valid JSON (${(e as Error).message})`);
  }
  const base = 8 + headerLen;
  const out: TensorMap = new Map();
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const entry = raw as HeaderEntry;
    const width = BYTES[entry.dtype];
    if (!width) throw new Error(`${source}: tensor '${name}' has unsupported dtype ${entry.dtype}`);
    const [begin, end] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * width || base + end > bytes.length) {
      throw new Error(`${source}: tensor '${name}' data_offsets [${begin}, ${end}] do not match shape/dtype`);
    }
    out.set(name, {
      dtype: entry.dtype,
      shape: entry.shape,
      data: decodeTensorData(
        bytes.subarray(base + begin, base + end),
        entry.dtype,
        count,
        `${source}: ${name}`,
      ),
    });
  }
  return out;
}

export async function readSafetensors(path: string): Promise<TensorMap> {
  return parseSafetensors(await Deno.readFile(path), path);
}

/** Little-endian raw bytes → Float32Array (floating dtypes) or Int32Array (integer dtypes). */
export function decodeTensorData(raw: Uint8Array, dtype: string, count: number, what: string): TensorData {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (dtype) {
    case "F32": {
      // Aligned float32 data is used in place (a view into the file bytes): no copy of large checkpoints.
      if (raw.byteOffset % 4 === 0) return new Float32Array(raw.buffer, raw.byteOffset, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
      return out;
    }
    case "F64": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true);
      return out;
    }
    case "F16": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
      return out;
    }
    case "BF16": {
      const out = new Float32Array(count);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = dv.getUint16(2 * i, true) << 16;
      return out;
    }
    case "I64": {
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
    case "I32": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getInt32(4 * i, true);
      return out;
    }
    case "I16": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getInt16(2 * i, true);
      return out;
    }
    case "I8": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getInt8(i);
      return out;
    }
    case "U8":
    case "BOOL": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = raw[i];
      return out;
    }
  }
  throw new Error(`${what}: unsupported dtype ${dtype}`);
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
