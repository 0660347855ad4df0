import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { accuracy, classificationMetrics, f1PerClass, macroF1 } from "../lib/probe/mod.ts";

Deno.test("probe metrics: per-class and macro F1 on a hand-computed case", () => {
  // class 1: TP 2, FP 1, FN 1 → F1 = 4/6; class 0: TP 2, FP 1, FN 1 → 4/6.
  const yTrue = [0, 0, 0, 1, 1, 1], yPred = [0, 0, 1, 1, 1, 0];
  const { labels, f1 } = f1PerClass(yTrue, yPred);
  assertEquals(labels, [0, 1]);
  assertAlmostEquals(f1[0], 2 / 3, 1e-12);
  assertAlmostEquals(f1[1], 2 / 3, 1e-12);
  // Imbalanced: class 0 TP 3 FP 2 FN 0 → 6/8; class 1 TP 0 FP 0 FN 2 → 0.
  assertAlmostEquals(macroF1([0, 0, 0, 1, 1], [0, 0, 0, 0, 0]), (6 / 8 + 0) / 2, 1e-12);
  assertAlmostEquals(accuracy([0, 0, 0, 1, 1], [0, 0, 0, 0, 0]), 0.6, 1e-12);
});

Deno.test("probe metrics: labels are the union of true and predicted (scikit-learn), 0/0 gives 0", () => {
  // Only class 1 in the truth, a wrong prediction of 0: labels {0, 1}; class 0 F1 = 0 (TP 0, FP 1).
  const m = classificationMetrics([1, 1, 1], [1, 0, 1]);
  assertEquals(m.labels, [0, 1]);
  assertAlmostEquals(m.f1PerClass[1], 4 / 5, 1e-12);
  assertEquals(m.f1PerClass[0], 0);
  assertAlmostEquals(m.macroF1, 0.4, 1e-12);
  // A label asked for but absent from both: 0/0 → 0.
  assertEquals(f1PerClass([0, 0], [0, 0], [0, 1]).f1, [1, 0]);
  assertEquals(classificationMetrics([2, 5], [2, 5]).macroF1, 1);
});

Deno.test("probe metrics: length mismatch and empty input are errors", () => {
  assertThrows(() => macroF1([0, 1], [0]), Error, "2 true labels but 1 predictions");
  assertThrows(() => accuracy([], []), Error, "no samples");
});
