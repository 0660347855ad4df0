/**
 * FLAC and MP3 decoding through maintained WebAssembly decoders (@wasm-audio-decoders/flac, mpg123-decoder),
 * with the checks those decoders leave to the caller: they return zero samples rather than failing on
 * garbage, and do not notice a FLAC stream cut short.
 */
import { FLACDecoder } from "@wasm-audio-decoders/flac";
import { MPEGDecoder } from "mpg123-decoder";
import { AudioError, checkHeaderValues, type DecodedAudio } from "./errors.ts";
import { flacFrames } from "./flac_frames.ts";

interface DecoderResult {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: { message: string; frameNumber?: number; inputBytes?: number; outputSamples?: number }[];
}

/**
 * Runs a decoder call with its own console.error lines (mpg123-decoder prints each error there) held back:
 * the errors come back in the result and are reported once, in our message.
 */
function quietDecoder<T>(call: () => T): T {
  const original = console.error;
  console.error = (...args: unknown[]) => {
    if (typeof args[0] === "string" && args[0].startsWith("mpg123-decoder:")) return;
    original(...args);
  };
  try {
    return call();
  } finally {
    console.error = original;
  }
}

function firstError(r: DecoderResult): string | undefined {
  const e = r.errors[0];
  return e ? `${e.message}${e.frameNumber !== undefined ? ` (frame ${e.frameNumber})` : ""}` : undefined;
}

/** Total samples per channel and format from the mandatory STREAMINFO block (0 = unknown length). */
function flacStreamInfo(bytes: Uint8Array, path: string): { totalSamples: number; bitsPerSample: number } {
  // "fLaC", 4-byte block header, 34-byte STREAMINFO.
  if (bytes.length < 42) {
    throw new AudioError(path, `truncated header: ${bytes.length} bytes, a FLAC header needs at least 42`);
  }
  const blockType = bytes[4] & 0x7f;
  if (blockType !== 0) throw new AudioError(path, "malformed FLAC: first metadata block is not STREAMINFO");
  const s = 8;
  const sampleRate = (bytes[s + 10] << 12) | (bytes[s + 11] << 4) | (bytes[s + 12] >> 4);
  const channels = ((bytes[s + 12] >> 1) & 0x07) + 1;
  checkHeaderValues(path, sampleRate, channels);
  const totalSamples = (bytes[s + 13] & 0x0f) * 2 ** 32 +
    ((bytes[s + 14] << 24) >>> 0) + (bytes[s + 15] << 16) + (bytes[s + 16] << 8) + bytes[s + 17];
  const bitsPerSample = (((bytes[s + 12] & 1) << 4) | (bytes[s + 13] >> 4)) + 1;
  return { totalSamples, bitsPerSample };
}

/**
 * The decoder scales B-bit integers by 1 / (2^(B-1) - 1); WAV reading (and sox) by 1 / 2^(B-1). Rescaled
 * here (through the exact integer) so a FLAC file and the WAV it was made from decode to identical floats.
 */
function rescaleFlac(channels: Float32Array[], bits: number): void {
  const from = 2 ** (bits - 1) - 1, to = 2 ** (bits - 1);
  for (const x of channels) for (let i = 0; i < x.length; i++) x[i] = Math.round(x[i] * from) / to;
}

export async function decodeFlac(bytes: Uint8Array, path: string): Promise<DecodedAudio> {
  const { totalSamples, bitsPerSample } = flacStreamInfo(bytes, path);
  // Frames are split here, not by the decoder's bundled parser, which loses a short final block.
  const split = flacFrames(bytes);
  if ("error" in split) {
    throw new AudioError(
      path,
      `truncated data or corrupt FLAC stream: ${split.error}` +
        (totalSamples > 0 ? ` (STREAMINFO declares ${totalSamples} samples)` : ""),
    );
  }
  if (split.frames.length === 0) throw new AudioError(path, "zero-length audio (no FLAC frames)");
  const decoder = new FLACDecoder();
  await decoder.ready;
  let r: DecoderResult;
  try {
    r = await decoder.decodeFrames(split.frames) as DecoderResult;
  } catch (e) {
    throw new AudioError(path, `corrupt FLAC stream (${(e as Error).message})`);
  } finally {
    decoder.free();
  }
  const err = firstError(r);
  if (err) throw new AudioError(path, `corrupt FLAC stream: ${err}`);
  if (r.samplesDecoded === 0) {
    throw new AudioError(
      path,
      totalSamples === 0
        ? "zero-length audio (no samples)"
        : "truncated or corrupt data: no complete FLAC frame decoded",
    );
  }
  if (totalSamples > 0 && r.samplesDecoded !== totalSamples) {
    throw new AudioError(
      path,
      `${r.samplesDecoded < totalSamples ? "truncated" : "inconsistent"} data: STREAMINFO declares ` +
        `${totalSamples} samples, ${r.samplesDecoded} decoded`,
    );
  }
  rescaleFlac(r.channelData, bitsPerSample);
  return { channels: r.channelData, sampleRate: r.sampleRate };
}

