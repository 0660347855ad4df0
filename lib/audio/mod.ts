/**
 * Audio input: decode WAV / FLAC / MP3 (chosen by content, not by extension), crop to the first
 * `maxSeconds` before any further work, downmix to mono, and resample band-limited to the codec's rate.
 * Every failure is an AudioError naming the file and the problem.
 */
import { decodeFlac, decodeMp3, id3Length, looksLikeMp3 } from "./compressed.ts";
import { AudioError, checkDecoded, type DecodedAudio } from "./errors.ts";
import { resample } from "./resample.ts";
import { parseWav } from "./wav.ts";

export { AudioError, type DecodedAudio } from "./errors.ts";
export { resample } from "./resample.ts";
export { encodeWav, parseWav, type WavWriteOptions } from "./wav.ts";

/** The paper crops every utterance to its first 30 seconds. */
export const DEFAULT_MAX_SECONDS = 30;

export type AudioContainer = "wav" | "flac" | "mp3";

function ascii(bytes: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...bytes.subarray(from, to));
}

/** Identifies the container from the first bytes; throws AudioError for anything not decodable. */
export function sniffContainer(bytes: Uint8Array, path: string): AudioContainer {
  if (bytes.length === 0) throw new AudioError(path, "empty file (0 bytes)");
  const head = ascii(bytes, 0, Math.min(4, bytes.length));
  if (["RIFF", "RIFX", "RF64"].some((m) => m.startsWith(head))) return "wav";
  if ("fLaC".startsWith(head)) {
    if (bytes.length < 4) throw new AudioError(path, `truncated header: ${bytes.length} bytes`);
    return "flac";
  }
  if (looksLikeMp3(bytes)) return "mp3";
  const unsupported: [boolean, string][] = [
    [head === "OggS", "Ogg (Vorbis/Opus)"],
    [head === "FORM", "AIFF"],
    [head === "caff", "Core Audio (CAF)"],
    [bytes.length >= 8 && ascii(bytes, 4, 8) === "ftyp", "MP4/M4A"],
    [bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3, "Matroska/WebM"],
  ];
  for (const [hit, name] of unsupported) {
    if (hit) throw new AudioError(path, `unsupported codec/container: ${name} (supported: WAV, FLAC, MP3)`);
  }
  const preview = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(" ");
  throw new AudioError(path, `not an audio file: content is not WAV, FLAC or MP3 (first bytes ${preview})`);
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    // A FIFO or device would block or never end: only regular files (or links to them) are read.
    const stat = await Deno.stat(path);
    if (stat.isDirectory) throw new AudioError(path, "is a folder, not an audio file");
    if (!stat.isFile) {
      throw new AudioError(path, "is not a regular file (a FIFO, socket or device); give an audio file");
    }
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof AudioError) throw e;
    if (e instanceof Deno.errors.NotFound) throw new AudioError(path, "file not found");
    if (/symbolic links|ELOOP/i.test((e as Error).message)) {
      throw new AudioError(path, "is a symbolic link that loops (too many levels of links); fix the link");
    }
    throw new AudioError(path, `cannot read (${(e as Error).message})`);
  }
}

/**
 * An ID3v2 tag in front of a FLAC or WAV file (some taggers add one; sox reads past it): the bytes after it,
 * when they start a FLAC or WAV stream; otherwise the bytes as they are (an MP3 keeps its tag).
 */
function skipId3BeforeOtherContainer(bytes: Uint8Array): Uint8Array {
  const tag = id3Length(bytes);
  if (tag === 0 || tag + 4 > bytes.length) return bytes;
  const head = ascii(bytes, tag, tag + 4);
  return ["fLaC", "RIFF", "RIFX", "RF64"].includes(head) ? bytes.subarray(tag) : bytes;
}

export interface DecodeOptions {
  /** Keep only the first maxSeconds (default: everything). */
  maxSeconds?: number;
}

/** Decodes a file to per-channel float samples at its own rate, optionally cropped; validates the result. */
export async function decodeAudio(path: string, opts: DecodeOptions = {}): Promise<DecodedAudio> {
  const maxSeconds = opts.maxSeconds ?? Infinity;
  if (!(maxSeconds > 0)) throw new RangeError(`decodeAudio: maxSeconds must be > 0, got ${maxSeconds}`);
  const bytes = skipId3BeforeOtherContainer(await readBytes(path));
  const container = sniffContainer(bytes, path);
  let audio: DecodedAudio;
  if (container === "wav") {
    // WAV frames beyond the crop are never converted.
    audio = parseWav(bytes, path, maxSeconds);
  } else {
    audio = container === "flac" ? await decodeFlac(bytes, path) : await decodeMp3(bytes, path);
  }
  return checkDecoded(path, crop(audio, maxSeconds));
}

function crop(audio: DecodedAudio, maxSeconds: number): DecodedAudio {
  const limit = Math.ceil(maxSeconds * audio.sampleRate);
  if (!Number.isFinite(limit) || audio.channels[0].length <= limit) return audio;
  return { ...audio, channels: audio.channels.map((c) => c.subarray(0, limit)) };
}

/** Averages the channels (a mono input is returned as is). */
export function toMono(channels: Float32Array[]): Float32Array {
  if (channels.length === 0) throw new RangeError("toMono: no channels");
  if (channels.length === 1) return channels[0];
  const n = channels[0].length, out = new Float32Array(n), scale = 1 / channels.length;
  for (const ch of channels) {
    if (ch.length !== n) throw new RangeError("toMono: channels differ in length");
    for (let i = 0; i < n; i++) out[i] += ch[i] * scale;
  }
  return out;
}

export interface LoadOptions {
  /** Target rate (the codec's), Hz. */
  sampleRate: number;
  /** Crop to the first maxSeconds before resampling (default 30). */
  maxSeconds?: number;
}

/** decode → crop to maxSeconds → mono → band-limited resample to `sampleRate`. */
export async function loadAudio(path: string, opts: LoadOptions): Promise<Float32Array> {
  const { channels, sampleRate } = await decodeAudio(path, {
    maxSeconds: opts.maxSeconds ?? DEFAULT_MAX_SECONDS,
  });
  return resample(toMono(channels), sampleRate, opts.sampleRate);
}
