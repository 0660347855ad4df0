/**
 * Writes the committed parameter-level parity fixtures, so that tests/reference_parity_test.ts and
 * tests/reference_probe_test.ts compare against PyTorch and scikit-learn without Python:
 *
 * - tests/fixtures/sae/torch_<case>.safetensors: the weights (W_enc, W_dec, b_pre) after 50 steps of
 *   bench/sae_torch.py (plain autograd + torch.optim.Adam, Debian python3-torch 1.13), started from our initial
 *   weights on plantedData(640, 32, 1) with our batch orders; tests/fixtures/sae/torch_cases.json says how
 *   each case was configured and the hash of its initial weights (the test refuses a changed initialisation).
 * - tests/fixtures/probe/<name>/sklearn_coef.json: scikit-learn 1.2.1's coefficients, intercept and objective
 *   on the committed probe fixtures (StandardScaler, LogisticRegression(penalty="l1", solver="saga", C=1)
 *   run to tol 1e-12), the problem tests/probe_parity_test.ts scores.
 *
 * Needs /usr/bin/python3 with torch and scikit-learn (Debian python3-torch, python3-sklearn). From the root:
 *
 *     deno run --allow-read --allow-write --allow-run=/usr/bin/python3 tools/make_parity_fixtures.ts
 */
import { join } from "node:path";
import { writeMatrix } from "../lib/common/matrix.ts";
import { sha256File } from "../lib/common/hash.ts";
import { writeNpy } from "../lib/formats/npy.ts";
import { type SaeConfig, saeConfig } from "../lib/sae/config.ts";
import { initModel } from "../lib/sae/model.ts";
import { saveCheckpoint } from "../lib/sae/checkpoint.ts";
import { newOptimizerState } from "../lib/sae/train.ts";
import { epochOrders } from "../testdata/sae_orders.ts";
import { plantedData } from "../testdata/sae_data.ts";

const PY = "/usr/bin/python3";
const root = new URL("../", import.meta.url).pathname;

/** The SAE cases: 640 rows, batch 64 (10 steps per epoch), 5 epochs = 50 steps; d_z = 128, k = 8. */
export const SAE_PARITY_STEPS = 50;
export function saeParityCases(): { name: string; cfg: SaeConfig }[] {
  const base = { epochs: 5, batchSize: 64, seed: 3 };
  return [
    { name: "lr-1e-3", cfg: saeConfig(4, 0.25, 32, { ...base, lr: 1e-3 }) },
    {
      name: "auxk",
      cfg: saeConfig(4, 0.25, 32, { ...base, lr: 1e-3, auxK: { kAux: 16, coef: 1, deadSamples: 64 } }),
    },
  ];
}
export function saeParityData() {
  return plantedData(640, 32, 1);
}

async function python(args: string[]): Promise<void> {
  const out = await new Deno.Command(PY, { args, stdout: "inherit", stderr: "inherit" }).output();
  if (!out.success) throw new Error(`${PY} ${args.slice(0, 2).join(" ")} failed`);
}

async function saeFixtures(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "parity_fixtures_" });
  const X = saeParityData();
  await writeMatrix(join(dir, "X.npy"), X);
  const cases: Record<string, unknown>[] = [];
  for (const { name, cfg } of saeParityCases()) {
    const init = join(dir, `init_${name}`);
    await saveCheckpoint(init, {
      model: initModel(X, cfg),
      history: [],
      optimizer: newOptimizerState(cfg),
      engine: "",
    });
    const perms = join(dir, "perms.npy");
    await writeNpy(perms, epochOrders(X.rows, cfg.seed, cfg.epochs), [cfg.epochs, X.rows]);
    const weights = join(root, "tests/fixtures/sae", `torch_${name}.safetensors`);
    await python([
      join(root, "bench/sae_torch.py"),
      ...["--input", join(dir, "X.npy"), "--init", init, "--perms", perms, "--threads", "1"],
      ...["--steps", String(SAE_PARITY_STEPS), "--out", join(dir, `${name}.json`), "--weights-out", weights],
    ]);
    cases.push({
      name,
      steps: SAE_PARITY_STEPS,
      initSha256: await sha256File(join(init, "model.safetensors")),
    });
  }
  await Deno.writeTextFile(
    join(root, "tests/fixtures/sae/torch_cases.json"),
    JSON.stringify({ generator: "tools/make_parity_fixtures.ts (bench/sae_torch.py)", cases }, null, 1) +
      "\n",
  );
  await Deno.remove(dir, { recursive: true });
}

const SKLEARN = `
import json, sys
import numpy as np, sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
d = sys.argv[1]
X = np.load(d + "/Xtr.npy").astype(np.float64); y = np.load(d + "/ytr.npy")
Z = StandardScaler().fit_transform(X)
m = LogisticRegression(penalty="l1", solver="saga", C=1.0, tol=1e-12, max_iter=1000000).fit(Z, y)
w, b = m.coef_[0], m.intercept_[0]
f = Z @ w + b; s = np.where(y == m.classes_[1], 1.0, -1.0)
obj = np.abs(w).sum() + np.logaddexp(0, -s * f).sum()
json.dump({"generator": "tools/make_parity_fixtures.ts", "sklearn": sklearn.__version__, "solver": "saga",
           "tol": 1e-12, "n_iter": int(m.n_iter_[0]), "coef": w.tolist(), "intercept": float(b),
           "objective": float(obj)}, open(d + "/sklearn_coef.json", "w"), indent=1)
`;

async function probeFixtures(): Promise<void> {
  for (const name of ["dense", "sparse"]) {
    await python(["-c", SKLEARN, join(root, "tests/fixtures/probe", name)]);
  }
}

if (import.meta.main) {
  await saeFixtures();
  await probeFixtures();
}