export async function decodeMp3(bytes: Uint8Array, path: string): Promise<DecodedAudio> {
  if (isFreeFormat(bytes)) {
    // The wasm mpg123 build decodes only part of such streams (or nothing), which would read as damage.
    throw new AudioError(
      path,
      "free-format MP3 (no bitrate in its frame headers), which the decoder does not support; re-encode it " +
        "with a standard bitrate (e.g. lame -b 128) or convert it to WAV or FLAC",
    );
  }
  const decoder = new MPEGDecoder();
  await decoder.ready;
  let r: DecoderResult;
  try {
    r = quietDecoder(() => decoder.decode(bytes) as DecoderResult);
  } catch (e) {
    throw new AudioError(path, `corrupt MP3 stream (${(e as Error).message})`);
  } finally {
    decoder.free();
  }
  if (r.errors.length > 0) {
    // One decode call covers the whole stream, so the decoder's frame number is always 0: say where instead.
    const e = r.errors[0];
    const at = e.outputSamples !== undefined && r.sampleRate > 0
      ? ` after ${e.outputSamples} good samples (${(e.outputSamples / r.sampleRate).toFixed(2)} s)`
      : "";
    throw new AudioError(
      path,
      `corrupt MP3 stream: ${e.message}${at}, ${r.errors.length} decoder error${
        r.errors.length > 1 ? "s" : ""
      }`,
    );
  }
  if (r.samplesDecoded === 0) {
    throw new AudioError(path, "no MPEG audio frames could be decoded (zero-length or not MP3)");
  }
  // mpg123 resynchronises past damaged bytes without a word: the frame chain shows where they are.
  const broken = mp3ChainBreak(bytes);
  if (broken) {
    const at = r.sampleRate > 0
      ? `, ~${(broken.samplesBefore / r.sampleRate).toFixed(2)} s into the audio`
      : "";
    throw new AudioError(
      path,
      `truncated or corrupt MP3 data at byte ${broken.offset} (after ${broken.frame} good frames${at}): ${broken.what}; ` +
        `the file is damaged — re-encode or replace it, or remove it from the manifest`,
    );
  }
  // mpg123 skips damaged frames silently; an encoder's Xing/Info tag tells how many there should be.
  const declared = xingSamples(bytes);
  if (declared !== undefined && r.samplesDecoded < declared - GAPLESS_SLACK) {
    throw new AudioError(
      path,
      `truncated or corrupt data: the Xing/Info header declares ~${declared} samples, only ${r.samplesDecoded} decoded`,
    );
  }
  return { channels: r.channelData, sampleRate: r.sampleRate };
}

/** Encoder delay + padding trimmed by gapless decoding is at most a few frames' worth. */
const GAPLESS_SLACK = 3 * 1152;

/** Bytes of an ID3v2 tag at the start of the file (header + body), 0 when there is none. */
export function id3Length(bytes: Uint8Array): number {
  if (bytes.length < 10 || bytes[0] !== 0x49 || bytes[1] !== 0x44 || bytes[2] !== 0x33) return 0;
  return 10 +
    ((bytes[6] & 0x7f) << 21 | (bytes[7] & 0x7f) << 14 | (bytes[8] & 0x7f) << 7 | (bytes[9] & 0x7f));
}

function isFrameHeader(bytes: Uint8Array, o: number): boolean {
  if (o + 4 > bytes.length || bytes[o] !== 0xff || (bytes[o + 1] & 0xe0) !== 0xe0) return false;
  const version = (bytes[o + 1] >> 3) & 3, layer = (bytes[o + 1] >> 1) & 3;
  const bitrate = bytes[o + 2] >> 4, rate = (bytes[o + 2] >> 2) & 3;
  return version !== 1 && layer !== 0 && bitrate !== 15 && rate !== 3;
}

