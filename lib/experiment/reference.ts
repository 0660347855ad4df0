/**
 * The reference of every ΔF1: the L1 probe on u under the run's protocol, for one (dataset, codec, task), with
 * its chance level from label-permuted probes under the same protocol. Its import closure is the reference's
 * code version (cache.ts).
 */
import { permutedLabelF1, runProtocol } from "../probe/protocol.ts";
import { type ProbeArtefact, protocolArtefacts } from "./artefacts.ts";
import type { CellData } from "./cell.ts";
import type { ProbeConfig } from "./config.ts";
import { type FeatureOutcome, probeOutcome } from "./probe_outcome.ts";

/** The reference probe on u: a feature outcome without a feature, plus the task's chance level. */
export interface RefOutcome extends Omit<FeatureOutcome, "feature"> {
  /** Macro-F1 of label-permuted probes under the same protocol (the chance level), one per permutation. */
  chance: number[];
  /** Training rows of the protocol's smallest fold. */
  minTrainRows: number;
}

/** Fits the reference probe on u and its permuted-label chance probes. */
export function computeReference(
  data: CellData,
  probe: ProbeConfig,
): { outcome: RefOutcome; probes: Record<string, ProbeArtefact> } {
  const r = runProtocol(data.probe, data.probeRows, probe);
  return {
    outcome: {
      ...probeOutcome(r),
      minTrainRows: r.minTrainRows,
      chance: permutedLabelF1(data.probe, data.probeRows, probe.permutations, 0, probe),
    },
    probes: protocolArtefacts("u", r.fits, probe.C),
  };
}
