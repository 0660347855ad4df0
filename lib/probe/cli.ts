/** `deno task cli probe`: fit the L1 logistic-regression probe on .npy features and score the test set. */
import { type Command, need, num, stringFlag } from "../common/cli.ts";
import { readMatrix } from "../common/matrix.ts";
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
    const C = num(flags, "C", 1), tol = num(flags, "tol", 1e-4), maxIter = num(flags, "max-iter", 3000);
    const [Xtr, ytr, Xte, yte] = await Promise.all([
      readMatrix(paths.train),
      readLabels(paths.trainLabels),
      readMatrix(paths.test),
      readLabels(paths.testLabels),
    ]);
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

export const commands: Command[] = [probe];