/** Bytes and samples of the MPEG audio frame whose header is at `o`; null for free-format (no length). */
function frameSize(bytes: Uint8Array, o: number): { bytes: number; samples: number } | null {
  const version = (bytes[o + 1] >> 3) & 3, layer = (bytes[o + 1] >> 1) & 3;
  const bitrateIndex = bytes[o + 2] >> 4,
    rateIndex = (bytes[o + 2] >> 2) & 3,
    padding = (bytes[o + 2] >> 1) & 1;
  if (bitrateIndex === 0) return null;
  const mpeg1 = version === 3;
  const rate = [44100, 48000, 32000][rateIndex] / (mpeg1 ? 1 : version === 2 ? 2 : 4);
  const table = mpeg1 ? BITRATES_V1[3 - layer] : (layer === 3 ? BITRATES_V2_L1 : BITRATES_V2_L23);
  const bitrate = table[bitrateIndex] * 1000;
  if (layer === 3) return { bytes: (Math.floor((12 * bitrate) / rate) + padding) * 4, samples: 384 };
  const perFrame = layer === 2 || mpeg1 ? 1152 : 576;
  return { bytes: Math.floor((perFrame / 8) * bitrate / rate) + padding, samples: perFrame };
}

const BITRATES_V1 = [
  [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448], // Layer I
  [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384], // Layer II
  [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320], // Layer III
];
const BITRATES_V2_L1 = [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256];
const BITRATES_V2_L23 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];

/** Whether the first MPEG frame header (after any ID3v2 tag and padding) is free-format (bitrate index 0). */
function isFreeFormat(bytes: Uint8Array): boolean {
  let o = id3Length(bytes);
  while (o < bytes.length && bytes[o] === 0) o++;
  return isFrameHeader(bytes, o) && bytes[o + 2] >> 4 === 0;
}

/** Tags that may follow the last audio frame (ID3v1, APEv2, Lyrics3) or precede it again (ID3v2). */
function isTrailingTag(bytes: Uint8Array, o: number): boolean {
  const head = String.fromCharCode(...bytes.subarray(o, Math.min(o + 8, bytes.length)));
  return head.startsWith("TAG") || head.startsWith("APETAGEX") || head.startsWith("LYRICS") ||
    head.startsWith("ID3");
}

/**
 * Walks the MPEG frames from the first one: each header gives the frame's length, so the next header must
 * follow exactly there until the end of the file (or a trailing tag). Where it does not, bytes inside the
 * stream are damaged (mpg123 skips them silently). Free-format streams (no frame length) are not walked. A
 * last frame cut short by at most its own length counts as truncation and is reported the same way.
 */
export function mp3ChainBreak(
  bytes: Uint8Array,
): { offset: number; frame: number; samplesBefore: number; what: string } | null {
  let o = id3Length(bytes);
  while (o < bytes.length && bytes[o] === 0) o++; // padding after an ID3v2 tag
  if (!isFrameHeader(bytes, o)) return null; // the decoder found its own start; nothing to compare with
  let frame = 0, samples = 0;
  while (o < bytes.length) {
    if (isTrailingTag(bytes, o)) return null;
    if (!isFrameHeader(bytes, o)) {
      // Zero padding to the end of the file is not audio damage.
      if (bytes.subarray(o).every((b) => b === 0)) return null;
      return {
        offset: o,
        frame,
        samplesBefore: samples,
        what: "no MPEG frame header where the previous frame ends",
      };
    }
    const size = frameSize(bytes, o);
    if (!size) return null;
    if (o + size.bytes > bytes.length) {
      return {
        offset: o,
        frame,
        samplesBefore: samples,
        what: "the last frame is cut short (truncated file)",
      };
    }
    o += size.bytes;
    samples += size.samples;
    frame++;
  }
  return null;
}

/** Samples per channel declared by a Xing/Info tag in the first frame (frames × samples per frame). */
function xingSamples(bytes: Uint8Array): number | undefined {
  const o = id3Length(bytes);
  if (!isFrameHeader(bytes, o)) return undefined;
  const mpeg1 = ((bytes[o + 1] >> 3) & 3) === 3;
  const layer = (bytes[o + 1] >> 1) & 3; // 3 = Layer I, 2 = Layer II, 1 = Layer III
  const mono = (bytes[o + 3] >> 6) === 3;
  const perFrame = layer === 3 ? 384 : layer === 2 || mpeg1 ? 1152 : 576;
  const t = o + 4 + (mpeg1 ? (mono ? 17 : 32) : (mono ? 9 : 17));
  if (t + 12 > bytes.length) return undefined;
  const tag = String.fromCharCode(bytes[t], bytes[t + 1], bytes[t + 2], bytes[t + 3]);
  if ((tag !== "Xing" && tag !== "Info") || (bytes[t + 7] & 1) === 0) return undefined;
  const frames = ((bytes[t + 8] << 24) >>> 0) + (bytes[t + 9] << 16) + (bytes[t + 10] << 8) + bytes[t + 11];
  return frames * perFrame;
}

/** True for an ID3v2 tag or a valid MPEG audio frame header at the start of the file. */
export function looksLikeMp3(bytes: Uint8Array): boolean {
  return id3Length(bytes) > 0 || isFrameHeader(bytes, 0);
}
