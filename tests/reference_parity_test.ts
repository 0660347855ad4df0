/**
 * Parity of the SAE's parameters with PyTorch: from the same initial weights and batch orders, the weights after
 * 50 steps of both engines (and of AuxK) match those of bench/sae_torch.py (plain autograd + torch.optim.Adam),
 * committed as tests/fixtures/sae/torch_<case>.safetensors by tools/make_parity_fixtures.ts — so the check runs
 * without Python. The plain-TypeScript reference (testdata/reference/sae.ts) lands on the same weights.
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import { sha256File } from "../lib/common/hash.ts";
import { readSafetensors } from "../lib/formats/safetensors.ts";
import { initModel } from "../lib/sae/model.ts";
import { saveCheckpoint } from "../lib/sae/checkpoint.ts";
import { epochPermutation, newOptimizerState, trainSae } from "../lib/sae/train.ts";
import { refParams, refTrain } from "../testdata/reference/sae.ts";
import { SAE_PARITY_STEPS, saeParityCases, saeParityData } from "../tools/make_parity_fixtures.ts";

const FIXTURES = new URL("./fixtures/sae/", import.meta.url).pathname;

/** max |a − b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertEquals(a.length, b.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

const X = saeParityData();
const recorded: { cases: { name: string; steps: number; initSha256: string }[] } = JSON.parse(
  await Deno.readTextFile(join(FIXTURES, "torch_cases.json")),
);

for (const { name, cfg } of saeParityCases()) {
  const engines = cfg.auxK ? ["sparse" as const] : ["sparse" as const, "dense" as const];
  Deno.test(`reference parity: ${name}, weights after 50 steps equal PyTorch's (${engines.join(", ")})`, async () => {
    const rec = recorded.cases.find((c) => c.name === name);
    assert(rec, `no case ${name} in torch_cases.json: regenerate with tools/make_parity_fixtures.ts`);
    assertEquals(rec.steps, SAE_PARITY_STEPS);
    const dir = await Deno.makeTempDir({ prefix: "sae_parity_" });
    try {
      const init = initModel(X, cfg);
      await saveCheckpoint(dir, { model: init, history: [], optimizer: newOptimizerState(cfg), engine: "" });
      assertEquals(
        await sha256File(join(dir, "model.safetensors")),
        rec.initSha256,
        "initialisation changed",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    const { tensors } = await readSafetensors(join(FIXTURES, `torch_${name}.safetensors`));
    const torch = {
      wEnc: tensors.W_enc.data as Float32Array,
      wDec: tensors.W_dec.data as Float32Array, // d × d_z
      bPre: tensors.b_pre.data as Float32Array,
    };
    const start = refParams(initModel(X, cfg), cfg.dIn, cfg.dZ);
    assert(relErr(start.wEnc, torch.wEnc) > 1e-2, "PyTorch's weights barely moved: the comparison is empty");
    for (const engine of engines) {
      const { model } = await trainSae(X, { ...cfg, engine }, { quiet: true, threads: 1 });
      const ours = refParams(model, cfg.dIn, cfg.dZ);
      const errs = [
        relErr(ours.wEnc, torch.wEnc),
        relErr(ours.wDec, torch.wDec),
        relErr(ours.bPre, torch.bPre),
      ];
      assert(errs.every((e) => e < 2e-5), `${engine}: W_enc, W_dec, b_pre differ from PyTorch's by ${errs}`);
    }
    const ref = refParams(initModel(X, cfg), cfg.dIn, cfg.dZ);
    refTrain(ref, X.data, X.rows, {
      k: cfg.k,
      batchSize: cfg.batchSize,
      lr: cfg.lr,
      eps: cfg.adamEps,
      steps: SAE_PARITY_STEPS,
      order: (e) => epochPermutation(X.rows, cfg.seed, e),
      auxK: cfg.auxK,
    });
    const errs = [relErr(ref.wEnc, torch.wEnc), relErr(ref.wDec, torch.wDec), relErr(ref.bPre, torch.bPre)];
    assert(errs.every((e) => e < 2e-5), `the TypeScript reference differs from PyTorch's by ${errs}`);
  });
}
