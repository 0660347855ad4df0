/**
 * Strict reading of a CSV table (manifests, user corpora): every data row must have as many fields as the
 * header, and a malformed file is an error naming the file and the line, in our words (not a parser's hints).
 * Empty cells become null, as in the rest of the data stage.
 */
import { parseCsv } from "../formats/csv.ts";

export interface CsvTable {
  columns: string[];
  records: Record<string, string | null>[];
}

export async function readCsvTable(path: string): Promise<CsvTable> {
  const text = await Deno.readTextFile(path);
  let rows: string[][];
  try {
    rows = parseCsv(text);
  } catch (e) {
    throw new Error(
      `${path}: malformed CSV: ${(e as Error).message} (a '"' opened a field and never closed)`,
    );
  }
  const [header, ...data] = rows;
  if (!header || (header.length === 1 && header[0].trim() === "")) {
    throw new Error(`${path}: empty file (no header row)`);
  }
  const columns = header.map((h) => h.trim());
  const dup = columns.find((c, i) => columns.indexOf(c) !== i);
  if (dup !== undefined) {
    throw new Error(`${path}: column ${JSON.stringify(dup)} appears twice in the header`);
  }
  const records: Record<string, string | null>[] = [];
  // Line numbers are exact for files without quoted newlines (the usual case); the row number always is.
  data.forEach((r, i) => {
    if (r.length === 1 && r[0].trim() === "") return; // blank line
    if (r.length !== columns.length) {
      throw new Error(
        `${path}: malformed CSV: data row ${i + 1} (line ${i + 2}) has ${r.length} field${
          r.length === 1 ? "" : "s"
        }, the header has ${columns.length} (${columns.join(", ")})`,
      );
    }
    const rec: Record<string, string | null> = {};
    columns.forEach((c, j) => (rec[c] = r[j] === "" ? null : r[j]));
    records.push(rec);
  });
  return { columns, records };
}
