/**
 * Splits a native FLAC file into its audio frames, for the WebAssembly decoder to decode frame by frame.
 * We do this ourselves because the splitter bundled with @wasm-audio-decoders/flac (codec-parser 2.5.0)
 * drops the last frame when its search for a following frame header stops exactly at the end of the data
 * (e.g. SAA english_333.flac: the final 576-sample block is lost). Here a frame ends where the CRC-16 over
 * its bytes checks out and the next valid frame header (or the end of the file, or a trailing ID3/APE tag)
 * begins; the whole file is in memory, so the end of the data is never ambiguous.
 */

const CRC8_TABLE = new Uint8Array(256);
const CRC16_TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let c8 = i;
  for (let k = 0; k < 8; k++) c8 = c8 & 0x80 ? ((c8 << 1) ^ 0x07) & 0xff : (c8 << 1) & 0xff;
  CRC8_TABLE[i] = c8;
  let c16 = i << 8;
  for (let k = 0; k < 8; k++) c16 = c16 & 0x8000 ? ((c16 << 1) ^ 0x8005) & 0xffff : (c16 << 1) & 0xffff;
  CRC16_TABLE[i] = c16;
}

/** The byte offset where audio frames start (after the last metadata block), or an error message. */
export function flacAudioOffset(bytes: Uint8Array): number | string {
  let o = 4;
  while (true) {
    if (o + 4 > bytes.length) return `metadata block header at byte ${o} runs past the end of the file`;
    const last = (bytes[o] & 0x80) !== 0;
    const len = (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3];
    o += 4 + len;
    if (o > bytes.length) return `metadata block ending at byte ${o} runs past the end of the file`;
    if (last) return o;
  }
}

/** Length of a valid frame header (sync, reserved bits, coded number, CRC-8) at `o`, else 0. */
export function flacFrameHeaderLength(b: Uint8Array, o: number): number {
  if (o + 6 > b.length || b[o] !== 0xff || (b[o + 1] & 0xfe) !== 0xf8) return 0;
  const blockBits = b[o + 2] >> 4, rateBits = b[o + 2] & 0x0f;
  if (blockBits === 0 || rateBits === 0x0f) return 0;
  const channelBits = b[o + 3] >> 4, sizeBits = (b[o + 3] >> 1) & 0x07;
  if (channelBits > 10 || sizeBits === 3 || (b[o + 3] & 1) !== 0) return 0;
  // UTF-8-like coded frame / sample number: 1 to 7 bytes.
  let n = 1;
  const first = b[o + 4];
  if (first >= 0x80) {
    if ((first & 0xe0) === 0xc0) n = 2;
    else if ((first & 0xf0) === 0xe0) n = 3;
    else if ((first & 0xf8) === 0xf0) n = 4;
    else if ((first & 0xfc) === 0xf8) n = 5;
    else if ((first & 0xfe) === 0xfc) n = 6;
    else if (first === 0xfe) n = 7;
    else return 0;
  }
  let len = 4 + n;
  if (o + len > b.length) return 0;
  for (let i = 1; i < n; i++) if ((b[o + 4 + i] & 0xc0) !== 0x80) return 0;
  if (blockBits === 6) len += 1;
  else if (blockBits === 7) len += 2;
  if (rateBits === 12) len += 1;
  else if (rateBits === 13 || rateBits === 14) len += 2;
  if (o + len + 1 > b.length) return 0;
  let crc = 0;
  for (let i = o; i < o + len; i++) crc = CRC8_TABLE[crc ^ b[i]];
  return crc === b[o + len] ? len + 1 : 0;
}

function isTrailingTag(b: Uint8Array, o: number): boolean {
  const s = String.fromCharCode(...b.subarray(o, o + 8));
  return s.startsWith("TAG") || s.startsWith("ID3") || s === "APETAGEX";
}

export type FlacFramesResult = { frames: Uint8Array[] } | { error: string; frames: Uint8Array[] };

/**
 * The audio frames of a native FLAC file (byte views into `bytes`). On a frame that has no valid end (a
 * corrupt or cut-short stream) the frames before it are returned with an `error` naming its position.
 */
export function flacFrames(bytes: Uint8Array): FlacFramesResult {
  const start = flacAudioOffset(bytes);
  if (typeof start === "string") return { error: start, frames: [] };
  const frames: Uint8Array[] = [];
  let p = start;
  while (p < bytes.length && !isTrailingTag(bytes, p)) {
    const headerLen = flacFrameHeaderLength(bytes, p);
    if (headerLen === 0) {
      return { error: `no valid frame header at byte ${p} (frame ${frames.length})`, frames };
    }
    // Running CRC-16 over [p, i): it is 0 exactly when the frame's last two bytes are its CRC-16.
    let crc = 0;
    let end = -1;
    for (let i = p; i < bytes.length; i++) {
      crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[(crc >> 8) ^ bytes[i]];
      const q = i + 1;
      if (crc === 0 && q >= p + headerLen + 2) {
        if (q === bytes.length || isTrailingTag(bytes, q) || flacFrameHeaderLength(bytes, q) > 0) {
          end = q;
          break;
        }
      }
    }
    if (end < 0) {
      return {
        error: `frame ${frames.length} at byte ${p} has no valid end (CRC-16) before the end of the file`,
        frames,
      };
    }
    frames.push(bytes.subarray(p, end));
    p = end;
  }
  return { frames };
}
