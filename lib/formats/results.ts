/**
 * The results tables a grid run writes (`results`, `density`, `curves`, `summary`; `.parquet` + `.csv`), each
 * declared once here: the experiment stage builds typed rows from these declarations and writes them with
 * `tableFrame`; the plots and report stages check them on reading with `requiredColumns`. A new column is one
 * line in one table below. This sits below the stages because both the writer (experiment) and the readers
 * (plots, report) depend on it and plots may not import experiment.
 */
import pl from "nodejs-polars";

export type ColumnType = "str" | "int" | "float" | "bool";

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  /** May hold null (e.g. the SAE columns of a reference row). */
  readonly nullable?: boolean;
  /** Readers (charts, report tables) need it: a table without it is refused on loading. */
  readonly required?: boolean;
}

type ValueOf<T extends ColumnType> = T extends "str" ? string
  : T extends "bool" ? boolean
  : number;

/** A typed row of a declared table: every column, nullable ones accept null. */
export type RowOf<T extends readonly Column[]> = {
  [C in T[number] as C["name"]]: C["nullable"] extends true ? ValueOf<C["type"]> | null : ValueOf<C["type"]>;
};

/** The columns every table starts with: where a row comes from. */
const SETTING = [
  { name: "dataset", type: "str", required: true },
  { name: "codec", type: "str", required: true },
  { name: "task", type: "str", required: true },
] as const;

/** The codec's registry family ("lyra", "encodec", …) and nominal bitrate: charts and tables order by them. */
const CODEC_INFO = [
  { name: "codec_family", type: "str", required: true },
  { name: "bitrate_kbps", type: "float", nullable: true, required: true },
] as const;

