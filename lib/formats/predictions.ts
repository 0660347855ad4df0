/**
 * The predictions table a grid run writes beside its results (`predictions.parquet` + `predictions.csv`): one
 * row per (probe, scored test recording), the reference probe's on u included. The report's intervals over
 * test speakers (lib/common/speaker_bootstrap.ts) are computed from it: resampling speakers needs each
 * probe's decision on each recording, not only its F1. Declared once here, like the results tables.
 */
import { readTableFiles, writeTableFiles } from "./table_files.ts";
import pl from "nodejs-polars";
import { join } from "node:path";
import { type Column, type RowOf, tableFrame } from "./results.ts";

export const PREDICTIONS_FILE = "predictions";

export const PREDICTION_TABLE = [
  /** The results row's `cell_key` (the reference probe's rows carry the reference's key). */
  { name: "cell_key", type: "str", required: true },
  /** The probe's features: "u" (reference), "z", "z_pos", "z_mag", … — with cell_key, names one results row. */
  { name: "feature", type: "str", required: true },
  { name: "utterance_id", type: "str", required: true },
  { name: "speaker_id", type: "str", required: true },
  /** The true class (0/1, the task's class order). */
  { name: "label", type: "int", required: true },
  /**
   * The probe's decision value w·x + b on the standardized features (positive = class 1), not a probability:
   * an L1 logistic probe's probability is its sigmoid. Null where a protocol keeps no decision value.
   */
  { name: "score", type: "float", nullable: true },
  /** The probe's predicted class (0/1): what its F1 is computed from. */
  { name: "predicted", type: "int", required: true },
] as const satisfies readonly Column[];

export type PredictionRow = RowOf<typeof PREDICTION_TABLE>;

/** The predictions as a DataFrame in the declared column order and types (bad rows named). */
export function predictionsFrame(rows: readonly PredictionRow[]): pl.DataFrame {
  for (const [i, r] of rows.entries()) {
    for (const c of ["label", "predicted"] as const) {
      if (r[c] !== 0 && r[c] !== 1) {
        throw new Error(
          `predictions: row ${i} (${r.cell_key}, ${r.feature}, ${r.utterance_id}): ${c} = ${
            r[c]
          }; expected 0 or 1`,
        );
      }
    }
  }
  return tableFrame(PREDICTION_TABLE, rows, "predictions");
}

/** Writes `<dir>/predictions.parquet` and `<dir>/predictions.csv` (atomically); returns their paths. */
export function writePredictions(dir: string, rows: readonly PredictionRow[]): Promise<string[]> {
  return writeTableFiles(join(dir, PREDICTIONS_FILE), predictionsFrame(rows));
}

/**
 * The predictions of a results directory (Parquet preferred, CSV the fallback), or null when the run wrote
 * none (results from before predictions were saved). A table missing a column, or holding a label or
 * prediction other than 0/1, is an error naming the file, row and column.
 */
export async function readPredictions(dir: string): Promise<PredictionRow[] | null> {
  const read = await readTableFiles(join(dir, PREDICTIONS_FILE), PREDICTION_TABLE, "predictions table");
  return read ? predictionRecords(read.df, read.file) : null;
}

/** Typed rows of a predictions DataFrame; `source` names the file in errors. */
export function predictionRecords(df: pl.DataFrame, source = "predictions"): PredictionRow[] {
  const col = (name: string) => df.columns.includes(name) ? df.getColumn(name).toArray() : null;
  const [key, feature, utt, speaker, label, score, predicted] = [
    "cell_key",
    "feature",
    "utterance_id",
    "speaker_id",
    "label",
    "score",
    "predicted",
  ].map(col);
  const rows: PredictionRow[] = new Array(df.height);
  for (let i = 0; i < df.height; i++) {
    const l = Number(label![i]), p = Number(predicted![i]);
    if ((l !== 0 && l !== 1) || (p !== 0 && p !== 1)) {
      throw new Error(
        `${source}: row ${i + 1} (${key![i]}, ${feature![i]}, ${utt![i]}): label ${label![i]}, predicted ` +
          `${predicted![i]}; both must be 0 or 1`,
      );
    }
    const s = score?.[i];
    rows[i] = {
      cell_key: String(key![i]),
      feature: String(feature![i]),
      utterance_id: String(utt![i]),
      speaker_id: String(speaker![i]),
      label: l,
      score: typeof s === "number" && Number.isFinite(s) ? s : null,
      predicted: p,
    };
  }
  return rows;
}
