import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { join } from "node:path";
import { convergenceOf, describeEpochs, readConfig, validateConfig } from "../lib/experiment/config.ts";
import { demoConfig, poweredConfig } from "../lib/cli/demo.ts";
import { CONVERGENCE_DEFAULTS, CONVERGENT_LR } from "../lib/sae/convergence.ts";
import { densityByGroup } from "../lib/experiment/cell.ts";
import {
  seedInterval,
  speakerDeltaF1Interval,
  speakerF1Interval,
  studentTCdf,
  studentTQuantile,
} from "../lib/experiment/stats.ts";
import { summarize } from "../lib/experiment/rows.ts";
import { resolveSchedule } from "../lib/experiment/plan.ts";

const minimal = { datasets: [{ name: "fsdd" }], codecs: ["lyra-6kbps"], outDir: "out" };

Deno.test("config: defaults are the paper's grid and probe settings with the convergent SAE schedule", () => {
  const c = validateConfig(minimal, "t.json", "/base");
  assertEquals(c.grid, { q: [2, 5, 10, 20], s: [0.5, 0.25, 0.1, 0.05] });
  assertEquals(c.epochs, "convergent");
  assertEquals(convergenceOf(c.epochs), CONVERGENCE_DEFAULTS);
  assertEquals(c.sae, { batchSize: 1024, lr: CONVERGENT_LR, adamEps: 6.25e-10 });
  assertEquals(c.probe, {
    C: 1,
    tol: 1e-4,
    maxIter: 3000,
    protocol: "split",
    folds: 5,
    innerFolds: 5,
    saeRows: false,
    permutations: 20,
  });
  assertEquals(c.pooling, "mean");
  assertEquals(c.outDir, "/base/out");
  assertEquals(c.tasks, ["us-vs-uk", "us-vs-non-us-uk"]);
});

Deno.test("config: the paper-literal schedule keeps the paper's lr; an explicit lr wins; rule overrides", () => {
  const paper = validateConfig({ ...minimal, epochs: "paper" }, "t.json");
  assertEquals(paper.sae.lr, 1e-5);
  assertEquals(convergenceOf(paper.epochs), null);
  assertEquals(describeEpochs(paper.epochs), "paper (200; 500 for q∈{2,5}, s∈{0.10,0.05})");
  assertEquals(
    validateConfig({ ...minimal, epochs: { fixed: 1500 }, sae: { lr: 1e-3 } }, "t.json").sae.lr,
    1e-3,
  );
  const custom = validateConfig(
    { ...minimal, epochs: { convergent: { maxSteps: 500, window: 50 } } },
    "t.json",
  );
  assertEquals(convergenceOf(custom.epochs), { ...CONVERGENCE_DEFAULTS, maxSteps: 500, window: 50 });
  assertEquals(custom.sae.lr, CONVERGENT_LR);
  assertEquals(resolveSchedule(custom.epochs, 2, 0.05, 1e-2).kind, "convergent");
  assertThrows(
    () => validateConfig({ ...minimal, epochs: { convergent: { maxSteps: 505 } } }, "c.json"),
    Error,
    "epochs.convergent.maxSteps (505) must be a multiple of evalEvery (10)",
  );
  assertThrows(
    () => validateConfig({ ...minimal, epochs: { convergent: { patience: 5 } } }, "c.json"),
    Error,
    "epochs.convergent.patience: unknown key",
  );
  assertThrows(
    () => validateConfig({ ...minimal, epochs: "converge" }, "c.json"),
    Error,
    "epochs",
  );
});

Deno.test("config: paper epochs are 500 for q∈{2,5} with s∈{0.10,0.05}, else 200; scaling is explicit", () => {
  const epochs = (rule: Parameters<typeof resolveSchedule>[0], q: number, s: number) => {
    const r = resolveSchedule(rule, q, s, 1e-5);
    return r.kind === "epochs" ? r.epochs : null;
  };
  assertEquals(epochs("paper", 2, 0.05), 500);
  assertEquals(epochs("paper", 5, 0.1), 500);
  assertEquals(epochs("paper", 10, 0.05), 200);
  assertEquals(epochs("paper", 2, 0.25), 200);
  assertEquals(epochs({ fixed: 7 }, 2, 0.05), 7);
  assertEquals(epochs({ paperScaled: 0.1 }, 2, 0.05), 50);
});