/** One row per (dataset, codec, task, q, s, seed, feature); feature "u" rows are the references (q, s null). */
export const RESULT_TABLE = [
  ...SETTING,
  /** What the data is: the manifest's `dataset` column ("saa", "fsdd", …; "+"-joined when several), whatever
   * name the run config gives the entry — the data's caveats follow it. */
  { name: "dataset_kind", type: "str" },
  /** Which protocol produced the row: pooling of ê over time ("mean", "mean+std") and the probe protocol. */
  { name: "pooling", type: "str" },
  /** What the SAE was fit on: "utterance" (u per recording, the paper) or "frames" (ê_t, codes pooled). */
  { name: "sae_input", type: "str" },
  { name: "probe_protocol", type: "str" },
  /** 1 for the paper's split. */
  { name: "probe_folds", type: "int" },
  { name: "q", type: "float", nullable: true, required: true },
  { name: "s", type: "float", nullable: true, required: true },
  { name: "seed", type: "int", required: true },
  { name: "feature", type: "str", required: true },
  { name: "f1", type: "float", required: true },
  /** 95 % interval of F1 over test speakers (each resampled with all their recordings). */
  { name: "f1_low", type: "float", nullable: true },
  { name: "f1_high", type: "float", nullable: true },
  { name: "f1_ref", type: "float", required: true },
  { name: "delta_f1", type: "float", required: true },
  /** 95 % interval of ΔF1 over test speakers, probe and reference resampled together (single-seed runs). */
  { name: "delta_f1_low", type: "float", nullable: true },
  { name: "delta_f1_high", type: "float", nullable: true },
  { name: "accuracy", type: "float" },
  { name: "nnz", type: "int" },
  { name: "n_iter", type: "int" },
  { name: "converged", type: "bool" },
  { name: "k", type: "int", nullable: true, required: true },
  { name: "d_z", type: "int", nullable: true, required: true },
  { name: "d_codec", type: "int" },
  /** SAE schedule ("convergent", "paper", "fixed", "paperScaled") and its learning rate. */
  { name: "schedule", type: "str", nullable: true },
  { name: "sae_lr", type: "float", nullable: true },
  /** Epochs of an epoch schedule (null for the convergent one). */
  { name: "epochs", type: "int", nullable: true },
  /** Adam steps taken, the step whose weights were kept, why training ended ("converged", "max-steps", "epochs"). */
  { name: "sae_steps", type: "int", nullable: true },
  { name: "sae_best_step", type: "int", nullable: true },
  { name: "sae_stop", type: "str", nullable: true },
  /** On the SAE's training rows (in-sample). */
  { name: "nmse", type: "float", nullable: true },
  { name: "explained_variance", type: "float", nullable: true },
  /** PCA-k fitted on the same training rows, on those rows: the yardstick; trained = EV ≥ ev_pca_k − 0.02. */
  { name: "ev_pca_k", type: "float", nullable: true },
  { name: "sae_trained", type: "bool", nullable: true },
  /** On held-out (test) rows: the SAE's and the same PCA-k's; below = EV < ev_pca_k_heldout − 0.02. */
  { name: "ev_heldout", type: "float", nullable: true },
  { name: "ev_pca_k_heldout", type: "float", nullable: true },
  { name: "heldout_below_pca_k", type: "bool", nullable: true },
  { name: "l0", type: "float", nullable: true },
  { name: "dead_latents", type: "int", nullable: true },
  { name: "sae_seconds", type: "float", nullable: true },
  { name: "probe_seconds", type: "float" },
  /** Rows the SAE was fit on: train recordings, or their sampled frames (sae_input "frames"). */
  { name: "n_sae_train", type: "int" },
  /** Rows the final probe was fit on (k-fold: the smallest fold's), and per class (0 = US, 1 = the other). */
  { name: "n_probe_train", type: "int" },
  { name: "n_train_pos", type: "int" },
  { name: "n_train_neg", type: "int" },
  /** Scored recordings, and per class. */
  { name: "n_test", type: "int" },
  { name: "n_test_pos", type: "int" },
  { name: "n_test_neg", type: "int" },
  /** Which recordings were scored: "split:test" (the manifest's test split) or "external:<file>". */
  { name: "test_set", type: "str" },
  /** The probe's C (the "dev" protocol: chosen by inner cross-validation; k-fold: the folds' mean). */
  { name: "probe_c", type: "float" },
  /** Macro-F1 of always answering the probe-training majority class: the floor beside the chance level. */
  { name: "majority_f1", type: "float" },
  /** Every scored prediction is the same class: the probe learned nothing usable (its F1 is not evidence). */
  { name: "predicts_one_class", type: "bool" },
  ...CODEC_INFO,
  /** The reference F1's interval over test speakers, against the label-permuted chance level (mean and range). */
  { name: "f1_ref_low", type: "float", nullable: true },
  { name: "f1_ref_high", type: "float", nullable: true },
  { name: "chance_f1", type: "float", nullable: true },
  { name: "chance_f1_low", type: "float", nullable: true },
  { name: "chance_f1_high", type: "float", nullable: true },
  /** The reference interval lies above the chance interval (null without bootstrap or permutations). */
  { name: "ref_above_chance", type: "bool", nullable: true },
  { name: "config_hash", type: "str", nullable: true },
  /** The folder under `cells/` holding the row's SAE, probes and splits. */
  { name: "cell_key", type: "str" },
  /**
   * Which SAE the row's features come from: rows with the same sae_key share one SAE (a frame-level SAE serves
   * every task of its codec × config × seed; an utterance-level SAE is its cell's own: its cell_key). Null on
   * reference rows.
   */
  { name: "sae_key", type: "str", nullable: true },
] as const satisfies readonly Column[];

/** Test-set activation density of z in 16 ordered latent-index groups (paper Fig. 4). */
export const DENSITY_TABLE = [
  ...SETTING,
  /** "utterance" (the SAE on u) or "frames" (frame-level SAE); absent in tables written before: utterance. */
  { name: "sae_input", type: "str" },
  { name: "q", type: "float", required: true },
  { name: "s", type: "float", required: true },
  { name: "seed", type: "int", required: true },
  { name: "group", type: "int", required: true },
  { name: "density", type: "float", required: true },
  ...CODEC_INFO,
] as const satisfies readonly Column[];

