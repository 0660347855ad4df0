/**
 * DataFrames as HTML tables (notebook display and the report). VS Code renders nodejs-polars' own
 * dataresource output blank, so tables are displayed as text/html + text/plain bundles.
 */
import type pl from "nodejs-polars";
import { jupyterDisplay } from "../plots/mod.ts";

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function formatCell(v: unknown): { text: string; cls: string } {
  if (v === null || v === undefined || (typeof v === "number" && !Number.isFinite(v))) {
    return { text: "—", cls: "na" };
  }
  if (typeof v === "number") {
    // Two decimals for %-scale values; significant digits for small ones (learning rates, ε, densities).
    const text = Number.isInteger(v)
      ? String(v)
      : Math.abs(v) < 0.01
      ? String(Number(v.toPrecision(3)))
      : v.toFixed(2);
    return { text, cls: v < 0 ? "num neg" : "num" };
  }
  return { text: String(v), cls: "" };
}

export interface TableHtmlOptions {
  caption?: string;
  /** A sentence under the table (what the numbers are, where they come from). */
  note?: string;
}

/** A plain `<table>` (inline styles only, so it survives notebook sanitizers and standalone HTML). */
export function tableHtml(df: pl.DataFrame, opts: TableHtmlOptions = {}): string {
  const th = "border-bottom:1px solid #444;padding:3px 8px;text-align:center;font-weight:600";
  const td = "padding:2px 8px;text-align:right;border-bottom:1px solid #eee";
  const head = df.columns.map((c) => `<th style="${th}">${escapeHtml(c)}</th>`).join("");
  const body = (df.toRecords() as Record<string, unknown>[]).map((r) =>
    "<tr>" + df.columns.map((c) => {
      const { text, cls } = formatCell(r[c]);
      const color = cls.includes("neg") ? ";color:#a40000" : cls === "na" ? ";color:#999" : "";
      const align = cls === "" ? ";text-align:left" : "";
      return `<td class="${cls}" style="${td}${color}${align}">${escapeHtml(text)}</td>`;
    }).join("") + "</tr>"
  ).join("\n");
  const caption = opts.caption
    ? `<caption style="caption-side:top;text-align:left;font-weight:600;padding:4px 0">${
      escapeHtml(opts.caption)
    }</caption>`
    : "";
  const note = opts.note
    ? `\n<p class="note" style="color:#555;font-size:90%">${escapeHtml(opts.note)}</p>`
    : "";
  return `<table class="nac-sae" style="border-collapse:collapse;font-family:sans-serif;font-size:13px">` +
    `${caption}\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>${note}`;
}

/** For notebooks: `await displayTable(df, {caption})` shows the table as HTML (text as fallback). */
export async function displayTable(df: pl.DataFrame, opts: TableHtmlOptions = {}): Promise<void> {
  const text = (opts.caption ? `${opts.caption}\n` : "") + df.toString();
  await jupyterDisplay({ "text/html": tableHtml(df, opts), "text/plain": text });
}

/** For notebooks: a short sentence shown as HTML (plain text fallback), e.g. why a table is absent. */
export async function displayNote(text: string): Promise<void> {
  await jupyterDisplay({ "text/html": `<p>${escapeHtml(text)}</p>`, "text/plain": text });
}
