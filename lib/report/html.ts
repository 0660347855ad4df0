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
  /** A file holding the table (e.g. its CSV beside the report), linked after the caption. */
  link?: string;
  /** Cells shown grey with a "not evidence" tooltip (e.g. settings whose reference is not above chance). */
  muted?: (row: Record<string, unknown>, column: string) => boolean;
}

/** A plain `<table>` (inline styles only, so it survives notebook sanitizers and standalone HTML). */
export function tableHtml(df: pl.DataFrame, opts: TableHtmlOptions = {}): string {
  const th = "border-bottom:1px solid #444;padding:3px 8px;text-align:center;font-weight:600";
  const td = "padding:2px 8px;text-align:right;border-bottom:1px solid #eee";
  // Long snake_case headers may break after an underscore, never inside a word.
  const head = df.columns.map((c) => `<th style="${th}">${escapeHtml(c).replace(/_/g, "_<wbr>")}</th>`)
    .join("");
  const body = (df.toRecords() as Record<string, unknown>[]).map((r) =>
    "<tr>" + df.columns.map((c) => {
      const { text, cls } = formatCell(r[c]);
      const muted = opts.muted?.(r, c) ?? false;
      const color = muted
        ? ";color:#999;background:#f2f2f2"
        : cls.includes("neg")
        ? ";color:#a40000"
        : cls === "na"
        ? ";color:#999"
        : "";
      // Numbers and short labels stay on one line (a task name over five lines is unreadable); prose wraps.
      const align = cls === ""
        ? `;text-align:left${text.length <= 24 ? ";white-space:nowrap" : ""}`
        : ";white-space:nowrap";
      const title = muted
        ? ' title="not evidence: the task\'s reference is not above chance and the majority baseline"'
        : "";
      return `<td class="${cls === "" ? "text" : cls}${
        muted ? " muted" : ""
      }" style="${td}${color}${align}"${title}>${escapeHtml(text)}</td>`;
    }).join("") + "</tr>"
  ).join("\n");
  const link = opts.link
    ? ` <a href="${escapeHtml(opts.link)}" style="font-weight:400;font-size:90%">(${
      escapeHtml(opts.link)
    })</a>`
    : "";
  const caption = opts.caption
    ? `<caption style="caption-side:top;text-align:left;font-weight:600;padding:4px 0">${
      escapeHtml(opts.caption)
    }${link}</caption>`
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
