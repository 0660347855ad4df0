/**
 * A small RFC 4180 CSV reader for third-party metadata files: quoted fields may hold commas, doubled quotes
 * and newlines; a header row names the columns. Every cell is a string (no type inference).
 */

/** The rows of a CSV text, each a list of cells; a trailing newline does not make an empty row. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += c;
    } else if (c === '"' && cell === "") quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += c;
  }
  if (quoted) throw new Error("unterminated quoted field at the end of the CSV");
  if (cell !== "" || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** A CSV with a header: its column names and one record per data row (missing trailing cells → ""). */
export function parseCsvRecords(text: string): { columns: string[]; records: Record<string, string>[] } {
  const [header, ...rows] = parseCsv(text);
  if (!header) return { columns: [], records: [] };
  const columns = header.map((h) => h.trim());
  const records = rows.filter((r) => !(r.length === 1 && r[0] === "")).map((r) => {
    const rec: Record<string, string> = {};
    columns.forEach((c, j) => {
      if (c !== "" && !(c in rec)) rec[c] = r[j] ?? "";
    });
    return rec;
  });
  return { columns, records };
}
