/** Counts of a manifest (per split × label) and each task's class balance, as JSON and as text. */
import type pl from "nodejs-polars";
import { manifestRows, SPLITS } from "./manifest.ts";
import { type ClassBalance, TASK_IDS, taskApplies, taskBalance, type TaskId, TASKS } from "./tasks.ts";

export interface ManifestSummary {
  dataset: string;
  manifest_path: string;
  n_utterances: number;
  n_speakers: number;
  /** split → accent_narrow → utterances. */
  counts: Record<string, Record<string, number>>;
  /** split → accent_broad → utterances. */
  counts_broad: Record<string, Record<string, number>>;
  /** split → speakers. */
  speakers: Record<string, number>;
  /** split → rows whose audio content (bytes) already appears earlier in the same split. */
  duplicate_audio: Record<string, number>;
  /** Per task: whether it applies, its class balance per split, and the utterances it drops (by narrow label). */
  tasks: Record<
    TaskId,
    { applies: boolean; splits: Record<string, ClassBalance>; excluded: Record<string, number> }
  >;
}

function countBy(
  rows: Record<string, unknown>[],
  key: string,
  by: string,
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const s of SPLITS) out[s] = {};
  for (const r of rows) {
    const a = String(r[key]), b = String(r[by]);
    out[a] ??= {};
    out[a][b] = (out[a][b] ?? 0) + 1;
  }
  return out;
}

/** `duplicates`: split → rows repeating content within the split (see findDuplicateAudio). */
export function summarizeManifest(
  manifest: pl.DataFrame,
  manifestPath: string,
  duplicates: Record<string, number> = {},
): ManifestSummary {
  const rows = manifestRows(manifest);
  const speakers: Record<string, number> = {};
  for (const s of SPLITS) {
    speakers[s] = new Set(rows.filter((r) => r.split === s).map((r) => r.speaker_id)).size;
  }
  const tasks = {} as ManifestSummary["tasks"];
  for (const t of TASK_IDS) {
    const excluded: Record<string, number> = {};
    for (const r of rows) {
      if (TASKS[t].label(r.accent_narrow) === null) {
        excluded[r.accent_narrow] = (excluded[r.accent_narrow] ?? 0) + 1;
      }
    }
    tasks[t] = { applies: taskApplies(manifest, t), splits: taskBalance(manifest, t), excluded };
  }
  return {
    dataset: [...new Set(rows.map((r) => r.dataset))].join("+"),
    manifest_path: manifestPath,
    n_utterances: rows.length,
    n_speakers: new Set(rows.map((r) => r.speaker_id)).size,
    counts: countBy(rows, "split", "accent_narrow"),
    counts_broad: countBy(rows, "split", "accent_broad"),
    speakers,
    duplicate_audio: duplicates,
    tasks,
  };
}

/** A human-readable table of the summary. */
export function formatSummary(s: ManifestSummary): string {
  const labels = [...new Set(Object.values(s.counts).flatMap((c) => Object.keys(c)))].sort();
  const w = Math.max(14, ...labels.map((l) => l.length)) + 2;
  const lines = [
    `${s.dataset}: ${s.n_utterances} utterances, ${s.n_speakers} speakers`,
    `manifest: ${s.manifest_path}`,
    "",
    "accent_narrow".padEnd(w) + [...SPLITS, "total"].map((x) => x.padStart(11)).join(""),
  ];
  for (const l of labels) {
    const n = SPLITS.map((sp) => s.counts[sp]?.[l] ?? 0);
    lines.push(
      l.padEnd(w) + [...n, n.reduce((a, b) => a + b, 0)].map((x) => String(x).padStart(11)).join(""),
    );
  }
  const totals = SPLITS.map((sp) => Object.values(s.counts[sp] ?? {}).reduce((a, b) => a + b, 0));
  lines.push(
    "(utterances)".padEnd(w) + [...totals, s.n_utterances].map((x) => String(x).padStart(11)).join(""),
  );
  lines.push(
    "(speakers)".padEnd(w) + [
      ...SPLITS.map((sp) => s.speakers[sp]),
      s.n_speakers,
    ].map((x) => String(x).padStart(11)).join(""),
  );
  const dup = Object.entries(s.duplicate_audio).filter(([, n]) => n > 0);
  if (dup.length > 0) {
    lines.push(
      "",
      `warning: duplicate audio within a split (same bytes as an earlier row): ` +
        dup.map(([split, n]) => `${split} ${n}`).join(", ") + " utterances",
    );
  }
  for (const t of TASK_IDS) {
    const task = s.tasks[t];
    const [c0, c1] = TASKS[t].classes;
    lines.push(
      "",
      `task ${t} (${TASKS[t].title}; 0 = ${c0}, 1 = ${c1}): ${task.applies ? "applies" : "does not apply"}`,
    );
    for (const [split, b] of Object.entries(task.splits)) {
      lines.push(
        `  ${split.padEnd(6)} ${String(b.n).padStart(6)} utt  ${String(b.n0).padStart(5)} ${c0} / ` +
          `${String(b.n1).padStart(5)} ${c1}  (${(100 * b.usShare).toFixed(2)} % US, ${b.speakers} speakers)`,
      );
    }
    const dropped = Object.entries(task.excluded).sort(([a], [b]) => (a < b ? -1 : 1));
    const nDropped = dropped.reduce((a, [, n]) => a + n, 0);
    lines.push(
      `  in neither class: ${nDropped} utt` +
        (nDropped ? ` (${dropped.map(([l, n]) => `${l} ${n}`).join(", ")})` : ""),
    );
  }
  return lines.join("\n");
}
