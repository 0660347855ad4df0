/**
 * The planner (lib/experiment/plan.ts): every value a cell needs decided once, from the run config and the
 * manifests' facts; and both executors — local and Slurm — consume the same list.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { join } from "node:path";
import { encodeWav } from "../lib/audio/wav.ts";
import { validateConfig } from "../lib/experiment/config.ts";
import { readPlanFile, submitGrid } from "../lib/experiment/executor_slurm.ts";
import { cellCacheKey, referenceKey } from "../lib/experiment/cache.ts";
import { cellId, planCells, resolveDatasets } from "../lib/experiment/plan.ts";
import { runGrid } from "../lib/experiment/run.ts";
import { PAPER_Q, PAPER_S, paperEpochs } from "../lib/sae/paper.ts";
import { CONVERGENCE_DEFAULTS, CONVERGENT_LR } from "../lib/sae/convergence.ts";
import { sharedDir } from "../lib/cli/settings.ts";
import { skipWithout } from "./tools.ts";

const shared = sharedDir();

const base = { datasets: [{ name: "d", manifest: "m.csv" }], codecs: ["c"], outDir: "out" };
const facts = { supportedTasks: { d: ["us-vs-uk", "us-vs-non-us-uk"] as const }, dCodec: { c: 64 } };

Deno.test("plan: the paper's 16 configs × seeds × tasks, every value resolved (k, d_z, schedule, lr)", () => {
  const config = validateConfig({ ...base, seeds: [0, 1] });
  const cells = planCells(config, facts);
  assertEquals(cells.length, 2 * 16 * 2);
  assertEquals(new Set(cells.map((c) => `${c.q}/${c.s}`)).size, 16);
  for (const c of cells) {
    assert((PAPER_Q as readonly number[]).includes(c.q) && (PAPER_S as readonly number[]).includes(c.s));
    // d_z = round(q·d), k = ⌈s·d⌉ on d = 64 (mean pooling), computed here by hand.
    assertEquals(c.dZ, Math.round(c.q * 64));
    assertEquals(c.k, Math.ceil(c.s * 64));
    assertEquals(c.schedule, { kind: "convergent", rule: CONVERGENCE_DEFAULTS, lr: CONVERGENT_LR });
    assertEquals(c.saeInput, "utterance");
  }
  // Order: dataset × codec × task × q × s × seed.
  assertEquals(cells.slice(0, 3).map(cellId), [
    "d/c/us-vs-uk/q=2/s=0.5/seed=0",
    "d/c/us-vs-uk/q=2/s=0.5/seed=1",
    "d/c/us-vs-uk/q=2/s=0.25/seed=0",
  ]);
});

Deno.test("plan: mean+std pooling doubles the SAE input; epoch schedules carry their epochs and lr", () => {
  const config = validateConfig({
    ...base,
    pooling: "mean+std",
    epochs: "paper",
    tasks: ["us-vs-uk"],
    grid: { q: [2, 10], s: [0.05] },
  });
  const cells = planCells(config, { ...facts, supportedTasks: { d: ["us-vs-uk"] } });
  const at = (q: number) => cells.find((c) => c.q === q)!;
  assertEquals(at(2).dIn, 128);
  assertEquals([at(2).dZ, at(2).k], [256, 7]);
  assertEquals(at(2).schedule, { kind: "epochs", name: "paper", epochs: paperEpochs(2, 0.05), lr: 1e-5 });
  assertEquals(at(10).schedule, { kind: "epochs", name: "paper", epochs: 200, lr: 1e-5 });
  const scaled = planCells(
    validateConfig({ ...base, epochs: { paperScaled: 0.1 }, grid: { q: [2], s: [0.05] } }),
    facts,
  );
  assertEquals(scaled[0].schedule, { kind: "epochs", name: "paperScaled", epochs: 50, lr: 1e-5 });
});

Deno.test("plan: a task one dataset lacks runs on the others; a task no dataset can run is an error with reasons", () => {
  const two = {
    datasets: [{ name: "d", manifest: "m.csv" }, { name: "e", manifest: "n.csv" }],
    codecs: ["c"],
    outDir: "out",
    grid: { q: [2], s: [0.5] },
  };
  const facts2 = {
    supportedTasks: { d: ["us-vs-non-us-uk"] as const, e: ["us-vs-uk", "us-vs-non-us-uk"] as const },
    taskProblems: { d: { "us-vs-uk": "the test split has 60 US and 0 UK rows" } },
    dCodec: { c: 64 },
  };
  const cells = planCells(validateConfig(two), facts2);
  assertEquals(cells.map((c) => `${c.dataset}/${c.task}`), [
    "d/us-vs-non-us-uk",
    "e/us-vs-uk",
    "e/us-vs-non-us-uk",
  ]);
  // A dataset that names a task it cannot run is an error, not skipped.
  assertThrows(
    () =>
      planCells(
        validateConfig({
          ...two,
          datasets: [{ name: "d", manifest: "m.csv", tasks: ["us-vs-uk"] }, two.datasets[1]],
        }),
        facts2,
      ),
    Error,
    "dataset 'd' does not support task 'us-vs-uk'",
  );
  // A run task that applies to no dataset would give no rows: refused, naming each dataset's reason.
  const onlyD = { ...facts2, supportedTasks: { d: ["us-vs-non-us-uk"] as const } };
  assertThrows(
    () => planCells(validateConfig({ ...base, grid: { q: [2], s: [0.5] } }), onlyD),
    Error,
    "task 'us-vs-uk' applies to no dataset (d: the test split has 60 US and 0 UK rows)",
  );
});

Deno.test("plan: a dataset's options (duplicate audio, preparer options) are resolved once", () => {
  const config = validateConfig({
    ...base,
    datasets: [{ name: "d", manifest: "m.csv", allowDuplicateAudio: true }, { name: "e", source: "/x" }],
  });
  const [d, e] = resolveDatasets(config);
  assertEquals([d.allowDuplicateAudio, e.allowDuplicateAudio], [true, false]);
  assertEquals([d.tasksExplicit, d.tasks], [false, ["us-vs-uk", "us-vs-non-us-uk"]]);
});

/** A tiny corpus of tones, two speakers per class in every split, and one recording repeated in two splits. */
async function duplicateCorpus(dir: string): Promise<string> {
  const lines = ["utterance_id,path,dataset,speaker_id,accent_narrow,accent_broad,split"];
  const plan: [string, string, string][] = [];
  for (const split of ["train", "validation", "test"]) {
    for (const [accent, broad] of [["North America", "North America"], ["English", "British Isles"]]) {
      for (let s = 0; s < 2; s++) {
        plan.push([`${split}-${accent.slice(0, 2)}${s}`, accent, split + "|" + broad]);
      }
    }
  }
  let f = 0;
  for (const [speaker, accent, splitBroad] of plan) {
    const [split, broad] = splitBroad.split("|");
    for (let u = 0; u < 2; u++) {
      const tone = new Float32Array(16000).map((_, i) => 0.3 * Math.sin(i * 0.01 * (f + 3)));
      const path = join(dir, `${speaker}-${u}.wav`);
      await Deno.writeFile(path, encodeWav([tone], 16000));
      lines.push(`${speaker}-${u},${path},tiny,${speaker},${accent},${broad},${split}`);
      f++;
    }
  }
  // The same audio in train and test: refused unless allowDuplicateAudio.
  await Deno.copyFile(join(dir, "train-No0-0.wav"), join(dir, "test-No0-1.wav"));
  const manifest = join(dir, "manifest.csv");
  await Deno.writeTextFile(manifest, lines.join("\n") + "\n");
  return manifest;
}

