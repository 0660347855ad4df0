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

/** The column names on a CSV file's first line (read from its first 64 KiB only). */
function csvHeader(file: string): string[] {
  const f = Deno.openSync(file);
  try {
    const buf = new Uint8Array(65536);
    const n = f.readSync(buf) ?? 0;
    return new TextDecoder().decode(buf.subarray(0, n)).split(/\r?\n/, 1)[0].split(",").map((c) =>
      c.replace(/^"|"$/g, "")
    );
  } finally {
    f.close();
  }
}

// Text and float columns are fixed; ints and booleans are inferred from the whole file (a CSV written by pandas
// may hold an int column as "1.0").
const CSV_DTYPES = { str: pl.Utf8, float: pl.Float64 } as const;
/** Rows the inference reads: every row of the project's tables (polars allocates in proportion to it). */
const INFER_ROWS = 1_000_000;

/**
 * A declared table's CSV file, its text and float columns read as declared, the others inferred from the whole
 * file: a column whose first rows are all empty (e.g. a multi-seed run's per-row ΔF1 interval before
 * single-seed rows) would otherwise be guessed as text.
 */
export function readTableCsv(file: string, table: readonly Column[]): pl.DataFrame {
  const header = csvHeader(file);
  const dtypes = Object.fromEntries(
    table.filter((c) => header.includes(c.name)).map((
      c,
    ) => [c.name, CSV_DTYPES[c.type as keyof typeof CSV_DTYPES]])
      .filter(([, t]) => t !== undefined),
  );
  return pl.readCSV(file, { dtypes, inferSchemaLength: INFER_ROWS });
}

/**
 * `<base>.parquet` (else `<base>.csv`, its columns read as declared), or null when neither exists. A file
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
    df = file === parquet ? pl.readParquet(file) : readTableCsv(file, table);
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
