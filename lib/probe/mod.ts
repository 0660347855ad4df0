/**
 * lib/probe: probe features from SAE activations and the L1 logistic-regression probe (paper 2.3, 2.4, 3.3).
 * `runProbe` standardizes on the training rows, fits scikit-learn's L1 objective (C = 1, unpenalised
 * intercept) and scores the test rows with macro-F1; `runProtocol` runs it under a probe protocol (the
 * paper's fixed split or speaker-level k-fold) and pools the predictions; `kSparseProbes` fits it on the top-k
 * latents by class-mean difference.
 */
export { magnitudeFeatures, positionFeatures } from "./features.ts";
export { applyScaler, fitScaler, type Scaler } from "./scaler.ts";
export { buildDesign, type Design } from "./design.ts";
export { fitL1Logistic, type L1LogisticFit, type L1LogisticOptions } from "./logistic.ts";
export { accuracy, classificationMetrics, f1PerClass, macroF1 } from "./metrics.ts";
export { binaryClasses, decisionFunction, type ProbeOptions, type ProbeResult, runProbe } from "./probe.ts";
export {
  KSPARSE_K,
  type KSparseOutcome,
  kSparseOutcomes,
  type KSparseProbe,
  kSparseProbes,
  type KSparseResult,
  kSparseSizes,
  kSparseTableRows,
  meanDifferences,
  rankByScore,
} from "./ksparse.ts";
export {
  checkProbeRows,
  permutedLabelF1,
  type ProbeRows,
  type ProtocolResult,
  runProtocol,
} from "./protocol.ts";
