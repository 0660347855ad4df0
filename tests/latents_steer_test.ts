/**
 * The latent dashboard and steering on a small real run (SAA subset × lyra-3.2kbps, one config, one seed; see
 * latents_fixture.ts): the dashboard's numbers equal a recomputation from the stored u through the stored SAE;
 * a steered decode with δ = 0 equals the plain decode; and the measured effect of an ablation against its random
 * control is recorded (asserted only where it must hold: the edit moves the mean of ê by exactly δ).
 */
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import pl from "nodejs-polars";
import { join } from "node:path";
import { sharedDir } from "../lib/cli/settings.ts";
import { exists, readJson } from "../lib/common/fs.ts";
import { loadAudio } from "../lib/audio/mod.ts";
import { logSpectralDistance } from "../lib/audio/spectrum.ts";
import { meanOverTime } from "../lib/extract/pooling.ts";
import { wilsonInterval } from "../lib/common/stats.ts";
import { loadCellContext, selectCellRow, uOf } from "../lib/experiment/cell_context.ts";
import { runGrid } from "../lib/experiment/run.ts";
import type { LatentsReport } from "../lib/experiment/latents.ts";
import {
  addToFrames,
  loadDecodingCodec,
  probeDecision,
  steerCell,
  steerDecode,
} from "../lib/experiment/steer.ts";
import { writeLatentsDashboard } from "../lib/report/latents.ts";
import { writeReport } from "../lib/report/mod.ts";
import { encodeSae } from "../lib/sae/mod.ts";
import { subsetRunConfig, writeSaaSubset } from "./latents_fixture.ts";
import { skipWithout, toolAvailable } from "./tools.ts";

const shared = sharedDir();

Deno.test("wilson interval: known values; k = 0 and k = n stay inside [0, 1]", () => {
  const w = wilsonInterval(8, 12);
  assertAlmostEquals(w.low, 0.3906, 1e-3);
  assertAlmostEquals(w.high, 0.8619, 1e-3);
  assertEquals(wilsonInterval(0, 5).low, 0);
  assertEquals(wilsonInterval(5, 5).high, 1);
});

Deno.test("cell selection: best / worst ΔF1 on z, selectors, and an error listing the cells when none match", () => {
  const row = (key: string, q: number, s: number, d: number, feature = "z") => ({
    dataset: "saa",
    codec: "lyra-6kbps",
    task: "us-vs-uk",
    q,
    s,
    seed: 0,
    feature,
    delta_f1: d,
    cell_key: key,
  });
  const df = pl.DataFrame([
    row("a", 2, 0.5, -0.1),
    row("b", 2, 0.25, 0.05),
    row("c", 5, 0.5, -0.3),
    row("b", 2, 0.25, 0.2, "z_pos"),
  ]);
  assertEquals(selectCellRow(df, {}, "t").cell_key, "b");
  assertEquals(selectCellRow(df, { pick: "worst" }, "t").cell_key, "c");
  assertEquals(selectCellRow(df, { s: 0.5 }, "t").cell_key, "a");
  assertEquals(selectCellRow(df, { cellKey: "c" }, "t").cell_key, "c");
  assert(selectCellRow(df, {}, "t").chosenBy.includes("most interpretable"));
  assertThrows(() => selectCellRow(df, { q: 20 }, "t"), Error, "no cell matches q=20");

  // With validity flags, the default pick skips an untrained SAE and a reference not above chance; a selector
  // still reaches them.
  const flagged = pl.DataFrame([
    { ...row("u", 2, 0.5, 0.3), sae_trained: false, ref_above_chance: true },
    { ...row("n", 2, 0.25, 0.2), sae_trained: true, ref_above_chance: false },
    { ...row("v", 5, 0.5, -0.1), sae_trained: true, ref_above_chance: true },
  ]);
  const best = selectCellRow(flagged, {}, "t");
  assertEquals(best.cell_key, "v");
  assert(best.chosenBy.includes("clearly above chance"), best.chosenBy);
  assertEquals(selectCellRow(flagged, { cellKey: "u" }, "t").cell_key, "u");
});

Deno.test("log-spectral distance: 0 for equal signals, grows with the difference, symmetric", () => {
  const n = 4096, a = new Float32Array(n), b = new Float32Array(n), c = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = Math.sin(i * 0.1) + 0.01 * Math.sin(i * 1.3);
    b[i] = a[i] + 0.05 * Math.sin(i * 0.7);
    c[i] = a[i] + 0.5 * Math.sin(i * 0.7);
  }
  assertEquals(logSpectralDistance(a, a), 0);
  const ab = logSpectralDistance(a, b), ac = logSpectralDistance(a, c);
  assert(ab > 0 && ac > ab, `LSD(a,b) = ${ab}, LSD(a,c) = ${ac}`);
  assertAlmostEquals(logSpectralDistance(b, a), ab, 1e-9);
});

