/**
 * Parquet files readable by the pyarrow and Polars releases researchers have. Polars stores its Arrow schema
 * in the footer (key "ARROW:schema"), and for strings that schema says `string_view`, Arrow's view type, which
 * older pyarrow releases do not know. The Parquet schema itself says BYTE_ARRAY + UTF8 (a plain string), so
 * dropping that key lets every reader derive plain UTF-8 string columns from the Parquet types; nothing else
 * in the file changes (the column chunks' offsets all lie before the footer).
 *
 * File layout: "PAR1", column chunks, FileMetaData (Thrift compact protocol), its length (u32 LE), "PAR1".
 * FileMetaData's field 5 is `key_value_metadata: list<KeyValue{1: key, 2: value}>`.
 */
import type pl from "nodejs-polars";

const MAGIC = "PAR1";
const ARROW_SCHEMA_KEY = "ARROW:schema";
const KEY_VALUE_FIELD = 5;

// Thrift compact protocol types.
const T_STOP = 0, T_TRUE = 1, T_FALSE = 2, T_BYTE = 3, T_I16 = 4, T_I32 = 5, T_I64 = 6, T_DOUBLE = 7;
const T_BINARY = 8, T_LIST = 9, T_SET = 10, T_MAP = 11, T_STRUCT = 12;

