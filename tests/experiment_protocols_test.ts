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
import { skipWithout } from "./tools.ts";

const shared = sharedDir();
const SPEAKERS: Record<string, [string, string]> = {
  nicolas: ["Romance", "train"],
  george: ["Other", "train"],
  jackson: ["North America", "validation"],
  lucas: ["Germanic", "validation"],
  theo: ["North America", "test"],
  yweweler: ["Germanic", "test"],
};

Deno.test({
  name: "grid protocols: mean+std doubles d; kfold scores val + test by speaker; rows name their protocol",
  ignore: skipWithout(import.meta.url, "../shared data", !shared),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-protocols-" });
    const lines = ["path,speaker_id,accent_narrow,split"];
    for (const [speaker, [accent, split]] of Object.entries(SPEAKERS)) {
      for (let digit = 0; digit < 10; digit++) {
        lines.push(`${shared}/data/fsdd/recordings/${digit}_${speaker}_0.wav,${speaker},${accent},${split}`);
      }
    }
    await Deno.writeTextFile(join(dir, "manifest.csv"), lines.join("\n") + "\n");
    const run = (out: string, extra: Record<string, unknown>) =>
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
        { cacheDir: join(dir, "cache"), quiet: true, checkpoints: false },
      );
    const table = (out: string) => pl.readParquet(join(dir, out, "results.parquet")).toRecords();
    try {
      await run("paper", {});
      await run("powered", { pooling: "mean+std", probe: { protocol: "kfold", folds: 2, permutations: 4 } });
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
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
