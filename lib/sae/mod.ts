/** lib/sae: the TopK sparse autoencoder stage (paper Sec. 2.2, 3.3). */
export { kFor, paperGrid, SAE_DEFAULTS, type SaeConfig, saeConfig, validateConfig } from "./config.ts";
export { PAPER_LR, PAPER_Q, PAPER_S, paperEpochs } from "./paper.ts";
export { checkFeatures, checkTrainable, geometricMedian, initModel, type SaeModel } from "./model.ts";
export {
  epochPermutation,
  type EpochRecord,
  type OptimizerState,
  type TrainOptions,
  type TrainResult,
  trainSae,
} from "./train.ts";
export { encodeSae, evaluate, saeMetrics } from "./evaluate.ts";
export { computeMetrics, MetricsAccumulator, type SaeMetrics, totalSumSquares } from "./metrics.ts";
export { loadCheckpoint, MODEL_FILE, saveCheckpoint, saveModel } from "./checkpoint.ts";
export { chooseEngine, SPARSE_MAX_DENSITY } from "./engine.ts";
export { EXPORT_FORMATS, type ExportFormat, exportSaeLens } from "./export.ts";
export {
  CONVERGENCE_DEFAULTS,
  ConvergenceMonitor,
  type ConvergenceRule,
  CONVERGENT_LR,
  defaultLr,
  type StoppingRecord,
  type StopReason,
} from "./convergence.ts";
export { fitPca, pcaExplainedVariance, type PcaFit, SAE_TRAINED_TOLERANCE, saeTrained } from "./pca.ts";