Deno.test({
  name: "latents + steering on a small SAA × Lyra run: dashboard numbers, δ = 0 decode, ablation vs random",
  ignore: skipWithout(import.meta.url, "../shared data", !shared),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-latents-" });
    const manifest = await writeSaaSubset(dir);
    const outDir = join(dir, "out");
    await runGrid(subsetRunConfig(manifest, outDir, 20), { quiet: true });
    const ctx = await loadCellContext(outDir);

    // Dashboard: self-contained, with charts and audio; its numbers equal a recomputation from stored u.
    const dash = await writeLatentsDashboard(outDir, { context: ctx, top: 4, utterances: 3 });
    const html = await Deno.readTextFile(dash.path);
    assert(dash.svg >= 3 && dash.audio >= 1, `svg ${dash.svg}, audio ${dash.audio}`);
    assert(
      !/https?:\/\//.test(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, "")),
      "no network links",
    );
    assert(html.includes("8 kHz 16-bit PCM WAV"), "the page says which audio it embeds");
    const report = await readJson<LatentsReport>(dash.json);
    const test = ctx.splits.test;
    const z = await encodeSae(ctx.sae, uOf(ctx, test));
    const coef = ctx.zProbe.coef;
    const nonzero = coef.flatMap((c, j) => (c !== 0 ? [j] : []));
    assertEquals(report.probe.nnz, nonzero.length);
    assertEquals(
      report.latents.map((l) => l.latent),
      nonzero.sort((a, b) => Math.abs(coef[b]) - Math.abs(coef[a]) || a - b).slice(0, 4),
    );
    for (const l of report.latents) {
      for (const c of [0, 1]) {
        const rows = test.flatMap((id, i) => (ctx.splits.labels[id] === c ? [i] : []));
        const active = rows.filter((i) => z.data[i * z.cols + l.latent] > 0).length;
        assertAlmostEquals(l.freq[c], active / rows.length, 1e-12);
        assertEquals(l.histogram.counts[c].reduce((a, b) => a + b, 0), rows.length);
      }
      for (const t of l.top) {
        const i = test.indexOf(t.id);
        if (i >= 0) assertAlmostEquals(t.activation, z.data[i * z.cols + l.latent], 1e-6);
        assertEquals(t.narrow, ctx.info.get(t.id)!.narrow);
      }
    }

    // δ = 0 steers to exactly the plain decode; a non-zero δ moves the mean of ê by exactly δ.
    const codec = await loadDecodingCodec(ctx);
    try {
      const id = test[0];
      const audio = await loadAudio(ctx.info.get(id)!.path, { sampleRate: codec.sampleRate, maxSeconds: 2 });
      const e = await codec.encode(audio);
      const plain = await codec.decode!(e);
      const zero = await steerDecode(codec, e, new Float64Array(e.cols));
      assertEquals(zero, plain);
      const delta = Float64Array.from({ length: e.cols }, (_, i) => 0.01 * (i % 7) - 0.03);
      const before = meanOverTime(e), after = meanOverTime(addToFrames(e, delta));
      for (let c = 0; c < e.cols; c++) assertAlmostEquals(after[c] - before[c], delta[c], 1e-5);
      assert(Number.isFinite(probeDecision(ctx.refProbe, before)));
    } finally {
      codec.dispose();
    }

    // Ablation vs random control: measured and recorded, not wished for.
    const steerDir = join(outDir, "steer");
    const r = await steerCell(ctx, {
      edit: "ablate",
      source: 1,
      top: 4,
      utterances: 3,
      seconds: 2,
      outDir: steerDir,
      quiet: true,
    });
    assertEquals(r.table.map((t) => t.condition), ["original", "none", "edit", "random"]);
    for (const t of r.table) {
      assertEquals(t.n, r.utterances.length);
      assert(t.flip_low <= t.flip_rate && t.flip_rate <= t.flip_high);
    }
    assert(await exists(join(steerDir, "flip_rates.csv")));
    for (const u of r.utterances) {
      for (const w of Object.values(u.wavs!)) assert(await exists(join(steerDir, w)));
    }
    const moved = r.utterances.filter((u) => u.deltaNorm > 0);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
    const alongEdit = mean(moved.map((u) => u.along.edit / u.deltaNorm));
    const alongRandom = mean(moved.map((u) => u.along.random / u.deltaNorm));
    // Measured on this run (lyra-3.2kbps, 2 s crops, 3 Non-US-UK utterances, top-4 latents favouring the source):
    // only 1 of 3 utterances had one of them active (δ ≠ 0), and its u′ moved against δ̂ (−0.28 of ‖δ‖) while the
    // random control moved along its own direction (+0.37) — so no direction is asserted here; the README shows a
    // larger run.
    console.log(
      `ablation: ${moved.length}/${r.utterances.length} utterances with δ ≠ 0; u′ along δ̂ / ‖δ‖: ` +
        `edit ${alongEdit.toFixed(3)}, random ${alongRandom.toFixed(3)}; LSD edit ${
          mean(r.utterances.map((u) => u.lsd.edit)).toFixed(2)
        } dB`,
    );
    for (const u of moved) {
      assert(Number.isFinite(u.along.edit) && Number.isFinite(u.along.random));
      assert(u.lsd.edit >= 0 && u.lsd.random >= 0);
    }

    // The dashboard links the steering run; the report links the dashboard by name.
    const dash2 = await writeLatentsDashboard(outDir, { context: ctx, top: 2, utterances: 2 });
    const html2 = await Deno.readTextFile(dash2.path);
    assert(html2.includes("steer/wav/"), "dashboard links the steered WAVs");
    await writeReport(outDir);
    assert((await Deno.readTextFile(join(outDir, "report.html"))).includes('href="latents.html"'));

    // Notebook 07 executes headless on this run (where nbconvert is installed).
    if (await toolAvailable(import.meta.url, "jupyter-nbconvert", "jupyter-nbconvert", ["--version"])) {
      const run = await new Deno.Command("bash", {
        args: ["tools/run_notebooks.sh", "notebooks/07_latents.ipynb"],
        env: { NAC_SAE_RESULTS: outDir, NAC_SAE_REPORTS: join(dir, "reports") },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(run.stderr);
      assert(run.code === 0 && log.includes("notebooks: 1 ok, 0 failed"), log);
    }
    await Deno.remove(dir, { recursive: true });
  },
});
