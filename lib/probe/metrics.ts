/**
 * Classification metrics with scikit-learn's semantics: the label set is the sorted union of the true and
 * predicted labels, and a class whose F1 is undefined (no true, no predicted samples of it, or TP = 0)
 * scores 0 — sklearn's `zero_division` result.
 */

export interface ClassificationMetrics {
  /** Unweighted mean of the per-class F1 over `labels`. */
  macroF1: number;
  accuracy: number;
  /** The classes, sorted ascending, that the F1 values refer to. */
  labels: number[];
  f1PerClass: number[];
}

function checkLengths(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): void {
  if (yTrue.length !== yPred.length) {
    throw new Error(`metrics: ${yTrue.length} true labels but ${yPred.length} predictions`);
  }
  if (yTrue.length === 0) throw new Error("metrics: no samples");
}

export function accuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkLengths(yTrue, yPred);
  let hit = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) hit++;
  return hit / yTrue.length;
}

/** Per-class F1 = 2TP / (2TP + FP + FN), 0 where that is 0/0; `labels` defaults to the union of both. */
export function f1PerClass(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  labels?: number[],
): { labels: number[]; f1: number[] } {
  checkLengths(yTrue, yPred);
  const ls = labels ?? [...new Set([...Array.from(yTrue), ...Array.from(yPred)])].sort((a, b) => a - b);
  const index = new Map(ls.map((l, i) => [l, i]));
  const tp = new Float64Array(ls.length), fp = new Float64Array(ls.length), fn = new Float64Array(ls.length);
  for (let i = 0; i < yTrue.length; i++) {
    const t = index.get(yTrue[i]), p = index.get(yPred[i]);
    if (t !== undefined && t === p) tp[t]++;
    else {
      if (p !== undefined) fp[p]++;
      if (t !== undefined) fn[t]++;
    }
  }
  const f1 = ls.map((_, c) => {
    const denom = 2 * tp[c] + fp[c] + fn[c];
    return denom === 0 ? 0 : (2 * tp[c]) / denom;
  });
  return { labels: ls, f1 };
}

export function macroF1(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, labels?: number[]): number {
  const { f1 } = f1PerClass(yTrue, yPred, labels);
  return f1.reduce((a, b) => a + b, 0) / f1.length;
}

export function classificationMetrics(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
): ClassificationMetrics {
  const { labels, f1 } = f1PerClass(yTrue, yPred);
  return {
    macroF1: f1.reduce((a, b) => a + b, 0) / f1.length,
    accuracy: accuracy(yTrue, yPred),
    labels,
    f1PerClass: f1,
  };
}