/** The SAE's training record: per epoch, or per validation measurement (convergent schedule). */
export const CURVE_TABLE = [
  ...SETTING,
  { name: "sae_input", type: "str" },
  { name: "q", type: "float", required: true },
  { name: "s", type: "float", required: true },
  { name: "seed", type: "int", required: true },
  { name: "epoch", type: "int", required: true },
  /** Adam steps taken at the record. */
  { name: "step", type: "int" },
  { name: "train_loss", type: "float", required: true },
  { name: "val_loss", type: "float", nullable: true, required: true },
  { name: "nmse", type: "float" },
  { name: "l0", type: "float" },
  { name: "dead", type: "int" },
  ...CODEC_INFO,
] as const satisfies readonly Column[];

/** ΔF1 across seeds per (dataset, codec, task, q, s, feature), written when a run has several seeds. */
export const SUMMARY_TABLE = [
  { name: "dataset", type: "str", required: true },
  { name: "codec", type: "str", required: true },
  { name: "task", type: "str", required: true },
  { name: "pooling", type: "str" },
  { name: "probe_protocol", type: "str" },
  { name: "probe_folds", type: "int" },
  { name: "sae_input", type: "str" },
  { name: "q", type: "float", required: true },
  { name: "s", type: "float", required: true },
  { name: "feature", type: "str", required: true },
  { name: "k", type: "int", required: true },
  { name: "d_z", type: "int", required: true },
  { name: "n_seeds", type: "int", required: true },
  { name: "delta_f1_mean", type: "float", required: true },
  { name: "delta_f1_std", type: "float", required: true },
  { name: "delta_f1_low", type: "float", required: true },
  { name: "delta_f1_high", type: "float", required: true },
] as const satisfies readonly Column[];

export type ResultRow = RowOf<typeof RESULT_TABLE>;
export type DensityRow = RowOf<typeof DENSITY_TABLE>;
export type CurveRow = RowOf<typeof CURVE_TABLE>;
export type SummaryRow = RowOf<typeof SUMMARY_TABLE>;
/** The columns every table but the summary holds: where a row comes from. */
export type SettingRow = RowOf<readonly [...typeof SETTING, ...typeof CODEC_INFO]>;

/** The names of a table's columns, in order. */
export function columnNames(table: readonly Column[]): string[] {
  return table.map((c) => c.name);
}

/** The columns a reader needs from a table. */
export function requiredColumns(table: readonly Column[]): string[] {
  return table.filter((c) => c.required).map((c) => c.name);
}

const DTYPE = { str: pl.Utf8, float: pl.Float64, bool: pl.Bool } as const;

/**
 * The DataFrame of typed rows, columns in declared order with their declared types (so an all-null column
 * keeps its type). A value of the wrong kind, or a null in a column that may not hold one, is an error
 * naming the table, row and column.
 */
export function tableFrame<T extends readonly Column[]>(
  table: T,
  rows: readonly RowOf<T>[],
  what = "table",
): pl.DataFrame {
  return pl.DataFrame(table.map((c) => {
    const values = rows.map((r, i) => {
      const v = (r as Record<string, unknown>)[c.name];
      if (v === null || v === undefined) {
        if (!c.nullable) throw new Error(`${what}: row ${i}: column '${c.name}' may not be null`);
        return null;
      }
      const ok = c.type === "str"
        ? typeof v === "string"
        : c.type === "bool"
        ? typeof v === "boolean"
        : typeof v === "number";
      if (!ok) throw new Error(`${what}: row ${i}: column '${c.name}' holds ${typeof v}, not ${c.type}`);
      return v;
    });
    // Via Float64: nodejs-polars turns null into 0 in a Series built directly as Int32.
    if (c.type === "int") return pl.Series(c.name, values, pl.Float64).cast(pl.Int32);
    return pl.Series(c.name, values, DTYPE[c.type]);
  }));
}
