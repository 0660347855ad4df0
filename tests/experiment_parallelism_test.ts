/**
 * Results do not depend on the machine's parallelism: a small real grid (a 60-utterance FSDD subset, Lyra
 * 3.2 kbps, SAEs that really train: lr 1e-3) gives the same results table — every column but timings,
 * cache keys included — with 1 or 2 workers and 1 or 2 compute threads per SAE; and a cell's cache key never
 * hashes workers, threads or cores. A cached rerun keeps the compute time of the run that computed the cells.
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import pl from "nodejs-polars";
import { sharedDir } from "../lib/cli/settings.ts";
import { cellKeyInput } from "../lib/experiment/cache.ts";
import { validateConfig } from "../lib/experiment/config.ts";
import { planCells } from "../lib/experiment/plan.ts";
import { runGrid } from "../lib/experiment/run.ts";
import { loadResults } from "../lib/report/results.ts";
import { runSummaryTable } from "../lib/report/report.ts";
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
const PARALLELISM = /thread|worker|core|concurren|parallel/i;

Deno.test("grid: a cell's cache key hashes no machine parallelism", () => {
  const config = validateConfig({
    datasets: [{ name: "d", manifest: "m.csv" }],
    codecs: ["c"],
    tasks: ["us-vs-uk"],
    grid: { q: [2], s: [0.5] },
    outDir: "out",
    workers: 3,
  });
  const [cell] = planCells(config, { supportedTasks: { d: ["us-vs-uk"] }, dCodec: { c: 64 } });
  const input = cellKeyInput("v", "data", cell);
  assert(!PARALLELISM.test(JSON.stringify(input)), JSON.stringify(input));
});

Deno.test({
  name: "grid: workers 1 vs 2 and 1 vs 2 threads per SAE give identical results tables (all but timings)",
  ignore: skipWithout(import.meta.url, "../shared data", !shared),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-parallel-" });
    const lines = ["path,speaker_id,accent_narrow,split"];
    for (const [speaker, [accent, split]] of Object.entries(SPEAKERS)) {
      for (let digit = 0; digit < 10; digit++) {
        lines.push(
          `${shared}/data/fsdd/recordings/${digit}_${speaker}_${digit}.wav,${speaker},${accent},${split}`,
        );
      }
    }
    const manifest = join(dir, "manifest.csv");
    await Deno.writeTextFile(manifest, lines.join("\n") + "\n");
    const run = async (name: string, workers: number, threadsPerCell: number) => {
      const config = validateConfig(
        {
          name,
          datasets: [{ name: manifest }],
          codecs: ["lyra-3.2kbps"],
          tasks: ["us-vs-non-us-uk"],
          grid: { q: [2, 5], s: [0.25, 0.1] },
          epochs: { fixed: 400 },
          sae: { lr: 1e-3 },
          outDir: join(dir, name),
          featureDir: join(dir, "features"),
          modelsDir: `${shared}/models`,
          workers,
          bootstrap: 50,
        },
        name,
        dir,
      );
      const summary = await runGrid(config, {
        cacheDir: join(dir, "cache"),
        quiet: true,
        threadsPerCell,
        checkpoints: false,
      });
      assertEquals(summary.cells.computed, 4);
      const df = pl.readCSV(await Deno.readTextFile(join(dir, name, "results.csv")));
      const cols = df.columns.filter((c) => !/second|time/.test(c));
      return df.select(...cols).sort(["q", "s", "feature"]).toRecords();
    };
    const base = await run("w1t1", 1, 1);
    assertEquals(base.length, 1 + 4 * 3);
    assert(
      base.some((r) => r.feature !== "u" && r.nmse !== null && (r.nmse as number) < 0.5),
      "SAEs did not train",
    );
    assertEquals(await run("w1t2", 1, 2), base);
    assertEquals(await run("w2t1", 2, 1), base);
    assertEquals(await run("w2t2", 2, 2), base);

    // A cached rerun keeps the compute time of the run that computed the cells: run_info keeps both runs and
    // the report shows the cells' own seconds, not the rerun's.
    const infoPath = join(dir, "w1t1", "run_info.json");
    const first = JSON.parse(await Deno.readTextFile(infoPath));
    const rerun = await runGrid(
      validateConfig(JSON.parse(await Deno.readTextFile(join(dir, "w1t1", "run_config.json"))), "rerun"),
      { cacheDir: join(dir, "cache"), quiet: true, checkpoints: false },
    );
    assertEquals([rerun.cells.computed, rerun.cells.cached], [0, 4]);
    const info = JSON.parse(await Deno.readTextFile(infoPath));
    assertEquals(info.runs.length, 2);
    assertEquals(info.runs[0], first.runs[0]);
    assertEquals(info.runs[1].cells.computed, 0);
    assertEquals(info.compute.sae_seconds, first.compute.sae_seconds);
    assert(info.compute.sae_seconds > 0);
    assertEquals(info.compute.computing_runs_wall_seconds, first.runs[0].seconds);
    const summary = runSummaryTable(await loadResults(join(dir, "w1t1"))).toRecords();
    const value = (item: string) => summary.find((r) => String(r.item).startsWith(item))?.value;
    assertEquals(
      value("compute seconds"),
      `${first.compute.sae_seconds.toFixed(1)} / ${first.compute.probe_seconds.toFixed(1)}`,
    );
    assert(String(value("latest run (of 2)")).includes("computed / cached / total 0 / 4 / 4"));
    await Deno.remove(dir, { recursive: true });
  },
});
