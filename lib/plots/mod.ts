/** lib/plots: Vega-Lite v5 chart specs for the paper's figures, server-side SVG, and notebook display. */
export {
  type CurvesOptions,
  deltaF1Chart,
  deltaF1Charts,
  type DeltaF1Options,
  deltaF1Rows,
  deltaF1SeedChart,
  densityChart,
  type DensityOptions,
  referenceChart,
  type ResultsInput,
  taskSettings,
  trainingCurvesChart,
  vectorChart,
  VEGA_LITE_SCHEMA,
  type VegaLiteSpec,
} from "./specs.ts";
export {
  chartBundle,
  displayChart,
  displayCharts,
  jupyterDisplay,
  type MimeBundle,
  renderSvg,
  VEGA_LITE_MIME,
} from "./render.ts";
export {
  ALL_LATENTS,
  ksparseChart,
  type KSparseChartOptions,
  ksparseCharts,
  ksparseProtocol,
  ksparseRows,
} from "./ksparse.ts";
// Every row helper of rows.ts is part of the stage's interface.
export * from "./rows.ts";
export { type SpeakerIntervalOptions, SpeakerIntervals, testSetOf } from "./speaker_intervals.ts";
export {
  answersOneClass,
  EVIDENCE,
  type Evidence,
  evidenceFlag,
  evidenceOf,
  type EvidenceSource,
  NOT_EVIDENCE,
  NOT_EVIDENCE_NOTE,
  referenceValidities,
  type ReferenceValidity,
  settingKey,
  sizesNote,
  sizesText,
  taskClasses,
} from "./validity.ts";
