/** lib/report: the paper's tables as DataFrames, HTML tables for notebooks, and the standalone HTML report. */
export { loadResults, requireTable, type ResultsBundle, type RunInfo } from "./results.ts";
export {
  bitrateFamilies,
  defaultTask,
  deltaF1Table,
  probeSummaryTable,
  saeConfigTable,
  saeMetricsTable,
  splitSizesTable,
  table1,
  table2,
  type Table2Options,
  table3,
  type Table3Options,
} from "./tables.ts";
export {
  type ClaimRow,
  type ClaimsInput,
  claimsIntervalComparison,
  claimsTable,
  CODEC_ORIENTATION,
  codecDifferences,
  paperClaims,
  referenceValidity,
  type Verdict,
} from "./claims.ts";
export { displayNote, displayTable, escapeHtml, tableHtml, type TableHtmlOptions } from "./html.ts";
export {
  buildReportHtml,
  datasetCaveats,
  datasetKinds,
  PAPER_DIFFERENCE,
  READING_CLAIMS,
  READING_DELTA_F1,
  REPORT_TABLES_DIR,
  type ReportSummary,
  type ReportTableFile,
  reportTablesDir,
  runSummaryTable,
  writeReport,
} from "./report.ts";
export { codecTable, extractionTable } from "./extraction.ts";
export {
  KSPARSE_SECTION_TITLE,
  ksparseAbsent,
  ksparseSection,
  ksparseTable,
  type KSparseTableOptions,
  latentsNeededTable,
  READING_KSPARSE,
  type ReportSink,
  requireKSparse,
} from "./ksparse.ts";
export { curvesCaption, dataParagraph, findingsHtml, protocolDescription } from "./findings.ts";
