/**
 * The grid end to end on real speech (an FSDD subset, Lyra 3.2 kbps): results table shape, resume after a
 * real kill mid-grid (nothing finished is recomputed, results equal an uninterrupted run), and a changed
 * setting recomputing exactly the cells it affects.
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import pl from "nodejs-polars";
import { sharedDir } from "../lib/cli/settings.ts";
import { writeFsddManifest } from "./grid_fixture.ts";
import { skipWithout } from "./tools.ts";

const shared = sharedDir();

async function writeFixtures(dir: string, q: number[]) {
  await writeFsddManifest(dir);
  const config = (out: string, qs: number[]) => ({
    name: "resume-test",
    datasets: [{ name: join(dir, "manifest.csv") }],
    codecs: ["lyra-3.2kbps"],
    tasks: ["us-vs-non-us-uk"],
    grid: { q: qs, s: [0.5, 0.25, 0.1, 0.05] },
    epochs: { fixed: 40 },
    outDir: out,
    featureDir: join(dir, "features"),
    modelsDir: `${shared}/models`,
    workers: 1,
    bootstrap: 50,
  });
  await Deno.writeTextFile(join(dir, "a.json"), JSON.stringify(config("out-a", q)));
  await Deno.writeTextFile(join(dir, "b.json"), JSON.stringify(config("out-b", q)));
  await Deno.writeTextFile(join(dir, "a2.json"), JSON.stringify(config("out-a", [...q, 10])));
}

function gridCommand(config: string, extra: string[] = []) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../lib/cli/main.ts", import.meta.url).pathname,
      "grid",
      "--config",
      config,
      ...extra,
    ],
    stdout: "piped",
    stderr: "piped",
  });
}

async function runGridJson(config: string) {
  const out = await gridCommand(config, ["--json"]).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert(out.success, `grid failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

async function cellFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(join(dir, "cells"))) {
      if (e.name.endsWith(".json") && !e.name.startsWith("ref-")) names.push(e.name);
    }
  } catch { /* not created yet */ }
  return names;
}

Deno.test({
  name:
    "grid: killed mid-run resumes without recomputing, equals an uninterrupted run; changes recompute only their cells",
  ignore: skipWithout(import.meta.url, "../shared data", !shared),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-grid-" });
    await writeFixtures(dir, [2, 5]);
    const outA = join(dir, "out-a");

    // Start a real run and kill it (SIGKILL) once two cells are stored.
    const child = gridCommand(join(dir, "a.json")).spawn();
    const deadline = Date.now() + 240_000;
    while ((await cellFiles(outA)).length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel();
    await child.stderr.cancel();
    const storedAtKill = (await cellFiles(outA)).length;
    assert(
      storedAtKill >= 2 && storedAtKill < 8,
      `expected a partial grid at the kill, found ${storedAtKill} cells`,
    );

    const resumed = await runGridJson(join(dir, "a.json"));
    assertEquals(resumed.cells.total, 8);
    assertEquals(resumed.cells.cached, storedAtKill);
    assertEquals(resumed.cells.computed, 8 - storedAtKill);

    // An uninterrupted run (same features, fresh cell cache) gives the same table.
    const fresh = await runGridJson(join(dir, "b.json"));
    assertEquals(fresh.cells.computed, 8);
    const cols = [
      "q",
      "s",
      "feature",
      "f1",
      "f1_ref",
      "delta_f1",
      "nmse",
      "l0",
      "dead_latents",
      "config_hash",
    ];
    const a = pl.readParquet(join(outA, "results.parquet")).select(...cols).sort(["q", "s", "feature"]);
    const b = pl.readParquet(join(dir, "out-b", "results.parquet")).select(...cols).sort([
      "q",
      "s",
      "feature",
    ]);
    assertEquals(a.toRecords(), b.toRecords());
    // 1 reference row + 8 cells × 3 feature kinds; 16 density groups per cell.
    assertEquals(a.height, 1 + 8 * 3);
    assertEquals(pl.readParquet(join(outA, "density.parquet")).height, 8 * 16);

    // A second run computes nothing; adding q = 10 computes exactly its four cells.
    assertEquals((await runGridJson(join(dir, "a.json"))).cells.computed, 0);
    const grown = await runGridJson(join(dir, "a2.json"));
    assertEquals([grown.cells.total, grown.cells.cached, grown.cells.computed], [12, 8, 4]);

    await Deno.remove(dir, { recursive: true });
  },
});
