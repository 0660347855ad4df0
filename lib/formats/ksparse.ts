/**
 * The k-sparse probing table a grid run writes beside its results (`ksparse.parquet` + `ksparse.csv`): one row
 * per (results row of a feature kind, probe size k), from lib/probe/ksparse.ts — the probe fit on the k latents
 * whose class means differ most on the probe-training rows, for k ∈ {1, 2, 5, 10, 20} capped at the feature's
 * column count, and on all of them (`all_latents`, k = the column count: the full probe). Declared once here,
 * like the results tables; the report's "how many latents carry the attribute" charts read it.
 */
import { readTableFiles, writeTableFiles } from "./table_files.ts";
import pl from "nodejs-polars";
import { join } from "node:path";
import { type Column, type ResultRow, type RowOf, tableFrame } from "./results.ts";

export const KSPARSE_FILE = "ksparse";

export const KSPARSE_TABLE = [
  { name: "dataset", type: "str", required: true },
  { name: "codec", type: "str", required: true },
  { name: "task", type: "str", required: true },
  /** The protocol of the results row: pooling of ê over time, the probe protocol, what the SAE was fit on. */
  { name: "pooling", type: "str", required: true },
  { name: "probe_protocol", type: "str", required: true },
  /** 1 for the paper's split and the "dev" protocol. */
  { name: "probe_folds", type: "int" },
  /** "utterance" (the paper: the SAE encodes mean_t ê_t) or "frames" (it encodes every frame, then pools). */
  { name: "sae_input", type: "str" },
  /** The SAE configuration (null on the reference u, which has no SAE). */
  { name: "q", type: "float", nullable: true, required: true },
  { name: "s", type: "float", nullable: true, required: true },
  { name: "seed", type: "int", required: true },
  /** The probe's features: "z", "z_pos", "z_mag" (or "u"). */
  { name: "feature", type: "str", required: true },
  /** Latents the probe was fit on; with `all_latents`, every column of the feature (the full probe). */
  { name: "k", type: "int", required: true },
  { name: "all_latents", type: "bool", required: true },
  /** Macro-F1 on the scored rows, and its interval over test speakers (null until computed). */
  { name: "f1", type: "float", required: true },
  { name: "f1_low", type: "float", nullable: true },
  { name: "f1_high", type: "float", nullable: true },
  /** The reference probe's F1 on u for the same setting and protocol: what all latents are measured against. */
  { name: "f1_ref", type: "float", required: true },
  { name: "n_test", type: "int", required: true },
  /** The results row's `cell_key`: with `feature`, it names the results row this k-sparse probe belongs to. */
  { name: "cell_key", type: "str", required: true },
  /** Fold 0's chosen latent indices, in rank order, joined by spaces; empty for `all_latents` rows. */
  { name: "latents", type: "str", required: true },
  { name: "codec_family", type: "str", required: true },
  { name: "bitrate_kbps", type: "float", nullable: true, required: true },
] as const satisfies readonly Column[];

export type KSparseRow = RowOf<typeof KSPARSE_TABLE>;

/** What a k-sparse row takes from its results row: everything but the per-probe columns. */
export type KSparseSetting = Omit<KSparseRow, "k" | "all_latents" | "f1" | "f1_low" | "f1_high" | "latents">;

/**
 * The setting of a results row's k-sparse rows. `sae_input` is the row's own; results written before the table
 * carried it are "utterance" (the paper's SAE on mean_t ê_t).
 */
export function ksparseSettingOf(r: ResultRow): KSparseSetting {
  return {
    dataset: r.dataset,
    codec: r.codec,
    task: r.task,
    pooling: r.pooling,
    probe_protocol: r.probe_protocol,
    probe_folds: r.probe_folds,
    sae_input: r.sae_input ?? "utterance",
    q: r.q,
    s: r.s,
    seed: r.seed,
    feature: r.feature,
    f1_ref: r.f1_ref,
    n_test: r.n_test,
    cell_key: r.cell_key,
    codec_family: r.codec_family,
    bitrate_kbps: r.bitrate_kbps,
  };
}

/** The latents column's text of a probe's chosen latent indices. */
export function latentsText(latents: readonly number[]): string {
  return latents.join(" ");
}

/** The k-sparse rows as a DataFrame in the declared column order and types (bad rows named). */
export function ksparseFrame(rows: readonly KSparseRow[]): pl.DataFrame {
  for (const [i, r] of rows.entries()) {
    const where = `k-sparse: row ${i} (${r.cell_key}, ${r.feature}, k = ${r.k})`;
    if (!Number.isInteger(r.k) || r.k < 1) throw new Error(`${where}: k must be a positive integer`);
    if (!(r.f1 >= 0 && r.f1 <= 1)) throw new Error(`${where}: f1 = ${r.f1}; expected a value in [0, 1]`);
    const n = r.latents === "" ? 0 : r.latents.split(" ").length;
    if (r.all_latents ? n !== 0 : n !== r.k) {
      throw new Error(
        `${where}: ${n} latent indices in 'latents'; expected ${r.all_latents ? "none (all latents)" : r.k}`,
      );
    }
  }
  return tableFrame(KSPARSE_TABLE, rows, "k-sparse");
}

/** Writes `<dir>/ksparse.parquet` and `<dir>/ksparse.csv` (atomically); returns their paths. */
export function writeKSparse(dir: string, rows: readonly KSparseRow[]): Promise<string[]> {
  return writeTableFiles(join(dir, KSPARSE_FILE), ksparseFrame(rows));
}

/**
 * The k-sparse table of a results directory (Parquet preferred, CSV the fallback), or null when the run wrote
 * none. A table missing a required column is an error naming the file and the columns.
 */
export async function readKSparse(dir: string): Promise<pl.DataFrame | null> {
  return (await readTableFiles(join(dir, KSPARSE_FILE), KSPARSE_TABLE, "k-sparse table"))?.df ?? null;
}