Deno.test("config: invalid fields are named in the error", () => {
  assertThrows(
    () => validateConfig({ ...minimal, codecs: [] }, "c.json"),
    Error,
    "c.json: invalid run config: codecs: must not be empty",
  );
  assertThrows(
    () => validateConfig({ ...minimal, tasks: ["us-vs-mars"] }, "c.json"),
    Error,
    'tasks[0]: unknown value "us-vs-mars"',
  );
  assertThrows(
    () => validateConfig({ ...minimal, grid: { s: [0, 0.5] } }, "c.json"),
    Error,
    "grid.s[0]: must be a number in (0, 1]",
  );
  assertThrows(
    () => validateConfig({ ...minimal, epoch: 3 }, "c.json"),
    Error,
    "epoch: unknown key; did you mean epochs?",
  );
  assertThrows(
    () => validateConfig({ ...minimal, seeds: [1, 1] }, "c.json"),
    Error,
    "seeds: has duplicates",
  );
  assertThrows(
    () => validateConfig({ ...minimal, features: ["zz"] }, "c.json"),
    Error,
    'features[0]: unknown value "zz"',
  );
});

Deno.test("density: 16 contiguous latent groups, mean of z > 0 over rows and group members", () => {
  // 2 rows × 32 latents: row 0 activates latents 0 and 1 (group 0), row 1 activates latent 31 (group 15).
  const z = { rows: 2, cols: 32, data: new Float32Array(64) };
  z.data[0] = 1;
  z.data[1] = 0.5;
  z.data[32 + 31] = 2;
  const d = densityByGroup(z);
  assertEquals(d.length, 16);
  assertAlmostEquals(d[0], 2 / 4);
  assertAlmostEquals(d[15], 1 / 4);
  assertEquals(d.slice(1, 15).every((v) => v === 0), true);
});

Deno.test("seed interval: mean, sample std and t-based 95 % interval", () => {
  const iv = seedInterval([1, 2, 3]);
  assertAlmostEquals(iv.mean, 2);
  assertAlmostEquals(iv.std, 1);
  assertAlmostEquals(iv.high - iv.mean, (4.302653 * 1) / Math.sqrt(3), 1e-6);
  const one = seedInterval([0.5]);
  assertEquals([one.low, one.high, one.std], [0.5, 0.5, 0]);
});

Deno.test("t quantile: exact for any df (scipy.stats.t.ppf(0.975, df)), no normal shortcut beyond 30", () => {
  const scipy: [number, number][] = [
    [1, 12.706205],
    [2, 4.302653],
    [5, 2.570582],
    [30, 2.042272],
    [31, 2.039513],
    [40, 2.021075],
    [60, 2.000298],
    [120, 1.97993],
    [1000, 1.962339],
  ];
  for (const [df, t] of scipy) assertAlmostEquals(studentTQuantile(0.975, df), t, 2e-6);
  assertAlmostEquals(studentTQuantile(0.025, 7), -studentTQuantile(0.975, 7), 1e-12);
  assertAlmostEquals(studentTCdf(studentTQuantile(0.9, 3.5), 3.5), 0.9, 1e-10);
  const iv = seedInterval(Array.from({ length: 41 }, (_, i) => i % 2));
  assertAlmostEquals((iv.high - iv.mean) / (iv.std / Math.sqrt(41)), 2.021075, 2e-6);
});

Deno.test("intervals over speakers: identical predictions give a zero interval; better predictions a positive one", () => {
  const truth = Array.from({ length: 200 }, (_, i) => i % 2);
  const rows = (pred: number[]) =>
    truth.map((label, i) => ({ speaker_id: `s${i >> 1}`, label, predicted: pred[i] }));
  const same = speakerDeltaF1Interval(rows(truth), rows(truth), { resamples: 200, seed: 1 });
  assertEquals([same.low, same.high], [0, 0]);
  const noisy = truth.map((t, i) => (i % 5 === 0 ? 1 - t : t));
  const better = speakerDeltaF1Interval(rows(truth), rows(noisy), { resamples: 500, seed: 1 });
  assertEquals(better.low > 0, true);
  assertEquals(better.high < 0.4, true);
  const f1 = speakerF1Interval(rows(noisy), { resamples: 500, seed: 1 });
  assertEquals(f1.low < 0.8 && 0.8 < f1.high, true, `F1 0.8 inside [${f1.low}, ${f1.high}]`);
  const perfect = speakerF1Interval(rows(truth), { resamples: 100, seed: 2 });
  assertEquals([perfect.low, perfect.high], [1, 1]);
  // Seeded: the same seed reproduces the interval.
  assertEquals(speakerDeltaF1Interval(rows(truth), rows(noisy), { resamples: 500, seed: 1 }), better);
});

