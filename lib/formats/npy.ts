/**
 * NumPy `.npy` reading and writing (format versions 1.0–3.0), so arrays move to and from Python unchanged.
 * Reads little/big-endian float32/float64/int8–int64/uint8–uint32/bool, C or Fortran order; writes
 * little-endian C-order float32, float64, int32 or int64.
 */
import { readError, writeFileAtomic } from "../common/fs.ts";

export type NpyDtype = "<f4" | "<f8" | "<i4" | "<i8";
export type NpyData = Float32Array | Float64Array | Int32Array | BigInt64Array;

export interface NpyArray {
  /** Row-major (C order) values, converted to native endianness. */
  data:
    | Float32Array
    | Float64Array
    | Int8Array
    | Uint8Array
    | Int16Array
    | Uint16Array
    | Int32Array
    | Uint32Array
    | BigInt64Array
    | BigUint64Array;
  shape: number[];
  /** The descr string as stored in the file, e.g. "<f4". */
  dtype: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parses `.npy` bytes; `source` names the file in error messages. */
export function parseNpy(bytes: Uint8Array, source = "<bytes>"): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new Error(`${source}: not a NumPy .npy file (missing \\x93NUMPY magic)`);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number, offset: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    offset = 12;
  } else {
    throw new Error(`${source}: unsupported .npy format version ${major}`);
  }
  if (offset + headerLen > bytes.length) throw new Error(`${source}: truncated .npy header`);
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(offset, offset + headerLen),
  );
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) {
    throw new Error(`${source}: malformed .npy header: ${header.trim()}`);
  }
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new Error(`${source}: bad shape (${shapeText})`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = offset + headerLen;
  const kind = descr.slice(1);
  const endian = descr[0];
  const size = Number(kind.slice(1));
  if (!["<", ">", "|", "="].includes(endian)) throw new Error(`${source}: unsupported dtype ${descr}`);
  if (dataStart + count * size > bytes.length) {
    throw new Error(
      `${source}: truncated data: expected ${count * size} bytes for shape (${shape}), got ${
        bytes.length - dataStart
      }`,
    );
  }
  const little = endian !== ">";
  const data = readTyped(view, dataStart, count, kind, little, source, descr);
  return { data: fortran ? fortranToC(data, shape) : data, shape, dtype: descr };
}

/** Per .npy kind: bytes per value, a new array of n values, and how one value is read in a byte order. */
const KINDS: Record<
  string,
  {
    width: number;
    make: (n: number) => NpyArray["data"];
    read: (dv: DataView, o: number, little: boolean) => number | bigint;
  }
> = {
  f4: { width: 4, make: (n) => new Float32Array(n), read: (dv, o, le) => dv.getFloat32(o, le) },
  f8: { width: 8, make: (n) => new Float64Array(n), read: (dv, o, le) => dv.getFloat64(o, le) },
  i1: { width: 1, make: (n) => new Int8Array(n), read: (dv, o) => dv.getInt8(o) },
  u1: { width: 1, make: (n) => new Uint8Array(n), read: (dv, o) => dv.getUint8(o) },
  b1: { width: 1, make: (n) => new Uint8Array(n), read: (dv, o) => dv.getUint8(o) },
  i2: { width: 2, make: (n) => new Int16Array(n), read: (dv, o, le) => dv.getInt16(o, le) },
  u2: { width: 2, make: (n) => new Uint16Array(n), read: (dv, o, le) => dv.getUint16(o, le) },
  i4: { width: 4, make: (n) => new Int32Array(n), read: (dv, o, le) => dv.getInt32(o, le) },
  u4: { width: 4, make: (n) => new Uint32Array(n), read: (dv, o, le) => dv.getUint32(o, le) },
  i8: { width: 8, make: (n) => new BigInt64Array(n), read: (dv, o, le) => dv.getBigInt64(o, le) },
  u8: { width: 8, make: (n) => new BigUint64Array(n), read: (dv, o, le) => dv.getBigUint64(o, le) },
};

function readTyped(
  view: DataView,
  start: number,
  n: number,
  kind: string,
  little: boolean,
  source: string,
  descr: string,
): NpyArray["data"] {
  const k = KINDS[kind];
  if (!k) throw new Error(`${source}: unsupported dtype ${descr}`);
  const a = k.make(n);
  // One array type per kind, so each slot takes what its kind reads (number, or bigint for 8-byte integers).
  const slots = a as unknown as { [i: number]: number | bigint };
  for (let i = 0; i < n; i++) slots[i] = k.read(view, start + i * k.width, little);
  return a;
}

function fortranToC<T extends NpyArray["data"]>(data: T, shape: number[]): T {
  if (shape.length < 2) return data;
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const nd = shape.length;
  const idx = new Array(nd).fill(0);
  for (let f = 0; f < data.length; f++) {
    let c = 0;
    for (let d = 0; d < nd; d++) c = c * shape[d] + idx[d];
    (out as unknown as number[])[c] = (data as unknown as number[])[f];
    for (let d = 0; d < nd; d++) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Serialises an array as `.npy` version 1.0 bytes (little-endian, C order). */
export function encodeNpy(data: NpyData, shape: number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new Error(`encodeNpy: shape (${shape}) holds ${count} values, data has ${data.length}`);
  }
  const descr: NpyDtype = data instanceof Float32Array
    ? "<f4"
    : data instanceof Float64Array
    ? "<f8"
    : data instanceof Int32Array
    ? "<i4"
    : "<i8";
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += " ".repeat(pad % 64) + "\n";
  const headerBytes = new TextEncoder().encode(header);
  const out = new Uint8Array(10 + headerBytes.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, headerBytes.length, true);
  out.set(headerBytes, 10);
  // Typed arrays are little-endian on every platform Deno supports.
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + headerBytes.length);
  return out;
}

export async function readNpy(path: string): Promise<NpyArray> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw readError(path, e);
  }
  return parseNpy(bytes, path);
}

/** Writes `.npy` atomically (temporary file + rename). */
export async function writeNpy(path: string, data: NpyData, shape: number[]): Promise<void> {
  await writeFileAtomic(path, encodeNpy(data, shape));
}
