/**
 * WAV (RIFF/WAVE) reading and writing. Ours rather than a library's because every malformed-header case
 * must become an AudioError that says precisely what is wrong (truncation, absurd values, unsupported
 * encodings); the format itself is a few fixed fields.
 * Reads PCM 8/16/24/32-bit integer, IEEE float 32/64-bit, plain or WAVE_FORMAT_EXTENSIBLE, any channel count.
 */
import { AudioError, checkHeaderValues, type DecodedAudio } from "./errors.ts";

const FORMAT_PCM = 0x0001;
const FORMAT_FLOAT = 0x0003;
const FORMAT_EXTENSIBLE = 0xfffe;
/** Bytes 2..15 of the KSDATAFORMAT_SUBTYPE_* GUIDs for PCM and float (bytes 0..1 hold the format tag). */
const GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

const FORMAT_NAMES: Record<number, string> = {
  0x0002: "Microsoft ADPCM",
  0x0006: "A-law",
  0x0007: "µ-law",
  0x0011: "IMA ADPCM",
  0x0031: "GSM 6.10",
  0x0050: "MPEG",
  0x0055: "MPEG Layer 3",
};

export interface WavFormat {
  /** 1 = integer PCM, 3 = IEEE float (after resolving WAVE_FORMAT_EXTENSIBLE). */
  encoding: "pcm" | "float";
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign: number;
  extensible: boolean;
}

function fourcc(b: Uint8Array, o: number): string {
  return String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
}

