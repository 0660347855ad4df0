/**
 * A grid keeps what each ΔF1 row was computed from: reloading a cell's SAE, probes and split lists (found
 * through the row's `cell_key`) reproduces the row's F1 exactly, and the reference row's probe on u likewise.
 * `checkpoints: false` keeps the old footprint, and a later run with checkpoints recomputes those cells.
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import pl from "nodejs-polars";
import { exists, readJson } from "../lib/common/fs.ts";
import { prepareDataset } from "../lib/data/mod.ts";
import { parquetKeyValueMetadata } from "../lib/formats/parquet.ts";
import { takeRows } from "../lib/common/matrix.ts";
import { validateConfig } from "../lib/experiment/config.ts";
import { runGrid } from "../lib/experiment/run.ts";
import type { ProbeArtefact, SplitLists } from "../lib/experiment/artefacts.ts";
import { loadFeatureSet } from "../lib/extract/mod.ts";
import { decisionFunction, magnitudeFeatures, positionFeatures } from "../lib/probe/mod.ts";
import { refMacroF1 } from "../testdata/reference/stats.ts";
import { encodeSae, loadCheckpoint } from "../lib/sae/mod.ts";
import { SHARED, writeFsddManifest } from "./grid_fixture.ts";
import { skipWithout } from "./tools.ts";

/** A small speaker-disjoint FSDD subset (the README's FSDD split), US vs Non-US-UK, prepared. */
async function writeFsddSubset(dir: string): Promise<string> {
  const path = await writeFsddManifest(dir, { name: "subset.csv" });
  return (await prepareDataset(path, { out: join(dir, "prepared"), quiet: true })).manifestPath;
}

Deno.test({
  name: "grid artefacts: a row's cell_key folder reproduces its F1 (SAE, probes, splits); --no-checkpoints",
  ignore: skipWithout(import.meta.url, "../shared data", !SHARED),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-artefacts-" });
    const manifest = await writeFsddSubset(dir);
    const config = (outDir: string) =>
      validateConfig(
        {
          name: "artefacts-test",
          datasets: [{ name: "subset", manifest }],
          codecs: ["lyra-3.2kbps"],
          tasks: ["us-vs-non-us-uk"],
          grid: { q: [2], s: [0.25, 0.1] },
          epochs: { fixed: 20 },
          outDir,
          featureDir: join(dir, "features"),
          modelsDir: join(SHARED!, "models"),
          workers: 1,
          bootstrap: 0,
        },
        "test config",
        dir,
      );

    // The old footprint: metrics only.
    const slim = await runGrid(config(join(dir, "out")), { quiet: true, checkpoints: false });
    assertEquals(slim.cells.computed, 2);
    const entries = [];
    for await (const e of Deno.readDir(join(dir, "out", "cells"))) entries.push(e);
    assert(entries.every((e) => e.isFile), "no artefact folders with checkpoints off");

    // With checkpoints, cells cached without their folder are recomputed (same numbers).
    const full = await runGrid(config(join(dir, "out")), { quiet: true });
    assertEquals([full.cells.cached, full.cells.computed], [0, 2]);
    const again = await runGrid(config(join(dir, "out")), { quiet: true });
    assertEquals([again.cells.cached, again.cells.computed], [2, 0]);

    // Plain string columns for other Parquet readers (no Polars string_view schema in the footer).
    const resultsBytes = await Deno.readFile(join(dir, "out", "results.parquet"));
    assertEquals(Object.keys(parquetKeyValueMetadata(resultsBytes)), []);
    const rows = pl.readParquet(join(dir, "out", "results.parquet")).toRecords();
    const fs = await loadFeatureSet(join(dir, "features", "subset", "lyra-3.2kbps"));
    const rowOf = new Map(fs.ids.map((id, i) => [id, i]));
    const cellsDir = join(dir, "out", "cells");
    for (const row of rows) {
      const key = row.cell_key as string;
      assert(typeof key === "string" && key.length > 0, "every row names its cell");
      const splits = await readJson<SplitLists>(join(cellsDir, key, "splits.json"));
      const probes = await readJson<Record<string, ProbeArtefact>>(join(cellsDir, key, "probes.json"));
      const pick = (ids: string[]) => takeRows(fs.u, ids.map((id) => rowOf.get(id)!));
      const yTest = Int32Array.from(splits.test, (id) => splits.labels[id]);
      assert(splits.train.length > 0 && splits.val2.length > 0 && splits.test.length > 0);
      let xTest = pick(splits.test);
      if (row.feature === "u") {
        assert(key.startsWith("ref-"), `reference row key ${key}`);
        assert(!(await exists(join(cellsDir, key, "model.safetensors"))));
      } else {
        const ckpt = await loadCheckpoint(join(cellsDir, key));
        assertEquals([ckpt.model.config.dZ, ckpt.model.config.k], [row.d_z, row.k]);
        const z = await encodeSae(ckpt.model, xTest);
        xTest = row.feature === "z"
          ? z
          : row.feature === "z_pos"
          ? positionFeatures(z)
          : magnitudeFeatures(z, ckpt.model.config.k);
      }
      const p = probes[row.feature as string];
      assertEquals(p.C, 1);
      assertEquals(p.nnz, p.coef.filter((c) => c !== 0).length);
      assertEquals(p.nnz, row.nnz);
      const decision = decisionFunction(
        xTest,
        {
          mean: Float64Array.from(p.scaler.mean),
          scale: Float64Array.from(p.scaler.scale),
          constant: new Uint8Array(p.coef.length),
        },
        Float64Array.from(p.coef),
        p.intercept,
      );
      const pred = Int32Array.from(decision, (v) => (v > 0 ? p.classes[1] : p.classes[0]));
      assertEquals(refMacroF1(yTest, pred), row.f1, `${key} ${row.feature}: F1 from the artefacts`);
      // ΔF1 by its definition: F1 of the feature minus F1 of the reference probe on u (the "u" row).
      const u = rows.find((r) =>
        r.feature === "u" && r.dataset === row.dataset && r.codec === row.codec && r.task === row.task &&
        r.seed === row.seed
      );
      assert(u, `no reference row for ${key}`);
      assertEquals(row.f1_ref, u.f1, `${key} ${row.feature}: f1_ref is the u row's F1`);
      assertEquals(
        row.delta_f1,
        (row.f1 as number) - (u.f1 as number),
        `${key} ${row.feature}: ΔF1 = F1 − F1(u)`,
      );
    }
    assert(rows.some((r) => r.feature !== "u" && r.delta_f1 !== 0), "every ΔF1 is 0: the sign is untested");
    await Deno.remove(dir, { recursive: true });
  },
});
