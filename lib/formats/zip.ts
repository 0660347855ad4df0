/**
 * Just enough of the zip format to read PyTorch checkpoints (torch.save writes a zip of stored entries):
 * central directory, zip64 sizes/offsets, stored and deflated entries (node:zlib inflateRaw).
 */
import { inflateRawSync } from "node:zlib";

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/**
 * Bounds on what an untrusted archive may expand to: a small zip can declare (or inflate to) gigabytes. The
 * total of all entries' sizes must stay under `maxBytes` and under `maxRatio` × the archive's own size.
 * torch.save stores its entries uncompressed (ratio ≈ 1), so the defaults never bind on real checkpoints.
 */
export interface ZipLimits {
  maxBytes: number;
  maxRatio: number;
}

export const ZIP_LIMITS: ZipLimits = { maxBytes: 8 * 1024 ** 3, maxRatio: 100 };

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private view: DataView;
  /** Bytes handed out so far (inflated entries count at their inflated size). */
  private expanded = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly source = "zip",
    readonly limits: ZipLimits = ZIP_LIMITS,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.readCentralDirectory();
    let declared = 0;
    for (const e of this.entries.values()) declared += e.size;
    this.checkBudget(declared, "its entries declare");
  }

  /** The archive's expansion budget: min(maxBytes, maxRatio × its size). */
  private get budget(): number {
    return Math.min(this.limits.maxBytes, this.limits.maxRatio * Math.max(this.bytes.length, 1));
  }

  private checkBudget(total: number, what: string): void {
    if (total > this.budget) {
      throw new Error(
        `${this.source}: ${what} ${total} bytes from a ${this.bytes.length}-byte archive, over the limit of ` +
          `${this.budget} bytes (at most ${this.limits.maxRatio}× the archive and ${this.limits.maxBytes} ` +
          `bytes): refused as a possible zip bomb; if the file is genuine, re-save it uncompressed`,
      );
    }
  }

  private u16(o: number) {
    return this.view.getUint16(o, true);
  }
  private u32(o: number) {
    return this.view.getUint32(o, true);
  }
  private u64(o: number) {
    return Number(this.view.getBigUint64(o, true));
  }

  private readCentralDirectory(): void {
    const b = this.bytes;
    let eocd = -1;
    for (let o = b.length - 22; o >= Math.max(0, b.length - 22 - 65535); o--) {
      if (this.u32(o) === 0x06054b50) {
        eocd = o;
        break;
      }
    }
    if (eocd < 0) throw new Error(`${this.source}: not a zip file (no end-of-central-directory record)`);
    let count = this.u16(eocd + 10);
    let cdOffset = this.u32(eocd + 16);
    if ((count === 0xffff || cdOffset === 0xffffffff) && eocd >= 20 && this.u32(eocd - 20) === 0x07064b50) {
      const z64 = this.u64(eocd - 20 + 8);
      if (this.u32(z64) !== 0x06064b50) {
        throw new Error(`${this.source}: broken zip64 end-of-central-directory`);
      }
      count = this.u64(z64 + 32);
      cdOffset = this.u64(z64 + 48);
    }
    let o = cdOffset;
    for (let i = 0; i < count; i++) {
      if (o + 46 > b.length || this.u32(o) !== 0x02014b50) {
        throw new Error(`${this.source}: corrupt zip central directory (entry ${i})`);
      }
      const method = this.u16(o + 10);
      let compressedSize = this.u32(o + 20);
      let size = this.u32(o + 24);
      const nameLen = this.u16(o + 28);
      const extraLen = this.u16(o + 30);
      const commentLen = this.u16(o + 32);
      let localHeaderOffset = this.u32(o + 42);
      const name = new TextDecoder().decode(b.subarray(o + 46, o + 46 + nameLen));
      // zip64 extended information: the 64-bit values of the fields that were saturated, in this order.
      let e = o + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = this.u16(e);
        const len = this.u16(e + 2);
        if (id === 0x0001) {
          let p = e + 4;
          if (size === 0xffffffff) (size = this.u64(p)), (p += 8);
          if (compressedSize === 0xffffffff) (compressedSize = this.u64(p)), (p += 8);
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = this.u64(p);
        }
        e += 4 + len;
      }
      this.entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
      o = extraEnd + commentLen;
    }
  }

  /** The bytes of an entry (a view into the archive for stored entries). */
  read(name: string): Uint8Array {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.source}: no entry '${name}' in the archive`);
    const o = e.localHeaderOffset;
    if (this.u32(o) !== 0x04034b50) throw new Error(`${this.source}: corrupt local header for '${name}'`);
    const start = o + 30 + this.u16(o + 26) + this.u16(o + 28);
    if (start + e.compressedSize > this.bytes.length) {
      throw new Error(`${this.source}: entry '${name}' runs past the end of the archive (truncated file)`);
    }
    const raw = this.bytes.subarray(start, start + e.compressedSize);
    if (e.method === 0) return raw;
    if (e.method === 8) {
      // Inflated no further than the entry declares (and the budget allows): a lying size cannot expand.
      const room = Math.min(e.size, this.budget - this.expanded);
      let out: Uint8Array;
      try {
        out = inflateRawSync(raw, { maxOutputLength: Math.max(1, room) });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === "ERR_BUFFER_TOO_LARGE") {
          this.checkBudget(this.expanded + room + 1, `entry '${name}' inflates past`);
          throw new Error(
            `${this.source}: entry '${name}' inflates to more than its declared ${e.size} bytes`,
          );
        }
        throw new Error(`${this.source}: entry '${name}' is corrupt (${(err as Error).message})`);
      }
      if (out.byteLength !== e.size) {
        throw new Error(
          `${this.source}: entry '${name}' inflates to ${out.byteLength} bytes, but declares ${e.size}`,
        );
      }
      this.expanded += out.byteLength;
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    }
    throw new Error(`${this.source}: entry '${name}' uses unsupported compression method ${e.method}`);
  }
}