Deno.test("summarize: one row per cell and feature across seeds, reference rows skipped", () => {
  const row = (seed: number, d: number, feature = "z") => ({
    dataset: "x",
    codec: "c",
    task: "us-vs-uk",
    pooling: "mean",
    probe_protocol: "split",
    probe_folds: 1,
    sae_input: "utterance",
    q: 2,
    s: 0.05,
    seed,
    feature,
    delta_f1: d,
    k: 4,
    d_z: 128,
  });
  const out = summarize([row(0, -0.1), row(1, -0.2), row(2, -0.3), row(0, 0, "u")]);
  assertEquals(out.length, 1);
  assertEquals(out[0].n_seeds, 3);
  assertAlmostEquals(out[0].delta_f1_mean as number, -0.2);
});

Deno.test("bootstrap: confusion-matrix macro-F1 equals the probe stage's macro-F1", async () => {
  const { macroF1 } = await import("../lib/probe/mod.ts");
  const { macroF1FromConfusion } = await import("../lib/experiment/stats.ts");
  const truth = [0, 0, 1, 1, 1, 0, 1], pred = [0, 1, 1, 0, 1, 0, 1];
  const c = [0, 0, 0, 0];
  truth.forEach((t, i) => c[t * 2 + pred[i]]++);
  assertAlmostEquals(macroF1FromConfusion(c), macroF1(truth, pred), 1e-12);
  // One class only in truth and predictions: scikit-learn averages over the classes present.
  assertAlmostEquals(macroF1FromConfusion([3, 0, 0, 0]), macroF1([0, 0, 0], [0, 0, 0]), 1e-12);
});

Deno.test("config: the published JSON Schema is generated from the run-config table (deno task schema)", async () => {
  const { runConfigJsonSchema } = await import("../lib/experiment/config.ts");
  const file = JSON.parse(
    await Deno.readTextFile(new URL("../docs/run-config.schema.json", import.meta.url)),
  );
  assertEquals(file, runConfigJsonSchema(), "docs/run-config.schema.json is stale: run `deno task schema`");
});

Deno.test("config: nested typos, both epoch rules, wrong types and limits are named by path", () => {
  const bad = (patch: Record<string, unknown>, message: string) =>
    assertThrows(
      () => validateConfig({ ...minimal, ...patch }, "c.json"),
      Error,
      `c.json: invalid run config: ${message}`,
    );
  bad({ sae: { learning_rate: 0.5 } }, "sae.learning_rate: unknown key; did you mean lr?");
  bad({ probe: { c: 1 } }, "probe.c: unknown key; did you mean C?");
  bad(
    { datasets: [{ name: "x", manfest: "m.csv" }] },
    "datasets[0].manfest: unknown key; did you mean manifest?",
  );
  bad(
    { epochs: { fixed: 3, paperScaled: 0.5 } },
    "epochs: give exactly one of convergent, fixed, paperScaled",
  );
  bad({ tasks: "us-vs-uk" }, 'tasks: must be an array, got "us-vs-uk"');
  bad({ grid: { q: ["2"] } }, 'grid.q[0]: must be a number in (0, 1024], got "2"');
  bad({ workers: 1000 }, "workers: must be an integer in 1..64, got 1000");
  bad({ grid: { q: [0.5], s: [0.5] } }, "grid: s = 0.5 with q = 0.5 gives k ≥ d_z");
  // A $schema key (for editors) is accepted; q = 0.5 is accepted as in `sae train`.
  const c = validateConfig({
    ...minimal,
    $schema: "../docs/run-config.schema.json",
    grid: { q: [0.5], s: [0.25] },
  });
  assertEquals(c.grid.q, [0.5]);
});

Deno.test("configs/: the FSDD and synthetic run configs kept in the repo are valid and use the convergent schedule", async () => {
  const dir = new URL("../configs/", import.meta.url).pathname;
  for (const name of ["fsdd.json", "synthetic.json"]) {
    const c = await readConfig(join(dir, name));
    assertEquals(c.epochs, "convergent", name);
    assertEquals(c.codecs, ["lyra-3.2kbps", "lyra-6kbps", "lyra-9.2kbps"], name);
    assertEquals(c.datasets.map((d) => d.name), [name.replace(".json", "")]);
  }
});

