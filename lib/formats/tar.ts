/**
 * A minimal reader for (gzipped) ustar/pax tarballs, enough for the source archives this project downloads
 * (GitHub's `archive/<ref>.tar.gz`): regular files with their paths; directories, links and pax global
 * headers are skipped. Long names come from pax `path` records or the ustar prefix field.
 */

export interface TarEntry {
  path: string;
  data: Uint8Array;
}

/** What a gzip stream may expand to: at most `maxRatio` × its size and `maxBytes` (a gzip bomb is refused). */
export const GUNZIP_LIMITS = { maxBytes: 4 * 1024 ** 3, maxRatio: 100 };

/**
 * Decompresses a gzip stream in memory, refusing to expand past GUNZIP_LIMITS; `source` names the file in
 * errors (a corrupt or oversized archive), with what to do.
 */
export async function gunzip(
  bytes: Uint8Array,
  source = "gzip data",
  limits = GUNZIP_LIMITS,
): Promise<Uint8Array> {
  const cap = Math.min(limits.maxBytes, limits.maxRatio * Math.max(bytes.length, 1));
  const reader = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  ).getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > cap) {
        await reader.cancel();
        throw new RangeError(
          `${source}: expands past ${cap} bytes (over ${limits.maxRatio}× its ${bytes.length} bytes): refused ` +
            `as a possible gzip bomb; delete the file if it was downloaded, and try again`,
        );
      }
      parts.push(value);
    }
  } catch (e) {
    if (e instanceof RangeError) throw new Error(e.message);
    throw new Error(
      `${source}: corrupt gzip stream (${(e as Error).message}); delete the file (it is downloaded again)`,
    );
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

function field(b: Uint8Array, o: number, n: number): string {
  let end = o;
  while (end < o + n && b[end] !== 0) end++;
  return new TextDecoder().decode(b.subarray(o, end));
}

function octal(b: Uint8Array, o: number, n: number): number {
  const s = field(b, o, n).trim();
  const v = s === "" ? 0 : parseInt(s, 8);
  if (!Number.isFinite(v)) throw new Error(`corrupt tar header: size field ${JSON.stringify(s)}`);
  return v;
}

function paxPath(data: Uint8Array): string | undefined {
  const text = new TextDecoder().decode(data);
  for (const line of text.split("\n")) {
    const m = /^\d+ path=(.*)$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * Names the entries of one archive in order: a pax `x` header carries the path of the entry after it; global
 * pax and GNU long-name/link headers are metadata, skipped.
 */
class EntryNames {
  private nextPath: string | undefined;

  /** The path of a regular file's entry; undefined for metadata and other entry types. */
  regularFile(h: Uint8Array, data: Uint8Array): string | undefined {
    const type = String.fromCharCode(h[156] || 0x30);
    if (type === "x") {
      this.nextPath = paxPath(data);
      return undefined;
    }
    if (type === "g" || type === "L" || type === "K") return undefined;
    const prefix = field(h, 257, 6) === "ustar" ? field(h, 345, 155) : "";
    const name = this.nextPath ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    this.nextPath = undefined;
    return type === "0" || type === "7" ? name : undefined;
  }
}

/** The regular files of an uncompressed tar archive. */
export function readTar(tar: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let o = 0;
  const names = new EntryNames();
  while (o + 512 <= tar.length) {
    const h = tar.subarray(o, o + 512);
    if (h.every((b) => b === 0)) break; // end-of-archive marker
    const size = octal(h, 124, 12);
    const body = o + 512;
    if (body + size > tar.length) {
      throw new Error(`truncated tar archive: entry at byte ${o} needs ${size} bytes`);
    }
    const data = tar.subarray(body, body + size);
    o = body + Math.ceil(size / 512) * 512;
    const name = names.regularFile(h, data);
    if (name !== undefined) entries.push({ path: name, data });
  }
  return entries;
}

/** One entry of a streamed archive is held in memory whole: the largest accepted (audio files are far smaller). */
export const MAX_TAR_ENTRY = 1024 ** 3;

/** Reads exactly `n` bytes from a byte stream (fewer only at its end). */
class ByteReader {
  private buf = new Uint8Array(0);
  private done = false;
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  async read(n: number): Promise<Uint8Array> {
    while (this.buf.length < n && !this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        break;
      }
      const joined = new Uint8Array(this.buf.length + r.value.length);
      joined.set(this.buf);
      joined.set(r.value, this.buf.length);
      this.buf = joined;
    }
    const out = this.buf.slice(0, n);
    this.buf = this.buf.subarray(out.length);
    return out;
  }
}

/**
 * The regular files of an uncompressed tar stream, one at a time, so a large archive never sits in memory
 * whole; `want(path)` decides which entries' contents are kept (others are read past).
 */
export async function* readTarStream(
  stream: ReadableStream<Uint8Array>,
  want: (path: string) => boolean = () => true,
): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(stream[Symbol.asyncIterator]());
  const names = new EntryNames();
  let offset = 0;
  while (true) {
    const h = await reader.read(512);
    if (h.length < 512 || h.every((b) => b === 0)) return;
    const size = octal(h, 124, 12);
    if (size > MAX_TAR_ENTRY) {
      throw new Error(
        `tar stream: entry at byte ${offset} declares ${size} bytes, over the ${MAX_TAR_ENTRY}-byte limit for ` +
          `one file (a damaged or hostile archive); delete the download and try again`,
      );
    }
    const padded = Math.ceil(size / 512) * 512;
    const body = await reader.read(padded);
    if (body.length < padded) {
      throw new Error(`truncated tar stream: entry at byte ${offset} needs ${size} bytes`);
    }
    offset += 512 + padded;
    const data = body.subarray(0, size);
    const name = names.regularFile(h, data);
    if (name !== undefined && want(name)) yield { path: name, data };
  }
}
