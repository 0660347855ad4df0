/**
 * Per-frame steering in SAE space (lib/experiment/steer_frames.ts): the edit's formula against the SAE's own
 * decoder (the error term kept; an edit that reproduces z changes nothing), the controls' latent draws, the
 * intervals, the CSV columns, the verdict rule, and a small end-to-end sweep on a frame-level SAA × Lyra run
 * with an accent task (the cell's probes) and sex (probes fit on its probe-training rows), its WAVs and the
 * report section.
 */
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { join } from "node:path";
import { sharedDir } from "../lib/cli/settings.ts";
import { exists } from "../lib/common/fs.ts";
import type { Matrix } from "../lib/common/matrix.ts";
import { Rng } from "../lib/common/random.ts";
import { prepareDataset, readManifest } from "../lib/data/mod.ts";
import { validateConfig } from "../lib/experiment/config.ts";
import { runGrid } from "../lib/experiment/run.ts";
import type { ProbeArtefact } from "../lib/experiment/artefacts.ts";
import {
  bootstrapMean,
  chooseLatents,
  editFrames,
  randomLatents,
  reconstructFrames,
  steerSweep,
  survivalShare,
  SWEEP_COLUMNS,
  SWEEP_CONDITIONS,
  sweepCsv,
  type SweepRecording,
  sweepRows,
  sweepTaskSpec,
  sweepVerdicts,
  typicalMagnitudes,
} from "../lib/experiment/steer_frames.ts";
import { steerSweepSection, writeSteerSweepPage } from "../lib/report/steer_sweep.ts";
import { encodeSae } from "../lib/sae/mod.ts";
import type { SaeModel } from "../lib/sae/model.ts";
import { saeConfig } from "../lib/sae/config.ts";
import { wilsonInterval } from "../lib/common/stats.ts";
import { writeSaaSubset } from "./latents_fixture.ts";
import { skipWithout } from "./tools.ts";

const shared = sharedDir();

/** A small random SAE (d = 6, d_z = 12, k = 3) with unit-norm decoder rows. */
function tinySae(seed = 1): SaeModel {
  const rng = new Rng(seed), d = 6, dZ = 12;
  const wDecT = Float32Array.from({ length: dZ * d }, () => rng.normal());
  for (let j = 0; j < dZ; j++) {
    let n = 0;
    for (let c = 0; c < d; c++) n += wDecT[j * d + c] ** 2;
    for (let c = 0; c < d; c++) wDecT[j * d + c] /= Math.sqrt(n);
  }
  const wEnc = new Float32Array(dZ * d);
  for (let j = 0; j < dZ; j++) for (let c = 0; c < d; c++) wEnc[j * d + c] = wDecT[j * d + c];
  return {
    config: saeConfig(2, 0.5, d),
    wEnc,
    wDecT,
    bPre: Float32Array.from({ length: d }, () => 0.1 * rng.normal()),
  };
}

function randomFrames(rows: number, cols: number, seed: number): Matrix {
  const rng = new Rng(seed);
  return { rows, cols, data: Float32Array.from({ length: rows * cols }, () => rng.normal()) };
}

