/**
 * ΔF1 against its definition from the rows the grid writes, in a clone without ../shared or Python: a tiny
 * dataset of generated WAVs whose feature store is written directly (u planted with a class signal, so no
 * codec runs; `features: "stored"`), one grid run per pooling (mean, mean+std), and then every results row
 * checked: f1_ref is the F1 of the reference row (feature u) of its setting and seed, delta_f1 = f1 − f1_ref,
 * and F1 itself recomputed with the reference macro-F1 from the cell's saved probe and split (z / z_pos / z_mag
 * rebuilt from the saved SAE by the plain-TypeScript references).
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import pl from "nodejs-polars";
import { encodeWav } from "../lib/audio/mod.ts";
import { readJson } from "../lib/common/fs.ts";
import { sha256Hex } from "../lib/common/hash.ts";
import { Rng } from "../lib/common/random.ts";
import { getCodec } from "../lib/codecs/registry.ts";
import { codecInfo } from "../lib/codecs/types.ts";
import { prepareDataset } from "../lib/data/mod.ts";
import { readManifest } from "../lib/data/manifest.ts";
import { validateConfig } from "../lib/experiment/config.ts";
import { runGrid } from "../lib/experiment/run.ts";
import type { ProbeArtefact, SplitLists } from "../lib/experiment/artefacts.ts";
import { rowKey, type StoredVectors, writeMergedView } from "../lib/extract/store.ts";
import { loadCheckpoint } from "../lib/sae/checkpoint.ts";
import { refEncode, refParams } from "../testdata/reference/sae.ts";
import { refMagnitudes, refPositions } from "../testdata/reference/features.ts";
import { refMacroF1 } from "../testdata/reference/stats.ts";

/** Speaker → [narrow accent, split]; 8 utterances each. North America = class 0 of US vs Non-US-UK. */
const SPEAKERS: Record<string, [string, string]> = {
  a1: ["North America", "train"],
  a2: ["Romance", "train"],
  a3: ["North America", "train"],
  a4: ["Germanic", "train"],
  b1: ["North America", "validation"],
  b2: ["Romance", "validation"],
  b3: ["North America", "validation"],
  b4: ["Germanic", "validation"],
  c1: ["North America", "test"],
  c2: ["Romance", "test"],
  c3: ["North America", "test"],
  c4: ["Germanic", "test"],
};

