/**
 * The grid under each protocol on real speech (an FSDD subset, Lyra 3.2 kbps): statistics pooling doubles d,
 * speaker-level k-fold scores every non-SAE utterance once, and every results row names its protocol and
 * carries the reference F1's interval against the label-permuted chance level.
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import pl from "nodejs-polars";
import { sharedDir } from "../lib/cli/settings.ts";
import { validateConfig } from "../lib/experiment/config.ts";
import { runGrid } from "../lib/experiment/run.ts";
import { readJson } from "../lib/common/fs.ts";
import type { ProbeArtefact, SplitLists } from "../lib/experiment/artefacts.ts";
import { loadFeatureSet } from "../lib/extract/mod.ts";
import { writeFsddManifest } from "./grid_fixture.ts";
import { skipWithout } from "./tools.ts";

const shared = sharedDir();

Deno.test({
  name: "grid protocols: mean+std doubles d; kfold scores val + test by speaker; rows name their protocol",
  ignore: skipWithout(import.meta.url, "../shared data", !shared),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-protocols-" });
    await writeFsddManifest(dir, { takes: () => [0] });
    const run = (out: string, extra: Record<string, unknown>, checkpoints = false) =>
      runGrid(
        validateConfig(
          {
            datasets: [{ name: join(dir, "manifest.csv") }],
            codecs: ["lyra-3.2kbps"],
            tasks: ["us-vs-non-us-uk"],
            grid: { q: [2], s: [0.5] },
            epochs: { fixed: 3 },
            outDir: out,
            featureDir: "features",
            modelsDir: `${shared}/models`,
            workers: 1,
            bootstrap: 50,
            ...extra,
          },
          "t.json",
          dir,
        ),
        { cacheDir: join(dir, "cache"), quiet: true, checkpoints },
      );
    const table = (out: string) => pl.readParquet(join(dir, out, "results.parquet")).toRecords();
    try {
      await run("paper", {});
      await run(
        "powered",
        { pooling: "mean+std", probe: { protocol: "kfold", folds: 2, permutations: 4 } },
        true,
      );
      const paper = table("paper"), powered = table("powered");
      for (const r of paper) {
        assertEquals([r.pooling, r.probe_protocol, r.probe_folds], ["mean", "split", 1]);
        assertEquals([r.d_codec, r.n_probe_train, r.n_test], [64, 10, 20]);
      }
      for (const r of powered) {
        assertEquals([r.pooling, r.probe_protocol, r.probe_folds], ["mean+std", "kfold", 2]);
        // val1 + val2 + test = 40 utterances of 4 speakers, two per fold; each fold trains on the other 20.
        assertEquals([r.d_codec, r.n_probe_train, r.n_test], [128, 20, 40]);
      }
      const ref = powered.find((r) => r.feature === "u")!;
      for (const k of ["f1_low", "f1_high", "f1_ref_low", "f1_ref_high", "chance_f1", "chance_f1_high"]) {
        assertEquals(typeof ref[k], "number", k);
      }
      assert((ref.f1_low as number) <= (ref.f1 as number) && (ref.f1 as number) <= (ref.f1_high as number));
      assertEquals(ref.ref_above_chance, (ref.f1_ref_low as number) > (ref.chance_f1_high as number));
      assertEquals(powered.find((r) => r.feature === "z")!.d_z, 256);

      // mean+std pools each utterance as [mean of ê over time, std of ê over time]: the reference probe of each
      // fold standardised its training rows with their column means, which must be those of [u | u_std] read
      // from the feature store, in that order.
      // (A dataset named by its manifest path keeps its store under that path inside featureDir.)
      const codecDir = join(dir, "features", join(dir, "manifest.csv"), "lyra-3.2kbps");
      const fs = await loadFeatureSet(codecDir);
      const rowOf = new Map(fs.ids.map((id, i) => [id, i]));
      const cell = join(dir, "powered", "cells", ref.cell_key as string);
      const splits = await readJson<SplitLists>(join(cell, "splits.json"));
      const probes = await readJson<Record<string, ProbeArtefact>>(join(cell, "probes.json"));
      for (let f = 0; f < 2; f++) {
        const train = Object.keys(splits.folds!).filter((id) => splits.folds![id] !== f);
        const d = fs.u.cols;
        const want = new Float64Array(2 * d);
        for (const id of train) {
          const i = rowOf.get(id)!;
          for (let j = 0; j < d; j++) {
            want[j] += fs.u.data[i * d + j] / train.length;
            want[d + j] += fs.uStd!.data[i * d + j] / train.length;
          }
        }
        const got = probes[`u/fold-${f}`].scaler.mean;
        assertEquals(got.length, 2 * d);
        for (let j = 0; j < 2 * d; j++) {
          assert(
            Math.abs(got[j] - want[j]) <= 1e-5 * Math.max(1, Math.abs(want[j])),
            `fold ${f}, column ${j}`,
          );
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
