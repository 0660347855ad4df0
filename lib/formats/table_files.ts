/**
 * A declared table on disk, the one way: `<base>.parquet` beside `<base>.csv`, each written atomically; read
 * back from the Parquet file (the CSV the fallback), with its required columns checked. Results, predictions
 * and k-sparse tables all go through here.
 */
import pl from "nodejs-polars";
import { exists, writeFileAtomic } from "../common/fs.ts";
import { parquetBytes } from "./parquet.ts";
import { type Column, columnNames, requiredColumns } from "./results.ts";

/** Writes a frame as `<base>.parquet` and `<base>.csv` (atomically, each); returns the two paths. */
export async function writeTableFiles(base: string, df: pl.DataFrame): Promise<string[]> {
  await writeFileAtomic(`${base}.parquet`, parquetBytes(df));
  await writeFileAtomic(`${base}.csv`, df.writeCSV().toString());
  return [`${base}.parquet`, `${base}.csv`];
}

/**
 * `<base>.parquet` (else `<base>.csv`, its string columns read as text), or null when neither exists. A file
 * that cannot be read or lacks a required column is an error naming it, the columns and what was expected.
 */
export async function readTableFiles(
  base: string,
  table: readonly Column[],
  what: string,
): Promise<{ df: pl.DataFrame; file: string } | null> {
  const parquet = `${base}.parquet`, csv = `${base}.csv`;
  const file = (await exists(parquet)) ? parquet : (await exists(csv)) ? csv : null;
  if (!file) return null;
  let df: pl.DataFrame;
  try {
    const text = Object.fromEntries(table.filter((c) => c.type === "str").map((c) => [c.name, pl.Utf8]));
    df = file === parquet ? pl.readParquet(file) : pl.readCSV(file, { dtypes: text });
  } catch (e) {
    throw new Error(`${file}: cannot read the ${what} (${(e as Error).message})`);
  }
  const missing = requiredColumns(table).filter((c) => !df.columns.includes(c));
  if (missing.length > 0) {
    throw new Error(
      `${file}: missing column(s) ${missing.join(", ")} (expected ${columnNames(table).join(", ")})`,
    );
  }
  return { df, file };
}