Deno.test({
  name:
    "reference grid: every row's delta_f1 is f1 − the reference row's F1, and F1 follows from its artefacts",
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-refgrid-" });
    try {
      const codecId = "lyra-3.2kbps";
      const info = codecInfo(await getCodec(codecId, { modelsDir: join(dir, "no-models"), offline: true }));
      const d = info.dCodec;
      // Distinct little WAVs (their bytes key the store rows) and the user CSV.
      const lines = ["path,speaker_id,accent_narrow,split"];
      let n = 0;
      for (const [speaker, [accent, split]] of Object.entries(SPEAKERS)) {
        for (let i = 0; i < 8; i++, n++) {
          const path = join(dir, `${speaker}_${i}.wav`);
          const tone = Float32Array.from({ length: 1600 }, (_, t) => 0.1 * Math.sin((t * (n + 1)) / 50));
          await Deno.writeFile(path, encodeWav([tone], 16000));
          lines.push(`${path},${speaker},${accent},${split}`);
        }
      }
      await Deno.writeTextFile(join(dir, "tiny.csv"), lines.join("\n") + "\n");
      const manifest =
        (await prepareDataset(join(dir, "tiny.csv"), { out: join(dir, "prepared"), quiet: true }))
          .manifestPath;
      // The store: u = noise + a class-dependent shift along a few dimensions; u_std = |noise|.
      const rows = (await readManifest(manifest)).toRecords() as Record<string, string>[];
      const rng = new Rng(5);
      const contents = { rows: new Map<string, StoredVectors>(), shardFiles: [] as string[], nextShard: 0 };
      const order: string[] = [];
      for (const r of rows) {
        const us = r.accent_narrow === "North America" ? 1 : -1;
        const u = Float32Array.from({ length: d }, (_, j) => rng.normal() + (j < 4 ? 1.2 * us : 0));
        const uStd = Float32Array.from({ length: d }, () => Math.abs(rng.normal()));
        const sha256 = await sha256Hex(await Deno.readFile(r.path));
        const key = rowKey(r.utterance_id, r.path, sha256);
        contents.rows.set(key, {
          row: { utterance_id: r.utterance_id, path: r.path, frames: 8, seconds: 0.1, sha256 },
          u,
          uStd,
        });
        order.push(key);
      }
      const storeDir = join(dir, "features", "tiny", codecId);
      await Deno.mkdir(storeDir, { recursive: true });
      await writeMergedView(
        storeDir,
        { dataset: "tiny", codec: info, manifest, maxSeconds: 30 },
        contents,
        order,
        [],
      );

      const uOf = new Map(rows.map((r, i) => [r.utterance_id, contents.rows.get(order[i])!]));
      for (const pooling of ["mean", "mean+std"] as const) {
        const config = validateConfig(
          {
            name: "refgrid",
            datasets: [{ name: "tiny", manifest }],
            codecs: [codecId],
            tasks: ["us-vs-non-us-uk"],
            grid: { q: [2], s: [0.25, 0.1] },
            seeds: [0, 1],
            epochs: { fixed: 10 },
            sae: { lr: 1e-3 },
            pooling,
            outDir: join(dir, `out-${pooling}`),
            featureDir: join(dir, "features"),
            modelsDir: join(dir, "no-models"),
            workers: 1,
            bootstrap: 0,
          },
          "refgrid",
          dir,
        );
        const summary = await runGrid(config, {
          features: "stored",
          quiet: true,
          cacheDir: join(dir, "cache"),
        });
        assertEquals(summary.cells.computed, 4);
        const results = pl.readParquet(join(dir, `out-${pooling}`, "results.parquet")).toRecords();
        assertEquals(results.length, 2 + 4 * 3); // a reference row per seed + 4 cells × (z, z_pos, z_mag)
        const cells = join(dir, `out-${pooling}`, "cells");
        for (const row of results) {
          const what = `${pooling} ${row.feature} q=${row.q} s=${row.s} seed ${row.seed}`;
          const ref = results.find((r) => r.feature === "u" && r.seed === row.seed);
          assert(ref, `no reference row for seed ${row.seed}`);
          assertEquals(row.f1_ref, ref.f1, `${what}: f1_ref`);
          assertEquals(row.delta_f1, (row.f1 as number) - (ref.f1 as number), `${what}: ΔF1 = F1 − F1(u)`);
          // F1 from the cell's artefacts: pooled u of the test rows ([mean | std] for mean+std), the features
          // the references build from the saved SAE, the saved probe, the reference macro-F1.
          const key = row.cell_key as string;
          const splits = await readJson<SplitLists>(join(cells, key, "splits.json"));
          const probe = (await readJson<Record<string, ProbeArtefact>>(join(cells, key, "probes.json")))[
            row.feature as string
          ];
          let x = splits.test.map((id) => {
            const v = uOf.get(id)!;
            return pooling === "mean" ? Array.from(v.u) : [...v.u, ...v.uStd!];
          });
          if (row.feature !== "u") {
            const { model } = await loadCheckpoint(join(cells, key));
            const { dIn, dZ, k } = model.config;
            assertEquals(dIn, x[0].length, `${what}: SAE input width`);
            const z = refEncode(refParams(model, dIn, dZ), Float32Array.from(x.flat()), x.length, k)
              .map((r) => Array.from(r));
            x = row.feature === "z"
              ? z
              : row.feature === "z_pos"
              ? z.map(refPositions)
              : z.map((r) => refMagnitudes(r, k));
          }
          const pred = x.map((xi) => {
            let f = probe.intercept;
            xi.forEach((v, j) => (f += probe.coef[j] * (v - probe.scaler.mean[j]) / probe.scaler.scale[j]));
            return f > 0 ? probe.classes[1] : probe.classes[0];
          });
          const truth = splits.test.map((id) => splits.labels[id]);
          assertEquals(row.f1, refMacroF1(truth, pred), `${what}: F1 from the artefacts`);
        }
        assert(
          results.some((r) => r.feature !== "u" && r.delta_f1 !== 0),
          "every ΔF1 is 0: the sign is untested",
        );
        assert(
          (results.find((r) => r.feature === "u")!.f1 as number) > 0.7,
          "the planted class signal was not found",
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
