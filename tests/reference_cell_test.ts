/**
 * One grid cell (runCell: SAE → metrics → PCA yardstick → z, z_pos, z_mag → probes) on seeded planted data,
 * every number of its outcome recomputed from the plain references: the SAE's in-sample and held-out NMSE /
 * explained variance, L0 and dead latents on the rows each is defined on, PCA-k's explained variance with k the
 * SAE's k, the density of z in 16 latent groups on the scored rows, and each feature's F1 from its predictions
 * on the scored rows, and each probe's training features (z, z_pos, z_mag) through its scaler. No Python, no
 * ../shared.
 */
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import type { Matrix } from "../lib/common/matrix.ts";
import { Rng } from "../lib/common/random.ts";
import { type CellData, runCell } from "../lib/experiment/cell.ts";
import type { ResolvedCell } from "../lib/experiment/plan.ts";
import { plantedData } from "../testdata/sae_data.ts";
import { refEncode, refMetrics, refParams } from "../testdata/reference/sae.ts";
import {
  refMagnitudes,
  refPcaExplainedVariance,
  refPcaHeldout,
  refPositions,
} from "../testdata/reference/features.ts";
import { refMacroF1 } from "../testdata/reference/stats.ts";

function rows(m: Matrix): number[][] {
  return Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
}

function slice(m: Matrix, from: number, to: number): Matrix {
  return { rows: to - from, cols: m.cols, data: m.data.slice(from * m.cols, to * m.cols) };
}

Deno.test("reference cell: every number of a cell's outcome equals its definition on the right rows", async () => {
  const d = 16;
  const all = plantedData(360, d, 21);
  // Different row sets: train 200, val1 40, test 60, probe = 60 val2 (always train) + the 60 test rows (scored).
  const train = slice(all, 0, 200), val1 = slice(all, 200, 240), test = slice(all, 240, 300);
  const val2 = slice(all, 300, 360);
  const probe: Matrix = { rows: 120, cols: d, data: Float32Array.from([...val2.data, ...test.data]) };
  // Labels that the first planted coordinates predict, so the probes find a signal.
  const rng = new Rng(4);
  const y = Int32Array.from(
    { length: 120 },
    (_, i) => (probe.data[i * d] + 0.3 * rng.normal() > probe.data[i * d + 1] ? 1 : 0),
  );
  const testFold = Int32Array.from({ length: 120 }, (_, i) => (i < 60 ? -1 : 0));
  const data: CellData = { train, val1, test, probe, probeRows: { y, testFold, folds: 1 } };
  const epochs = 30;
  const spec: ResolvedCell = {
    dataset: "planted",
    codec: "none",
    task: "us-vs-uk",
    q: 4,
    s: 0.25,
    seed: 2,
    pooling: "mean",
    dIn: d,
    saeInput: "utterance",
    // The planner's k = ⌈s·d⌉ and d_z = round(q·d) (runCell refuses a cell whose values disagree with them).
    k: Math.ceil(0.25 * d),
    dZ: 4 * d,
    schedule: { kind: "epochs", name: "fixed", epochs, lr: 1e-3 },
    sae: { batchSize: 64, adamEps: 6.25e-10 },
    features: ["z", "z_pos", "z_mag"],
    probe: { C: 1, tol: 1e-4, maxIter: 3000, protocol: "split", folds: 5, innerFolds: 5, saeRows: false },
  };
  const o = await runCell(spec, data, 1);
  const k = Math.ceil(spec.s * d), dZ = spec.q * d;
  assertEquals([o.k, o.dZ, o.dCodec], [k, dZ, d]);
  const model = o.artefacts!.sae.model;
  const p = refParams(model, d, dZ);
  // In-sample metrics are on the SAE's training rows, held-out ones on the test rows.
  const inSample = refMetrics(p, train.data, train.rows, k), held = refMetrics(p, test.data, test.rows, k);
  assertAlmostEquals(o.nmse, inSample.nmse, 1e-5 * inSample.nmse);
  assertAlmostEquals(o.explainedVariance, 1 - inSample.nmse, 1e-5);
  assertAlmostEquals(o.evHeldout, 1 - held.nmse, 1e-5);
  assertEquals([o.l0, o.deadLatents], [inSample.l0, inSample.dead]);
  // PCA-k: fitted on the training rows, k = the SAE's k; in-sample and on the test rows.
  assertAlmostEquals(o.evPcaK, refPcaExplainedVariance(rows(train), k), 1e-6);
  assertAlmostEquals(o.evPcaKHeldout, refPcaHeldout(rows(train), rows(test), k), 1e-6);
  assertEquals(o.saeTrained, o.explainedVariance >= o.evPcaK - 0.02);
  assertEquals(o.heldoutBelowPcaK, o.evHeldout < o.evPcaKHeldout - 0.02);
  // Density of z > 0 on the scored (test) probe rows in 16 contiguous latent groups.
  const z = refEncode(p, probe.data, probe.rows, k).slice(60);
  assertEquals(o.densityGroups.length, 16);
  for (let g = 0; g < 16; g++) {
    const lo = (g * dZ) / 16, hi = ((g + 1) * dZ) / 16;
    let active = 0;
    for (const zr of z) for (let j = lo; j < hi; j++) if (zr[j] > 0) active++;
    assertAlmostEquals(o.densityGroups[g], active / ((hi - lo) * z.length), 1e-12, `group ${g}`);
  }
  assert(o.densityGroups.some((v) => v > 0), "no latent fired on the scored rows");
  // Each feature's F1 is the macro-F1 of its predictions on the scored rows (the last 60 probe rows).
  const truth = Array.from(y.subarray(60));
  assertEquals(o.outcomes.map((f) => f.feature), ["z", "z_pos", "z_mag"]);
  for (const f of o.outcomes) {
    assertEquals(f.predictions.length, 60);
    assertAlmostEquals(f.f1, refMacroF1(truth, f.predictions), 1e-15, f.feature);
  }
  // Each probe was fitted on the features of the always-training rows: its scaler mean is their column mean.
  const trainZ = refEncode(p, probe.data, probe.rows, k).slice(0, 60).map((r) => Array.from(r));
  const features: Record<string, number[][]> = {
    z: trainZ,
    z_pos: trainZ.map(refPositions),
    z_mag: trainZ.map((r) => refMagnitudes(r, k)),
  };
  for (const [feature, xs] of Object.entries(features)) {
    const mean = o.artefacts!.probes[feature].scaler.mean;
    assertEquals(mean.length, xs[0].length, `${feature}: width`);
    for (let j = 0; j < mean.length; j++) {
      const want = xs.reduce((a, r) => a + r[j], 0) / xs.length;
      assertAlmostEquals(mean[j], want, 1e-5 * Math.max(1, Math.abs(want)), `${feature}: column ${j}`);
    }
  }
  assert(o.outcomes[0].f1 > 0.6, `the z probe found no signal (F1 ${o.outcomes[0].f1})`);
  assertEquals(o.steps, Math.ceil(train.rows / spec.sae.batchSize) * epochs);
});
