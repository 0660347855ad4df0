/**
 * The frames of a feature store: each recording's ê (T × d float32), kept when an extraction is asked to
 * (frame-level SAEs), beside the pooled u of the same pass.
 *
 * Layout inside a store directory:
 *   frames/<key>.npy     ê of one recording, T × d float32 (numpy: `np.load(path)`), written atomically;
 *                        <key> = the first 16 hex digits of sha256(utterance_id + "\0" + the audio file's
 *                        sha256), so a changed file gets a new name and never reuses stale frames.
 *   frames/index.csv     utterance_id,file,frames — one line per recording of the merged view that has its
 *                        frames (file relative to frames/), rewritten at the end of every extraction.
 * From Python: `idx = pd.read_csv(f"{store}/frames/index.csv"); e = np.load(f"{store}/frames/{idx.file[0]}")`.
 */
import { join } from "node:path";
import { exists, writeFileAtomic } from "../common/fs.ts";
import { sha256Hex } from "../common/hash.ts";
import { type Matrix, readMatrix, writeMatrix } from "../common/matrix.ts";

export const FRAMES_DIR = "frames";

/** The file name of a recording's frames: keyed by its id and its audio content. */
export async function frameFileName(utteranceId: string, audioSha256: string): Promise<string> {
  return `${(await sha256Hex(`${utteranceId}\u0000${audioSha256}`)).slice(0, 16)}.npy`;
}

/** Where a store keeps a recording's frames. */
export async function framePath(storeDir: string, utteranceId: string, audioSha256: string): Promise<string> {
  return join(storeDir, FRAMES_DIR, await frameFileName(utteranceId, audioSha256));
}

/** Writes one recording's ê (T × d) to its frames file. */
export async function writeFrames(path: string, e: Matrix): Promise<void> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await writeMatrix(path, e);
}

/** Reads one recording's ê, checking its width. */
export async function readFrames(path: string, d: number): Promise<Matrix> {
  const m = await readMatrix(path);
  if (m.cols !== d || m.rows < 1) {
    throw new Error(
      `${path}: frames are ${m.rows}×${m.cols}, expected T × ${d} with T ≥ 1; re-extract the store`,
    );
  }
  return m;
}

/** One line of frames/index.csv. */
export interface FrameEntry {
  utterance_id: string;
  /** Relative to the store's frames/ folder. */
  file: string;
  frames: number;
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Rewrites frames/index.csv. */
export async function writeFramesIndex(storeDir: string, entries: FrameEntry[]): Promise<void> {
  const lines = ["utterance_id,file,frames"];
  for (const e of entries) lines.push(`${csvField(e.utterance_id)},${e.file},${e.frames}`);
  await Deno.mkdir(join(storeDir, FRAMES_DIR), { recursive: true });
  await writeFileAtomic(join(storeDir, FRAMES_DIR, "index.csv"), lines.join("\n") + "\n");
}

/**
 * The frames file of each of `rows` (absolute paths, same order), or null when the store keeps no frames for
 * some of them (an extraction without frames, or rows encoded before frames were kept).
 */
export async function frameFilesOf(
  storeDir: string,
  rows: { utterance_id: string; sha256: string }[],
): Promise<string[] | null> {
  const out: string[] = [];
  for (const r of rows) {
    const p = await framePath(storeDir, r.utterance_id, r.sha256);
    if (!r.sha256 || !(await exists(p))) return null;
    out.push(p);
  }
  return out;
}
