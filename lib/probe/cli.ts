/** `deno task cli probe`: fit the L1 logistic-regression probe on .npy features and score the test set. */
import { type Command, need, num, stringFlag } from "../common/cli.ts";
import { assertFinite, type Matrix, npyToMatrix } from "../common/matrix.ts";
import { LIMITS } from "../common/limits.ts";
import { type NpyArray, readNpy } from "../formats/npy.ts";
import { type AnyMatrix, applyScaler, fitScaler } from "./scaler.ts";
import { log } from "../common/progress.ts";
import { readLabels } from "./labels.ts";
import { runProbe } from "./mod.ts";

const probe: Command = {
  name: "probe",
  summary:
    "L1 logistic-regression probe (scikit-learn's penalty='l1' objective): fit on train, macro-F1 on test",
  usage: "--train X.npy --train-labels y.npy --test X.npy --test-labels y.npy [--C 1] [--json]",
  flags: {
    train: {
      type: "string",
      required: true,
      description: "training features, N×d .npy (standardized on these rows)",
    },
    "train-labels": {
      type: "string",
      required: true,
      description: "training labels, N integer .npy (two classes)",
    },
    test: stringFlag("test features, M×d .npy", { required: true }),
    "test-labels": stringFlag("test labels, M integer .npy", { required: true }),
    C: stringFlag("inverse L1 strength, as scikit-learn's C", { default: "1" }),
    tol: stringFlag("relative KKT-violation tolerance", { default: "1e-4" }),
    "max-iter": stringFlag("maximum Newton iterations", { default: "3000" }),
  },
  async run(flags) {
    const paths = {
      train: need(flags, "train"),
      trainLabels: need(flags, "train-labels"),
      test: need(flags, "test"),
      testLabels: need(flags, "test-labels"),
    };
    const C = num(flags, "C", 1, LIMITS.probeC), tol = num(flags, "tol", 1e-4, LIMITS.probeTol);
    const maxIter = num(flags, "max-iter", 3000, LIMITS.probeMaxIter);
    const [rawTr, ytr, rawTe, yte] = await Promise.all([
      readNpy(paths.train),
      readLabels(paths.trainLabels),
      readNpy(paths.test),
      readLabels(paths.testLabels),
    ]);
    const { Xtr, Xte } = keepPrecision(rawTr, rawTe, paths);
    const r = runProbe(Xtr, ytr, Xte, yte, { C, tol, maxIter, names: paths });
    const testClasses = new Set(yte);
    if (testClasses.size < 2) {
      log(
        `warning: ${paths.testLabels}: all ${yte.length} test rows are class ${yte[0]}; ` +
          `macro-F1 is averaged over that one class only`,
      );
    }
    console.log(
      `probe: macro-F1 ${(100 * r.macroF1).toFixed(2)} %, accuracy ${(100 * r.accuracy).toFixed(2)} %, ` +
        `${r.nnz}/${Xtr.cols} nonzero coefficients, ${r.nIter} Newton iterations` +
        `${r.converged ? "" : " (NOT converged)"}, objective ${r.objective.toFixed(6)}, ${
          r.seconds.toFixed(3)
        } s`,
    );
    return {
      macro_f1: r.macroF1,
      accuracy: r.accuracy,
      f1_per_class: r.f1PerClass,
      labels: r.labels,
      nnz: r.nnz,
      n_iter: r.nIter,
      converged: r.converged,
      objective: r.objective,
      seconds: r.seconds,
      intercept: r.intercept,
      n_train: Xtr.rows,
      n_test: Xte.rows,
      d: Xtr.cols,
      C,
      tol,
      max_iter: maxIter,
    };
  },
};

/**
 * The probe computes in float32. Float64 features are standardised in float64 first (the training rows' mean
 * and std, applied to both sets, as the probe's own scaler does), so values near 1e8 that differ by 0.5 keep
 * their differences; the probe's scaler then sees standardised columns.
 */
function keepPrecision(
  train: NpyArray,
  test: NpyArray,
  paths: { train: string; test: string },
): { Xtr: Matrix; Xte: Matrix } {
  const Xtr = float64Matrix(train, paths.train), Xte = float64Matrix(test, paths.test);
  const precise = Xtr && Xte && Xtr.rows > 0 && Xtr.cols === Xte.cols;
  if (!precise) return { Xtr: npyToMatrix(train, paths.train), Xte: npyToMatrix(test, paths.test) };
  assertFinite(Xtr as unknown as Matrix, paths.train);
  assertFinite(Xte as unknown as Matrix, paths.test);
  const scaler = fitScaler(Xtr);
  log(`probe: float64 features standardised in float64 on the training rows before the float32 fit`);
  return { Xtr: applyScaler(scaler, Xtr), Xte: applyScaler(scaler, Xte) };
}

function float64Matrix(a: NpyArray, source: string): AnyMatrix | null {
  if (!(a.data instanceof Float64Array)) return null;
  if (a.shape.length !== 1 && a.shape.length !== 2) {
    throw new Error(`${source}: expected a 1-D or 2-D array, got shape (${a.shape})`);
  }
  const [rows, cols] = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  return { rows, cols, data: a.data };
}

export const commands: Command[] = [probe];