/** Parses a WAV file's bytes; only the first `maxSeconds` are converted (cropping before any work). */
export function parseWav(bytes: Uint8Array, path: string, maxSeconds = Infinity): DecodedAudio {
  if (bytes.length === 0) throw new AudioError(path, "empty file (0 bytes)");
  if (bytes.length < 12) {
    throw new AudioError(path, `truncated header: ${bytes.length} bytes, a WAV header needs at least 44`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riff = fourcc(bytes, 0);
  if (riff === "RIFX") throw new AudioError(path, "unsupported format: big-endian WAV (RIFX)");
  if (riff === "RF64") throw new AudioError(path, "unsupported format: RF64 (64-bit WAV)");
  if (riff !== "RIFF") throw new AudioError(path, `not a WAV file (starts with ${JSON.stringify(riff)})`);
  const form = fourcc(bytes, 8);
  if (form !== "WAVE") {
    throw new AudioError(path, `RIFF file of type ${JSON.stringify(form)}, not WAVE audio`);
  }

  let format: WavFormat | undefined;
  let offset = 12;
  while (true) {
    if (offset + 8 > bytes.length) {
      throw new AudioError(
        path,
        `truncated header: file ends at byte ${bytes.length} before a ${format ? "data" : "fmt"} chunk`,
      );
    }
    const id = fourcc(bytes, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      if (body + size > bytes.length || size < 16) {
        throw new AudioError(
          path,
          `truncated header: fmt chunk declares ${size} bytes, file has ${
            Math.max(0, bytes.length - body)
          } (needs at least 16)`,
        );
      }
      format = parseFmt(view, body, size, path);
    } else if (id === "data") {
      if (!format) throw new AudioError(path, "malformed WAV: data chunk before the fmt chunk");
      return decodeData(bytes, view, body, size, format, path, Math.ceil(maxSeconds * format.sampleRate));
    }
    offset = body + size + (size & 1); // chunks are word-aligned
  }
}

function parseFmt(view: DataView, o: number, size: number, path: string): WavFormat {
  let tag = view.getUint16(o, true);
  const channels = view.getUint16(o + 2, true);
  const sampleRate = view.getUint32(o + 4, true);
  const blockAlign = view.getUint16(o + 12, true);
  const bitsPerSample = view.getUint16(o + 14, true);
  const extensible = tag === FORMAT_EXTENSIBLE;
  if (extensible) {
    if (size < 40) {
      throw new AudioError(
        path,
        `truncated header: WAVE_FORMAT_EXTENSIBLE fmt chunk of ${size} bytes (needs 40)`,
      );
    }
    tag = view.getUint16(o + 24, true);
    for (let i = 0; i < GUID_TAIL.length; i++) {
      if (view.getUint8(o + 26 + i) !== GUID_TAIL[i]) {
        throw new AudioError(
          path,
          "unsupported codec: WAVE_FORMAT_EXTENSIBLE with a non-PCM/float sub-format",
        );
      }
    }
  }
  if (tag !== FORMAT_PCM && tag !== FORMAT_FLOAT) {
    const name = FORMAT_NAMES[tag] ?? "unknown";
    throw new AudioError(
      path,
      `unsupported codec: WAV format tag 0x${tag.toString(16).padStart(4, "0")} (${name}); ` +
        "supported: integer PCM and IEEE float",
    );
  }
  checkHeaderValues(path, sampleRate, channels);
  const encoding = tag === FORMAT_PCM ? "pcm" : "float";
  const allowed = encoding === "pcm" ? [8, 16, 24, 32] : [32, 64];
  if (!allowed.includes(bitsPerSample)) {
    throw new AudioError(
      path,
      `unsupported format: ${bitsPerSample}-bit ${encoding === "pcm" ? "integer PCM" : "float"} ` +
        `(supported: ${allowed.join("/")}-bit)`,
    );
  }
  const expectedAlign = channels * bitsPerSample / 8;
  if (blockAlign !== expectedAlign) {
    throw new AudioError(
      path,
      `inconsistent header: block align ${blockAlign} bytes, but ${channels} channels × ${bitsPerSample} bits ` +
        `= ${expectedAlign}`,
    );
  }
  return { encoding, channels, sampleRate, bitsPerSample, blockAlign, extensible };
}

function decodeData(
  bytes: Uint8Array,
  view: DataView,
  body: number,
  size: number,
  f: WavFormat,
  path: string,
  maxFrames: number,
): DecodedAudio {
  const available = bytes.length - body;
  if (size > available) {
    throw new AudioError(
      path,
      `truncated data: header declares ${size} bytes of audio, the file holds ${available}`,
    );
  }
  if (size === 0) throw new AudioError(path, "zero-length audio (the data chunk is empty)");
  if (size % f.blockAlign !== 0) {
    throw new AudioError(
      path,
      `truncated data: ${size} bytes is not a whole number of ${f.blockAlign}-byte frames`,
    );
  }
  const frames = Math.min(size / f.blockAlign, maxFrames);
  const channels = Array.from({ length: f.channels }, () => new Float32Array(frames));
  const bps = f.bitsPerSample / 8;
  const read = sampleReader(view, f);
  for (let i = 0, o = body; i < frames; i++) {
    for (let c = 0; c < f.channels; c++, o += bps) channels[c][i] = read(o);
  }
  if (f.encoding === "float") checkFloatRange(channels, path);
  return { channels, sampleRate: f.sampleRate };
}

/**
 * Float WAV samples are nominally in [−1, 1]; a little overshoot is ordinary (clipping, resampling), but values
 * far outside mean the file was scaled wrongly (integers written as floats: ×32768) or is damaged, and every
 * feature computed from it would be off. This is the margin allowed.
 */
export const FLOAT_WAV_LIMIT = 2;

function checkFloatRange(channels: Float32Array[], path: string): void {
  for (let c = 0; c < channels.length; c++) {
    const x = channels[c];
    for (let i = 0; i < x.length; i++) {
      if (Math.abs(x[i]) > FLOAT_WAV_LIMIT) {
        throw new AudioError(
          path,
          `float sample ${x[i]} at frame ${i}, channel ${c} is far outside [−1, 1] (allowed up to ` +
            `±${FLOAT_WAV_LIMIT}); the file is scaled wrongly (integer values stored as float?) or damaged — ` +
            `rescale it to [−1, 1] or re-export it as integer PCM`,
        );
      }
    }
  }
}

function sampleReader(view: DataView, f: WavFormat): (o: number) => number {
  if (f.encoding === "float") {
    return f.bitsPerSample === 32 ? (o) => view.getFloat32(o, true) : (o) => view.getFloat64(o, true);
  }
  switch (f.bitsPerSample) {
    case 8:
      return (o) => (view.getUint8(o) - 128) / 128;
    case 16:
      return (o) => view.getInt16(o, true) / 32768;
    case 24:
      return (o) => (view.getUint8(o) | (view.getUint8(o + 1) << 8) | (view.getInt8(o + 2) << 16)) / 8388608;
    default:
      return (o) => view.getInt32(o, true) / 2147483648;
  }
}

export interface WavWriteOptions {
  encoding?: "pcm" | "float";
  /** 8/16/24/32 for pcm, 32/64 for float. */
  bitsPerSample?: number;
  /** Write a WAVE_FORMAT_EXTENSIBLE header. */
  extensible?: boolean;
}

/** Encodes channels (equal lengths) as a WAV file; integer PCM clips to [-1, 1). Default: 16-bit PCM. */
export function encodeWav(
  channels: Float32Array[],
  sampleRate: number,
  opts: WavWriteOptions = {},
): Uint8Array {
  const encoding = opts.encoding ?? "pcm";
  const bits = opts.bitsPerSample ?? (encoding === "pcm" ? 16 : 32);
  const nc = channels.length, frames = channels[0]?.length ?? 0;
  const bps = bits / 8, blockAlign = nc * bps, dataSize = frames * blockAlign;
  const fmtSize = opts.extensible ? 40 : 16;
  const total = 12 + 8 + fmtSize + 8 + dataSize;
  const out = new Uint8Array(total + (dataSize & 1));
  const v = new DataView(out.buffer);
  const put4 = (o: number, s: string) => {
    for (let i = 0; i < 4; i++) out[o + i] = s.charCodeAt(i);
  };
  put4(0, "RIFF");
  v.setUint32(4, out.length - 8, true);
  put4(8, "WAVE");
  put4(12, "fmt ");
  v.setUint32(16, fmtSize, true);
  const tag = encoding === "pcm" ? FORMAT_PCM : FORMAT_FLOAT;
  v.setUint16(20, opts.extensible ? FORMAT_EXTENSIBLE : tag, true);
  v.setUint16(22, nc, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * blockAlign, true);
  v.setUint16(32, blockAlign, true);
  v.setUint16(34, bits, true);
  if (opts.extensible) {
    v.setUint16(36, 22, true);
    v.setUint16(38, bits, true);
    v.setUint32(40, 0, true); // no speaker positions assigned
    v.setUint16(44, tag, true);
    out.set(GUID_TAIL, 46);
  }
  const d = 12 + 8 + fmtSize;
  put4(d, "data");
  v.setUint32(d + 4, dataSize, true);
  let o = d + 8;
  const full = 2 ** (bits - 1);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nc; c++, o += bps) {
      const x = channels[c][i];
      if (encoding === "float") {
        if (bits === 32) v.setFloat32(o, x, true);
        else v.setFloat64(o, x, true);
        continue;
      }
      const q = Math.max(-full, Math.min(full - 1, Math.round(x * full)));
      if (bits === 8) v.setUint8(o, q + 128);
      else if (bits === 16) v.setInt16(o, q, true);
      else if (bits === 24) {
        v.setUint8(o, q & 0xff);
        v.setUint8(o + 1, (q >> 8) & 0xff);
        v.setInt8(o + 2, q >> 16);
      } else v.setInt32(o, q, true);
    }
  }
  return out;
}