Deno.test("editFrames: ê' = ê + D(z') − D(z) with the SAE's decoder; an edit reproducing z leaves ê unchanged", async () => {
  const sae = tinySae(), e = randomFrames(5, 6, 2);
  const codes = await encodeSae(sae, e);
  const J = [1, 4, 7];
  // Targets equal to the codes of a one-frame ê reproduce z: ê' = ê exactly (the error term is kept).
  const one: Matrix = { rows: 1, cols: 6, data: e.data.slice(0, 6) };
  const c1 = await encodeSae(sae, one);
  assertEquals(editFrames(sae, one, c1, J, J.map((j) => c1.data[j])).data, one.data);
  // Any targets: ê' − ê equals D(z') − D(z), z' the codes with J set to the targets.
  const target = [0.5, 0, 2];
  const edited = editFrames(sae, e, codes, J, target);
  const zEdit = Float32Array.from(codes.data);
  for (let t = 0; t < e.rows; t++) J.forEach((j, a) => (zEdit[t * 12 + j] = target[a]));
  const dEdit = reconstructFrames(sae, { rows: e.rows, cols: 12, data: zEdit });
  const dOrig = reconstructFrames(sae, codes);
  for (let i = 0; i < e.data.length; i++) {
    assertAlmostEquals(edited.data[i] - e.data[i], dEdit.data[i] - dOrig.data[i], 1e-5);
  }
  // D(z) = W_dec z + b_pre.
  for (let t = 0; t < e.rows; t++) {
    for (let c = 0; c < 6; c++) {
      let v = sae.bPre[c];
      for (let j = 0; j < 12; j++) v += codes.data[t * 12 + j] * sae.wDecT[j * 6 + c];
      assertAlmostEquals(dOrig.data[t * 6 + c], v, 1e-5);
    }
  }
  assertThrows(() => editFrames(sae, e, codes, J, [1]), Error, "one target value per latent");
});

Deno.test("survival share: 1 when the re-encode keeps the whole change, 0 when it keeps none, null without one", () => {
  const e = randomFrames(4, 3, 1), edited = randomFrames(4, 3, 2), none = randomFrames(4, 3, 3);
  const kept: Matrix = { ...none, data: none.data.map((v, i) => v + edited.data[i] - e.data[i]) };
  assertAlmostEquals(survivalShare(e, edited, kept, none)!, 1, 1e-6);
  assertAlmostEquals(survivalShare(e, edited, none, none)!, 0, 1e-12);
  assertEquals(survivalShare(e, e, kept, none), null);
});

Deno.test("latent choice: toward the target by w_j · m_j; the random control draws as many, seeded, from firing latents not chosen", () => {
  const probe: ProbeArtefact = {
    coef: [0.5, -1, 2, 0, 0.1, -0.2],
    intercept: 0,
    scaler: { mean: [0, 0, 0, 0, 0, 0], scale: [1, 1, 2, 1, 1, 1] },
    classes: [0, 1],
    nnz: 5,
    C: 1,
  };
  const m = [1, 1, 1, 5, 0, 1];
  assertEquals(chooseLatents(probe, m, 1, 8), [2, 0]); // 2·1/2 = 1 > 0.5; latent 4 never fires (m = 0)
  assertEquals(chooseLatents(probe, m, 0, 1), [1]);
  assertEquals(chooseLatents({ ...probe, classes: [1, 0] }, m, 1, 8), [1, 5]);
  const mags = Float64Array.from({ length: 40 }, (_, j) => (j % 5 === 0 ? 0 : 1 + j));
  const a = randomLatents(mags, [1, 2, 3], 6, new Rng(7));
  assertEquals(a.length, 6);
  assertEquals(new Set(a).size, 6);
  for (const j of a) assert(mags[j] > 0 && ![1, 2, 3].includes(j), `latent ${j}`);
  assertEquals(randomLatents(mags, [1, 2, 3], 6, new Rng(7)), a);
  assertEquals(randomLatents([0, 1, 1], [1], 4, new Rng(1)), [2]);
  assertEquals(
    Array.from(typicalMagnitudes([Float32Array.of(1, 0, 2), Float32Array.of(3, 0, 0)], 3)),
    [2, 0, 2],
  );
});

Deno.test("wilson interval: k = 0 and k = n bound at exactly 0 and 1 for every n", () => {
  for (let n = 1; n <= 60; n++) {
    assertEquals(wilsonInterval(0, n).low, 0);
    assertEquals(wilsonInterval(n, n).high, 1);
  }
});