class Reader {
  constructor(readonly b: Uint8Array, public pos = 0, readonly source = "<parquet>") {}
  byte(): number {
    if (this.pos >= this.b.length) throw new Error(`${this.source}: truncated Parquet footer`);
    return this.b[this.pos++];
  }
  varint(): number {
    let result = 0, shift = 0, byte;
    do {
      byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  }
  /** Skips one value of the given compact type. */
  skip(type: number): void {
    switch (type) {
      case T_TRUE:
      case T_FALSE:
        return; // a struct field's boolean lives in its header
      case T_BYTE:
        this.pos += 1;
        return;
      case T_I16:
      case T_I32:
      case T_I64:
        this.varint();
        return;
      case T_DOUBLE:
        this.pos += 8;
        return;
      case T_BINARY: {
        const len = this.varint(); // read before `pos` is: `pos += varint()` would add to the old pos
        this.pos += len;
        return;
      }
      case T_LIST:
      case T_SET: {
        const h = this.byte();
        const n = (h >> 4) === 15 ? this.varint() : h >> 4;
        const elem = h & 0x0f;
        for (let i = 0; i < n; i++) elem === T_TRUE || elem === T_FALSE ? this.pos++ : this.skip(elem);
        return;
      }
      case T_MAP: {
        const n = this.varint();
        if (n === 0) return;
        const kv = this.byte();
        for (let i = 0; i < n; i++) {
          this.skip(kv >> 4);
          this.skip(kv & 0x0f);
        }
        return;
      }
      case T_STRUCT:
        for (const f of this.fields()) this.skip(f.type);
        return;
      default:
        throw new Error(`${this.source}: unknown Thrift compact type ${type} in the Parquet footer`);
    }
  }
  /** Iterates a struct's field headers; the caller must consume (or skip) each value. */
  *fields(): Generator<{ id: number; type: number }> {
    let last = 0;
    for (;;) {
      const h = this.byte();
      if (h === T_STOP) return;
      const delta = h >> 4, type = h & 0x0f;
      let id: number;
      if (delta !== 0) id = last + delta;
      else {
        const z = this.varint();
        id = (z >>> 1) ^ -(z & 1); // zigzag i16
      }
      last = id;
      yield { id, type };
    }
  }
}

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function fieldHeader(id: number, last: number, type: number): number[] {
  const delta = id - last;
  if (delta > 0 && delta <= 15) return [(delta << 4) | type];
  return [type, ...varintBytes(((id << 1) ^ (id >> 15)) & 0xffff)];
}

function footerRange(file: Uint8Array, source: string): { start: number; end: number } {
  const tail = new TextDecoder().decode(file.subarray(file.length - 4));
  const head = new TextDecoder().decode(file.subarray(0, 4));
  if (file.length < 12 || head !== MAGIC || tail !== MAGIC) throw new Error(`${source}: not a Parquet file`);
  const len = new DataView(file.buffer, file.byteOffset + file.length - 8, 4).getUint32(0, true);
  const start = file.length - 8 - len;
  if (start < 4) throw new Error(`${source}: Parquet footer length ${len} exceeds the file`);
  return { start, end: file.length - 8 };
}

/** The footer's key-value metadata (e.g. {"ARROW:schema": "..."}); {} when there is none. */
export function parquetKeyValueMetadata(file: Uint8Array, source = "<parquet>"): Record<string, string> {
  const { start, end } = footerRange(file, source);
  const r = new Reader(file.subarray(start, end), 0, source);
  const out: Record<string, string> = {};
  for (const f of r.fields()) {
    if (f.id !== KEY_VALUE_FIELD || f.type !== T_LIST) {
      r.skip(f.type);
      continue;
    }
    const h = r.byte();
    const n = (h >> 4) === 15 ? r.varint() : h >> 4;
    for (let i = 0; i < n; i++) {
      let key = "", value = "";
      for (const kf of r.fields()) {
        if (kf.type === T_BINARY && (kf.id === 1 || kf.id === 2)) {
          const len = r.varint();
          const text = new TextDecoder().decode(r.b.subarray(r.pos, r.pos + len));
          r.pos += len;
          if (kf.id === 1) key = text;
          else value = text;
        } else r.skip(kf.type);
      }
      out[key] = value;
    }
  }
  return out;
}

/** The file with the "ARROW:schema" footer entry removed (other key-value entries kept). */
export function withoutArrowSchema(file: Uint8Array, source = "<parquet>"): Uint8Array {
  const { start, end } = footerRange(file, source);
  const footer = file.subarray(start, end);
  const r = new Reader(footer, 0, source);
  const out: number[] = [];
  let last = 0;
  for (const f of r.fields()) {
    const begin = r.pos;
    if (f.id === KEY_VALUE_FIELD && f.type === T_LIST) {
      const h = r.byte();
      const n = (h >> 4) === 15 ? r.varint() : h >> 4;
      const kept: Uint8Array[] = [];
      for (let i = 0; i < n; i++) {
        const kvStart = r.pos;
        let key = "";
        for (const kf of r.fields()) {
          if (kf.id === 1 && kf.type === T_BINARY) {
            const len = r.varint();
            key = new TextDecoder().decode(footer.subarray(r.pos, r.pos + len));
            r.pos += len;
          } else r.skip(kf.type);
        }
        if (key !== ARROW_SCHEMA_KEY) kept.push(footer.subarray(kvStart, r.pos));
      }
      if (kept.length === 0) continue; // the whole (optional) field goes
      out.push(...fieldHeader(f.id, last, T_LIST));
      out.push(
        ...(kept.length < 15
          ? [(kept.length << 4) | T_STRUCT]
          : [0xf0 | T_STRUCT, ...varintBytes(kept.length)]),
      );
      for (const kv of kept) for (const b of kv) out.push(b);
    } else {
      r.skip(f.type);
      out.push(...fieldHeader(f.id, last, f.type));
      for (const b of footer.subarray(begin, r.pos)) out.push(b);
    }
    last = f.id;
  }
  out.push(T_STOP);
  const result = new Uint8Array(start + out.length + 8);
  result.set(file.subarray(0, start), 0);
  result.set(out, start);
  new DataView(result.buffer).setUint32(start + out.length, out.length, true);
  result.set(new TextEncoder().encode(MAGIC), start + out.length + 4);
  return result;
}

/** A DataFrame as Parquet bytes with plain UTF-8 string columns (see the module comment). */
export function parquetBytes(df: pl.DataFrame): Uint8Array {
  return withoutArrowSchema(new Uint8Array(df.writeParquet()));
}
