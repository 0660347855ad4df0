/**
 * Duplicate audio content in a manifest: rows whose files have the same bytes (sha256), under any id or path.
 * The same recording in two splits leaks test data into training (an error unless explicitly allowed); the
 * same recording twice within a split is counted and reported in the summary.
 */
import { sha256File } from "../common/hash.ts";

export interface DuplicateGroup {
  sha256: string;
  /** Row indices (0-based, into the rows given) sharing this content. */
  rows: number[];
  /** The distinct splits of those rows. */
  splits: string[];
}

export interface DuplicateReport {
  /** Contents found in more than one split (leakage). */
  crossSplit: DuplicateGroup[];
  /** split → rows whose content already appears earlier in the same split. */
  withinSplit: Record<string, number>;
}

// Hashes of this process's files, valid while size and mtime are unchanged (prepare validates, then re-reads).
const memo = new Map<string, { size: number; mtime: number; sha256: string }>();

async function contentHash(path: string): Promise<string> {
  const st = await Deno.stat(path);
  const mtime = st.mtime?.getTime() ?? -1;
  const hit = memo.get(path);
  if (hit && hit.size === st.size && hit.mtime === mtime) return hit.sha256;
  const sha256 = await sha256File(path);
  memo.set(path, { size: st.size, mtime, sha256 });
  return sha256;
}

/** Groups rows by the content of their (existing, regular) files. */
export async function findDuplicateAudio(rows: { path: string; split: string }[]): Promise<DuplicateReport> {
  const byHash = new Map<string, number[]>();
  for (let i = 0; i < rows.length; i++) {
    const h = await contentHash(rows[i].path);
    const list = byHash.get(h);
    if (list) list.push(i);
    else byHash.set(h, [i]);
  }
  const crossSplit: DuplicateGroup[] = [];
  const withinSplit: Record<string, number> = {};
  for (const [sha256, idx] of byHash) {
    if (idx.length < 2) continue;
    const perSplit = new Map<string, number>();
    for (const i of idx) perSplit.set(rows[i].split, (perSplit.get(rows[i].split) ?? 0) + 1);
    for (const [split, n] of perSplit) if (n > 1) withinSplit[split] = (withinSplit[split] ?? 0) + n - 1;
    if (perSplit.size > 1) crossSplit.push({ sha256, rows: idx, splits: [...perSplit.keys()] });
  }
  return { crossSplit, withinSplit };
}