Deno.test("bootstrap over recordings: seeded, contains its estimate, a point for one recording", () => {
  const v = [0.3, -1, 2.5, 0.1, 0.7, 9];
  const a = bootstrapMean(v, 500, 3);
  assertEquals(a, bootstrapMean(v, 500, 3));
  assertAlmostEquals(a.mean, v.reduce((s, x) => s + x, 0) / v.length, 1e-12);
  assert(a.low <= a.mean && a.mean <= a.high && a.low < a.high);
  assertEquals(bootstrapMean([2], 100, 1), { mean: 2, low: 2, high: 2 });
  for (let s = 0; s < 30; s++) {
    const skewed = [0, 0, 0, 0, 0, 0, 0, 100].map((x, i) => x + 0.001 * ((i * (s + 1)) % 3));
    const b = bootstrapMean(skewed, 50, s);
    assert(b.low <= b.mean && b.mean <= b.high, JSON.stringify(b));
  }
});

/** Recordings with given reference decisions per condition key (the SAE probe's = twice them). */
function fakeRecordings(n: number, shift: Record<string, number>, rng = new Rng(5)): SweepRecording[] {
  return Array.from({ length: n }, (_, i) => {
    const o = -1 + 0.1 * rng.normal();
    const decisions: Record<string, { ref: number; sae: number }> = {};
    for (const [k, s] of Object.entries(shift)) {
      const d = o + s + 0.2 * rng.normal();
      decisions[k] = { ref: d, sae: 2 * d };
    }
    return {
      id: `r${i}`,
      seconds: 1,
      original: { ref: o, sae: 2 * o },
      decisions,
      survival: Object.fromEntries(Object.keys(shift).map((k) => [k, k === "none" ? null : 0.5])),
      lsd: Object.fromEntries(Object.keys(shift).map((k) => [k, k === "none" ? null : 3])),
      randomLatents: [1],
    };
  });
}

Deno.test("sweep rows: one per (task, α, condition), the check's columns, intervals around estimates, the verdict rule", () => {
  const probe: ProbeArtefact = {
    coef: [1],
    intercept: 0,
    scaler: { mean: [0], scale: [1] },
    classes: [0, 1],
    nnz: 1,
    C: 1,
  };
  const shifts = {
    none: 0.1,
    reconstruction: 0.2,
    "edit@0": -0.5,
    "random@0": 0,
    "edit@2": 3,
    "random@2": 0.3,
  };
  const recs = fakeRecordings(12, shifts);
  const rows = sweepRows(
    {
      task: "us-vs-uk",
      target: 1,
      latents: [3, 9],
      probes: "cell",
      recordings: recs,
      refProbe: probe,
      zProbe: probe,
    },
    [0, 2],
    { bootstrap: 300, seed: 0 },
  );
  assertEquals(rows.length, 2 * SWEEP_CONDITIONS.length);
  assertEquals(rows.map((r) => `${r.alpha}/${r.condition}`), [
    "0/edit",
    "0/random",
    "0/none",
    "0/reconstruction",
    "2/edit",
    "2/random",
    "2/none",
    "2/reconstruction",
  ]);
  for (const r of rows) {
    assert(r.decision_shift_low <= r.decision_shift && r.decision_shift <= r.decision_shift_high);
    assert(
      r.sae_decision_shift_low <= r.sae_decision_shift && r.sae_decision_shift <= r.sae_decision_shift_high,
    );
    assert(r.flip_low <= r.flip_rate && r.flip_rate <= r.flip_high);
    assertEquals(r.n, 12);
  }
  // none and reconstruction do not depend on α: the same numbers at every α.
  const at = (a: number, c: string) => rows.find((r) => r.alpha === a && r.condition === c)!;
  assertEquals({ ...at(0, "none"), alpha: 2 }, at(2, "none"));
  assertAlmostEquals(at(2, "edit").decision_shift, 3, 0.2);
  assertEquals(at(2, "edit").flips, 12);
  // Flipping the probe's class order flips the sign: the shift is toward the target whatever the order.
  const flipped = sweepRows(
    {
      task: "t",
      target: 0,
      latents: [1],
      probes: "fitted",
      recordings: recs,
      refProbe: { ...probe, classes: [1, 0] },
      zProbe: { ...probe, classes: [1, 0] },
    },
    [2],
    { bootstrap: 0, seed: 0 },
  );
  assertAlmostEquals(flipped[0].decision_shift, at(2, "edit").decision_shift, 1e-12);

  const csv = sweepCsv(rows).trim().split("\n");
  assertEquals(csv[0].split(","), SWEEP_COLUMNS);
  for (
    const c of [
      "task",
      "alpha",
      "condition",
      "n",
      "flips",
      "decision_shift",
      "decision_shift_low",
      "decision_shift_high",
    ]
  ) {
    assert(csv[0].split(",").includes(c), c);
  }
  assertEquals(csv.length, rows.length + 1);

  const v = sweepVerdicts(rows);
  const ref = v.find((x) => x.scorer === "reference")!;
  assertEquals([ref.verdict, ref.alphas], ["causal effect shown", [2]]);
  // Overlapping intervals: no causal effect shown, with the numbers.
  const weak = sweepRows(
    {
      task: "sex",
      target: 1,
      latents: [1],
      probes: "fitted",
      recordings: fakeRecordings(12, { ...shifts, "edit@2": 0.15, "edit@0": 0.1 }),
      refProbe: probe,
      zProbe: probe,
    },
    [0, 2],
    { bootstrap: 300, seed: 0 },
  );
  const w = sweepVerdicts(weak).find((x) => x.scorer === "reference")!;
  assertEquals(w.verdict, "no causal effect shown");
  assert(w.text.includes("α 2: edit") && w.text.includes("random") && w.text.includes("none"), w.text);
  assert(w.text.includes("bounds what accent steering can show"), w.text);
});

