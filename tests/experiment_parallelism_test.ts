/**
 * Results do not depend on the number of grid workers: a small real grid (a 60-utterance FSDD subset, Lyra
 * 3.2 kbps, SAEs that really train: lr 1e-3) gives the same results table — every column but timings, cache
 * keys included, so no key hashes the worker count — with 1 or 2 workers. (Compute threads per SAE are covered
 * bit for bit by tests/sae_threads_test.ts.) A cached rerun keeps the compute time of the run that computed
 * the cells.
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import { validateConfig } from "../lib/experiment/config.ts";
import { runGrid } from "../lib/experiment/run.ts";
import { loadResults } from "../lib/report/results.ts";
import { runSummaryTable } from "../lib/report/report.ts";
import { resultsWithoutTimings, SHARED, smallGridConfig, writeFsddManifest } from "./grid_fixture.ts";
import { skipWithout } from "./tools.ts";

Deno.test({
  name:
    "grid: 1 and 2 workers give identical results tables (all but timings); a cached rerun keeps compute time",
  ignore: skipWithout(import.meta.url, "../shared data", !SHARED),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-parallel-" });
    // One take per digit (take = digit): 60 utterances.
    const manifest = await writeFsddManifest(dir, { takes: (digit) => [digit] });
    const run = async (name: string, workers: number) => {
      const config = validateConfig(
        smallGridConfig(dir, manifest, {
          name,
          grid: { q: [2], s: [0.25, 0.1] },
          epochs: { fixed: 400 },
          sae: { lr: 1e-3 },
          outDir: join(dir, name),
          workers,
        }),
        name,
        dir,
      );
      const summary = await runGrid(config, {
        cacheDir: join(dir, "cache"),
        quiet: true,
        checkpoints: false,
      });
      assertEquals(summary.cells.computed, 2);
      return await resultsWithoutTimings(join(dir, name));
    };
    const base = await run("w1", 1);
    assertEquals(base.length, 1 + 2 * 3);
    assert(
      base.some((r) => r.feature !== "u" && r.nmse !== null && (r.nmse as number) < 0.5),
      "SAEs did not train",
    );
    assertEquals(await run("w2", 2), base);

    // A cached rerun keeps the compute time of the run that computed the cells: run_info keeps both runs and
    // the report shows the cells' own seconds, not the rerun's.
    const infoPath = join(dir, "w1", "run_info.json");
    const first = JSON.parse(await Deno.readTextFile(infoPath));
    const rerun = await runGrid(
      validateConfig(JSON.parse(await Deno.readTextFile(join(dir, "w1", "run_config.json"))), "rerun"),
      { cacheDir: join(dir, "cache"), quiet: true, checkpoints: false },
    );
    assertEquals([rerun.cells.computed, rerun.cells.cached], [0, 2]);
    const info = JSON.parse(await Deno.readTextFile(infoPath));
    assertEquals(info.runs.length, 2);
    assertEquals(info.runs[0], first.runs[0]);
    assertEquals(info.runs[1].cells.computed, 0);
    assertEquals(info.compute.sae_seconds, first.compute.sae_seconds);
    assert(info.compute.sae_seconds > 0);
    assertEquals(info.compute.computing_runs_wall_seconds, first.runs[0].seconds);
    const summary = runSummaryTable(await loadResults(join(dir, "w1"))).toRecords();
    const value = (item: string) => summary.find((r) => String(r.item).startsWith(item))?.value;
    assertEquals(
      value("compute seconds"),
      `${first.compute.sae_seconds.toFixed(1)} / ${first.compute.probe_seconds.toFixed(1)}`,
    );
    assert(String(value("latest run (of 2)")).includes("computed / cached / total 0 / 2 / 2"));
    await Deno.remove(dir, { recursive: true });
  },
});
