/**
 * Parity with PyTorch's loss trajectory (the weights themselves: tests/reference_parity_test.ts): from identical
 * initial weights and batch orders, our 50-step losses (both engines, and AuxK) match the reference math
 * (bench/sae_torch.py, plain autograd + torch.optim.Adam) within 1e-3 relative. With /usr/bin/python3 + torch
 * the reference runs live; otherwise its losses come from tests/fixtures/sae/parity.json (forced by
 * NAC_SAE_PARITY_FIXTURE=1; regenerate with NAC_SAE_WRITE_FIXTURES=1 where torch is installed).
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import { writeMatrix } from "../lib/common/matrix.ts";
import { writeNpy } from "../lib/formats/npy.ts";
import { sha256File } from "../lib/common/hash.ts";
import { saeConfig } from "../lib/sae/config.ts";
import { initModel } from "../lib/sae/model.ts";
import { loadCheckpoint, saveCheckpoint } from "../lib/sae/checkpoint.ts";
import { newOptimizerState, trainSae } from "../lib/sae/train.ts";
import { epochOrders } from "../testdata/sae_orders.ts";
import { plantedData } from "../testdata/sae_data.ts";
import { PYTHON, torchAvailable } from "./tools.ts";

const FIXTURE = new URL("./fixtures/sae/parity.json", import.meta.url).pathname;
const SCRIPT = new URL("../bench/sae_torch.py", import.meta.url).pathname;
const STEPS = 50;

/** The live reference runs where Debian's python3 has torch (NAC_SAE_PARITY_FIXTURE=1 forces the fixture). */
async function liveTorch(): Promise<boolean> {
  return Deno.env.get("NAC_SAE_PARITY_FIXTURE") !== "1" && await torchAvailable();
}

interface Case {
  name: string;
  lr: number;
  initSha256: string;
  losses: number[];
}

Deno.test("sae parity: 50-step loss trajectory matches PyTorch within 1e-3 relative (sparse and dense)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sae_parity_" });
  try {
    const X = plantedData(640, 32, 1);
    const xPath = join(dir, "X.npy");
    await writeMatrix(xPath, X);
    const live = await liveTorch();
    const fixture: { cases: Case[] } = live ? { cases: [] } : JSON.parse(await Deno.readTextFile(FIXTURE));
    const setups = [
      { name: "paper-lr", lr: 1e-5, auxK: undefined },
      { name: "lr-1e-3", lr: 1e-3, auxK: undefined },
      // AuxK with a one-batch dead window (about half the latents count as dead at every step) and a large
      // coefficient, so that its gradients visibly change the trajectory.
      { name: "auxk", lr: 1e-3, auxK: { kAux: 16, coef: 1, deadSamples: 64 } },
    ];
    const trajectories = new Map<string, number[]>();
    for (const { name, lr, auxK } of setups) {
      // 640 rows, batch 64: 10 steps per epoch, 5 epochs = 50 steps. d_z = 128, k = 8.
      const cfg = saeConfig(4, 0.25, 32, { epochs: 5, batchSize: 64, seed: 3, lr, auxK });
      const initDir = join(dir, `init_${name}`);
      const model = initModel(X, cfg);
      await saveCheckpoint(initDir, { model, history: [], optimizer: newOptimizerState(cfg), engine: "" });
      const initSha256 = await sha256File(join(initDir, "model.safetensors"));
      let ref: number[];
      if (live) {
        const perms = join(dir, "perms.npy");
        await writeNpy(perms, epochOrders(X.rows, cfg.seed, cfg.epochs), [cfg.epochs, X.rows]);
        const out = join(dir, `torch_${name}.json`);
        const p = await new Deno.Command(PYTHON, {
          args: [
            SCRIPT,
            "--input",
            xPath,
            "--init",
            initDir,
            "--perms",
            perms,
            "--steps",
            String(STEPS),
            "--out",
            out,
          ],
          stdout: "null",
        }).output();
        assert(p.success, `bench/sae_torch.py failed: ${new TextDecoder().decode(p.stderr)}`);
        ref = JSON.parse(await Deno.readTextFile(out)).losses;
        fixture.cases.push({ name, lr, initSha256, losses: ref });
      } else {
        const c = fixture.cases.find((c) => c.name === name);
        assert(c, `no fixture case ${name}`);
        assertEquals(initSha256, c.initSha256, "our initialisation changed: regenerate the parity fixture");
        ref = c.losses;
      }
      assertEquals(ref.length, STEPS);
      trajectories.set(name, ref);
      if (auxK) {
        const plain = trajectories.get("lr-1e-3")!;
        const moved = Math.abs(ref[STEPS - 1] - plain[STEPS - 1]) / plain[STEPS - 1];
        assert(moved > 1e-2, `AuxK barely changed the reference trajectory (${moved})`);
      }
      for (const engine of auxK ? ["sparse" as const] : ["sparse", "dense"] as const) {
        const init = await loadCheckpoint(initDir);
        const losses: number[] = [];
        await trainSae(X, { ...cfg, engine }, {
          resume: init,
          quiet: true,
          onStep: (_t, l) => losses.push(l),
        });
        let worst = 0;
        for (let i = 0; i < STEPS; i++) worst = Math.max(worst, Math.abs(losses[i] - ref[i]) / ref[i]);
        assert(worst < 1e-3, `${engine} ${name}: worst relative loss error ${worst}`);
        // The trajectory must actually move at the larger learning rate (a frozen model would also "match").
        if (lr === 1e-3) {
          assert(ref[STEPS - 1] < 0.9 * ref[0], `reference loss did not decrease: ${ref[0]} → ${ref[49]}`);
        }
      }
    }
    if (live && Deno.env.get("NAC_SAE_WRITE_FIXTURES") === "1") {
      await Deno.mkdir(new URL("./fixtures/sae/", import.meta.url), { recursive: true });
      await Deno.writeTextFile(
        FIXTURE,
        JSON.stringify({ generator: "bench/sae_torch.py", ...fixture }) + "\n",
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
