/**
 * Strict reading of a CSV table (manifests, user corpora): every data row must have as many fields as the
 * header, and a malformed file is an error naming the file and the line, in our words (not a parser's hints).
 * Empty cells become null, as in the rest of the data stage.
 */
import { readError } from "../common/fs.ts";
import { parseCsv } from "../formats/csv.ts";

export interface CsvTable {
  columns: string[];
  records: Record<string, string | null>[];
}

export async function readCsvTable(path: string): Promise<CsvTable> {
  const bytes = await Deno.readFile(path).catch((e) => {
    throw readError(path, e);
  });
  const text = decodeCsvText(bytes, path);
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

/**
 * CSV bytes as text: UTF-8, with or without a byte-order mark. A UTF-16 file (Excel's "Unicode text") would
 * read as a header of NUL characters, and other bytes that are not UTF-8 as replacement characters: both are
 * errors saying how to save the file.
 */
export function decodeCsvText(bytes: Uint8Array, path: string): string {
  const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff) ||
    (bytes.length >= 4 && (bytes[1] === 0 || bytes[0] === 0) && bytes.subarray(0, 64).includes(0));
  if (utf16) throw new Error(`${path}: the file is UTF-16 (or holds NUL bytes); save it as UTF-8 CSV`);
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    throw new Error(`${path}: the file is not UTF-8 text (another encoding?); save it as UTF-8 CSV`);
  }
}