Deno.test({
  name: "plan: the local and the Slurm executor plan identical cells, allowDuplicateAudio included",
  // The Slurm submission loads the codecs' weights on the submitting host (nodes are often offline).
  ignore: skipWithout(import.meta.url, "../shared models (Lyra weights)", !shared),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-plan-" });
    try {
      const manifest = await duplicateCorpus(dir);
      const raw = {
        name: "plan",
        datasets: [{ name: "tiny", manifest, allowDuplicateAudio: true }],
        codecs: ["lyra-3.2kbps", "lyra-6kbps"],
        tasks: ["us-vs-uk"],
        grid: { q: [2, 5], s: [0.25, 0.05] },
        seeds: [0, 3],
        outDir: join(dir, "out"),
      };
      const configPath = join(dir, "run.json");
      await Deno.writeTextFile(configPath, JSON.stringify(raw));
      const config = validateConfig(raw, configPath, dir);
      const where = { cacheDir: join(dir, "cache"), modelsHome: join(shared!, "models") };
      const local = await runGrid(config, { dryRun: true, quiet: true, ...where });
      const submitted = await submitGrid(config, {
        ...where,
        configPath,
        slurm: {},
        toolkit: { deno: "deno", root: dir },
        dryRun: true,
        quiet: true,
      });
      const localIds = local.planned!.map(cellId);
      const slurmIds = submitted.plan!.tasks.flatMap((t) => t.cells.map((c) => c.id)).sort();
      assertEquals(localIds.length, 2 * 4 * 2);
      assertEquals(slurmIds, [...localIds].sort());
      // Without the option both refuse the duplicate before any work, naming it.
      const strict = validateConfig({ ...raw, datasets: [{ name: "tiny", manifest }] }, configPath, dir);
      for (
        const run of [() => runGrid(strict, { dryRun: true, quiet: true }), () =>
          submitGrid(strict, {
            configPath,
            slurm: {},
            toolkit: { deno: "deno", root: dir },
            dryRun: true,
            quiet: true,
          })]
      ) {
        const e = await run().then(() => null, (e: Error) => e);
        assert(e && /duplicate|same audio/i.test(e.message), e?.message ?? "accepted");
      }
      // Frame-level cells cannot go through the Slurm extraction (it keeps no frames): refused before any job.
      const framed = validateConfig({ ...raw, saeInput: ["utterance", "frames"] }, configPath, dir);
      const e = await submitGrid(framed, {
        ...where,
        configPath,
        slurm: {},
        toolkit: { deno: "deno", root: dir },
        dryRun: true,
        quiet: true,
      }).then(() => null, (e: Error) => e);
      assert(e && e.message.includes("the Slurm extraction does not keep them"), e?.message ?? "accepted");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("slurm plan file: a damaged plan.json ({}, a list, another kind) is named, not a JavaScript internal", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [text, why] of [["{}", '"kind" is undefined'], ["[]", "not an object"], [
        '{"kind":"extract"}',
        '"kind"',
      ]]
    ) {
      const path = join(dir, "plan.json");
      await Deno.writeTextFile(path, text);
      const e = await readPlanFile(path).then(() => null, (e: Error) => e);
      assert(e && e.message.startsWith(`${path}: not a grid plan`) && e.message.includes(why), e?.message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plan: the chance level's permutation count is the reference's, never in a cell's cache key", async () => {
  const cellsOf = (permutations: number) =>
    planCells(validateConfig({ ...base, grid: { q: [2], s: [0.5] }, probe: { permutations } }), facts);
  const [a] = cellsOf(20), [b] = cellsOf(100);
  assertEquals(await cellCacheKey("v", "data", a), await cellCacheKey("v", "data", b));
  const refKey = (permutations: number) => referenceKey("v", "data", { ...a.probe, permutations });
  assert((await refKey(20)) !== (await refKey(100)));
});