Deno.test("demo config: the paper's setup (SAA, Lyra, q × s grid, z/z_pos/z_mag, both tasks, mean pooling, split)", () => {
  const c = demoConfig("/tmp/demo-out");
  // The paper (Sec. 3): the Speech Accent Archive, both binary tasks, q ∈ {2, 5, 10, 20}, s ∈ {50, 25, 10, 5} %,
  // probes on z, z_pos and z_mag; utterance vectors are means over time, scored on the held-out split.
  assertEquals(c.datasets.map((d) => [d.name, [...d.tasks!].sort()]), [["saa", [
    "us-vs-non-us-uk",
    "us-vs-uk",
  ]]]);
  assert(c.codecs.length > 1 && c.codecs.every((id) => id.startsWith("lyra-")), `${c.codecs}`);
  assertEquals([[...c.grid.q].sort((a, b) => a - b), [...c.grid.s].sort((a, b) => a - b)], [[2, 5, 10, 20], [
    0.05,
    0.1,
    0.25,
    0.5,
  ]]);
  assertEquals([...c.features].sort(), ["z", "z_mag", "z_pos"]);
  assertEquals([c.pooling, c.probe.protocol], ["mean", "split"]);
  assert(c.seeds.length >= 3, "a demo claim needs replicates (seeds)");
  // The paper's own schedule: its epoch budget and learning rate.
  const paper = demoConfig("/tmp/demo-out", "paper");
  assertEquals([paper.epochs, paper.sae.lr], ["paper", 1e-5]);
  // No folders of its own: the location rule finds SAA and Lyra (NAC_SAE_*, ../shared, cache) unless
  // --data / --models say where.
  assertEquals([c.datasets[0].source, c.modelsDir], [undefined, undefined]);
  const given = demoConfig("/tmp/demo-out", "convergent", { data: "/d", models: "/m" });
  assertEquals([given.datasets[0].source, given.modelsDir], ["/d", "/m"]);
});

Deno.test("demo powered config: the demo's data, codecs and schedule with statistics pooling and dev probes", () => {
  const paper = demoConfig("/tmp/demo-out");
  const c = poweredConfig("/tmp/demo-out", paper);
  assertEquals([c.pooling, c.probe.protocol], ["mean+std", "dev"]);
  assert(c.probe.innerFolds >= 2 && !c.probe.saeRows);
  assertEquals(c.codecs, paper.codecs);
  // The paper's tasks plus the positive control: SAA's gender column, female = 1, male = 0.
  assertEquals(
    c.datasets.map((d) => [d.name, d.tasks]),
    paper.datasets.map((d) => [d.name, [...d.tasks!, "sex"]]),
  );
  assert(c.tasks.some((t) => typeof t === "object" && t.column === "gender" && t.positive === "female"));
  assertEquals(c.epochs, paper.epochs);
  // A subset of the demo's grid (the full variant: all of it), its own output beside a shared feature store.
  assert(c.grid.q.every((q) => paper.grid.q.includes(q)) && c.grid.s.every((s) => paper.grid.s.includes(s)));
  assertEquals(poweredConfig("/tmp/demo-out", paper, "full").grid, paper.grid);
  assert(c.outDir !== paper.outDir && c.outDir.startsWith("/tmp/demo-out/"), c.outDir);
  // The demo run's feature store (its featureDir, else <outDir>/features): nothing is extracted twice.
  assertEquals(c.featureDir, paper.featureDir ?? join(paper.outDir, "features"));
});

Deno.test("config: an epochs object keeps only the schedule it names, and a written config validates again", () => {
  const base = { name: "x", datasets: [{ name: "fsdd" }], codecs: ["lyra-3.2kbps"], outDir: "/tmp/x" };
  for (const epochs of [{ fixed: 400 }, { paperScaled: 0.5 }, { convergent: { maxSteps: 500 } }]) {
    const c = validateConfig({ ...base, epochs }, "first");
    assertEquals(Object.keys(c.epochs), Object.keys(epochs));
    assertEquals(validateConfig(JSON.parse(JSON.stringify(c)), "again").epochs, c.epochs);
  }
  const fixed = validateConfig({ ...base, epochs: { fixed: 400 } });
  assertEquals(resolveSchedule(fixed.epochs, 2, 0.5, 1e-5), {
    kind: "epochs",
    name: "fixed",
    epochs: 400,
    lr: 1e-5,
  });
  assertEquals(convergenceOf(fixed.epochs), null);
});