Deno.test("steering tasks: the run config's column task, a built-in accent task, the sex control by default", () => {
  assertEquals(sweepTaskSpec("us-vs-uk", {}).classes, ["US", "UK"]);
  const sex = sweepTaskSpec("sex", {});
  assertEquals([sex.column, sex.classes, sex.label("female"), sex.label("male")], [
    "gender",
    ["male", "female"],
    1,
    0,
  ]);
  const own = sweepTaskSpec("sex", {
    tasks: [{ name: "sex", column: "g", positive: "f", negative: "m" }],
  } as never);
  assertEquals(own.column, "g");
  assertThrows(() => sweepTaskSpec("age", {}), Error, "not built in");
});

Deno.test({
  name:
    "per-frame steering sweep on a small frame-level SAA × Lyra run: accent (cell probes) and sex (fitted probes)",
  ignore: skipWithout(import.meta.url, "../shared data", !shared),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-steer-frames-" });
    // The latents fixture's subset, with each speaker's gender from the SAA manifest (for the sex task).
    await writeSaaSubset(dir);
    const saa = await readManifest(join(dir, "saa", "manifest.csv"), { checkFiles: false });
    const gender = new Map(
      (saa.toRecords() as Record<string, unknown>[]).map((
        r,
      ) => [String(r.utterance_id), String(r.gender ?? "")]),
    );
    const lines = (await Deno.readTextFile(join(dir, "saa_subset.csv"))).trim().split("\n");
    const withGender = [
      `${lines[0]},gender`,
      ...lines.slice(1).map((l) => `${l},${gender.get(l.split(",")[0]) ?? ""}`),
    ];
    await Deno.writeTextFile(join(dir, "subset_gender.csv"), withGender.join("\n") + "\n");
    const { manifestPath } = await prepareDataset(join(dir, "subset_gender.csv"), {
      out: join(dir, "prepared_gender"),
      quiet: true,
    });
    const outDir = join(dir, "out");
    const config = validateConfig(
      {
        name: "steer-frames",
        datasets: [{ name: "saa_subset", manifest: manifestPath }],
        codecs: ["lyra-3.2kbps"],
        tasks: ["us-vs-non-us-uk"],
        grid: { q: [2], s: [0.25] },
        epochs: { fixed: 10 },
        sae: { batchSize: 64 },
        saeInput: "frames",
        frames: { perRecording: 40, monitorFrames: 100 },
        seeds: [0],
        features: ["z"],
        outDir,
        workers: 1,
        bootstrap: 0,
        probe: { permutations: 0 },
        modelsDir: join(shared!, "models"),
      },
      "steer frames test",
      outDir,
    );
    await runGrid(config, { quiet: true });
    const opts = {
      tasks: ["us-vs-non-us-uk", "sex"],
      alphas: [0, 1, 3],
      utterances: 2,
      seconds: 1,
      latents: 3,
      bootstrap: 100,
      wavUtterances: 1,
      quiet: true,
    };
    // An earlier sweep's WAVs (another task) must not survive beside this one's.
    const stale = join(outDir, "steer", "wav", "earlier-task", "x.edit_a2.wav");
    await Deno.mkdir(join(stale, ".."), { recursive: true });
    await Deno.writeFile(stale, new Uint8Array(44));
    const r = await steerSweep(outDir, opts);
    assert(!(await exists(stale)), "a stale WAV of an earlier sweep survived");
    assertEquals(r.rows.length, 2 * 3 * SWEEP_CONDITIONS.length);
    assertEquals(r.tasks.map((t) => t.probes), ["cell", "fitted"]);
    assert(r.tasks[1].probeNote.includes("fit here"), r.tasks[1].probeNote);
    for (const t of r.tasks) {
      assert(t.latents.length >= 1 && t.latents.length <= 3);
      for (const rec of t.recordings) assertEquals(rec.randomLatents.length, t.latents.length);
    }
    for (const row of r.rows) {
      assert(row.decision_shift_low <= row.decision_shift && row.decision_shift <= row.decision_shift_high);
      assert(row.n >= 1 && row.flips <= row.n);
      if (row.condition === "none") assertEquals([row.survival, row.lsd_db], [null, null]);
      else if (row.lsd_db !== null) assert(row.lsd_db >= 0);
    }
    const steerDir = join(outDir, "steer");
    const csv = (await Deno.readTextFile(join(steerDir, "sweep.csv"))).trim().split("\n");
    assertEquals(csv.length, r.rows.length + 1);
    assert(await exists(join(steerDir, "sweep.json")));
    for (const t of r.tasks) {
      const wavs = t.recordings[0].wavs!;
      assertEquals(Object.keys(wavs).length, 2 + 2 * 3);
      for (const w of Object.values(wavs)) assert(await exists(join(steerDir, w)), w);
      assertEquals(t.recordings[1].wavs, undefined);
    }
    // The one CLI command gives the same table (seeded; the command and the function share one path).
    const again = join(dir, "again");
    const cli = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-ffi",
        "--allow-sys",
        "lib/cli/main.ts",
        "steer",
        "--results",
        outDir,
        "--sae-input",
        "frames",
        "--tasks",
        "us-vs-non-us-uk,sex",
        "--alphas",
        "0,1,3",
        "--utterances",
        "2",
        "--seconds",
        "1",
        "--top",
        "3",
        "--bootstrap",
        "100",
        "--wavs",
        "1",
        "--out",
        again,
        "--quiet",
      ],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const cliOut = new TextDecoder().decode(cli.stdout) + new TextDecoder().decode(cli.stderr);
    assertEquals(cli.code, 0, cliOut);
    assert(cliOut.includes("per-frame steering sweep") && cliOut.includes("causal effect shown"), cliOut);
    assertEquals(
      await Deno.readTextFile(join(again, "sweep.csv")),
      await Deno.readTextFile(join(steerDir, "sweep.csv")),
    );

    const section = await steerSweepSection(outDir);
    assert(section.includes("<svg") && section.includes("<audio") && section.includes("steer/wav/"));
    assert(section.includes("causal effect shown"), "a verdict per task");
    // Three charts against α: decision shift (both scorers), flip rate, surviving share and LSD.
    assertEquals(section.match(/<svg/g)?.length, 3);
    const page = await writeSteerSweepPage(outDir);
    assert(page && (await Deno.readTextFile(page)).includes('src="wav/'));
    await Deno.remove(dir, { recursive: true });
  },
});
