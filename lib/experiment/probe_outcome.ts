/** What the results keep of one probe protocol's run (a feature kind of a cell, or the reference on u). */
import type { KSparseOutcome } from "../probe/ksparse.ts";
import type { ProtocolResult } from "../probe/protocol.ts";
import type { FeatureKind } from "./config.ts";

export interface FeatureOutcome {
  feature: FeatureKind;
  f1: number;
  accuracy: number;
  nnz: number;
  nIter: number;
  converged: boolean;
  probeSeconds: number;
  /** Pooled predictions on the protocol's scored rows (for bootstrap intervals). */
  predictions: number[];
  /** The probes' decision values on the same rows (> 0: class 1). */
  scores: number[];
  /** The C each fold's probe was fit with (chosen by inner cross-validation under the "dev" protocol). */
  chosenC: number[];
  /** The k-sparse probes on the same features (lib/probe/ksparse.ts); absent on the reference. */
  ksparse?: KSparseOutcome[];
}

/** What the results keep of a probe protocol's run. */
export function probeOutcome(r: ProtocolResult): Omit<FeatureOutcome, "feature"> {
  return {
    f1: r.macroF1,
    accuracy: r.accuracy,
    nnz: r.nnz,
    nIter: r.nIter,
    converged: r.converged,
    probeSeconds: r.seconds,
    predictions: Array.from(r.predictions),
    scores: Array.from(r.scores),
    chosenC: r.chosenC,
  };
}
