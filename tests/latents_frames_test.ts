/**
 * Latents in time (the frame-level dashboard) on a small real frame-level run (SAA subset × lyra-3.2kbps, one
 * config, one seed; see latents_fixture.ts): its numbers equal a recomputation from the stored frames through
 * the stored SAE, its k-sparse ranking is the grid's, the page is self-contained with its snippets and strips,
 * the report section links it, and headless Chromium renders its charts, audio players and cursor script.
 */
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import pl from "nodejs-polars";
import { join } from "node:path";
import { settingsFromEnv, sharedDir } from "../lib/cli/settings.ts";
import { readJson } from "../lib/common/fs.ts";
import { type CellContext, framesOf, loadCellContext } from "../lib/experiment/cell_context.ts";
import { validateConfig } from "../lib/experiment/config.ts";
import { runGrid } from "../lib/experiment/run.ts";
import { type FrameLatentsReport, frameLatentsReport } from "../lib/experiment/latents_frames.ts";
import {
  FRAME_DASHBOARD_FILE,
  frameLatentsReportSection,
  renderFrameLatentsDashboard,
  snippetWindow,
  writeFrameLatentsDashboard,
} from "../lib/report/latents_frames.ts";
import { commands as inspectCommands } from "../lib/report/latents_cli.ts";
import { encodeSae } from "../lib/sae/mod.ts";
import { writeSaaSubset } from "./latents_fixture.ts";
import { skipWithout, toolAvailable } from "./tools.ts";

const shared = sharedDir();
const hasChromium =
  new Deno.Command("sh", { args: ["-c", "command -v chromium"], stdout: "null" }).outputSync().success;

Deno.test("snippet window: centred, shifted inside the recording, never longer than it", () => {
  assertEquals(snippetWindow(5, 1, 10), [4.5, 5.5]);
  assertEquals(snippetWindow(0.1, 1, 10), [0, 1]);
  assertEquals(snippetWindow(9.9, 1, 10), [9, 10]);
  assertEquals(snippetWindow(0.2, 1, 0.5), [0, 0.5]);
});

/** A hand-written report (the renderer's input), for what the page must say whatever the numbers. */
function tinyReport(): FrameLatentsReport {
  const top = (id: string, frame: number) => ({
    id,
    frame,
    time: (frame + 0.5) / 50,
    activation: 1.5,
    label: 1,
    narrow: "English",
  });
  return {
    cellKey: "k",
    dataset: "saa",
    codec: "lyra-6kbps",
    task: "us-vs-uk",
    classes: ["US", "UK"],
    q: 2,
    s: 0.5,
    seed: 0,
    k: 4,
    dZ: 128,
    deltaF1: 0.1,
    f1: 0.6,
    f1Ref: 0.5,
    chosenBy: "test",
    frameRate: 50,
    codecRate: 16000,
    probe: { name: "z", nnz: 3 },
    nTest: [3, 2],
    nFrames: [300, 200],
    ksparseTop: [5, 9],
    latents: [{
      latent: 5,
      coef: 0.7,
      favours: 1,
      ksparseRank: 1,
      firingRate: [0.1, 0.3],
      meanMagnitude: [1, 2],
      cosineClassMeans: 0.4,
      top: [top("a", 10), top("b", 20)],
    }],
    sexLatents: [{ latent: 9, rank: 1, score: 0.5, nFemale: 2, nMale: 3 }],
    strips: [{
      id: "a",
      label: 1,
      narrow: "English",
      gender: "female",
      frames: 50,
      latents: [5, 9],
      values: [Array.from({ length: 50 }, (_, t) => (t === 10 ? 1.5 : 0)), new Array(50).fill(0.2)],
      decision: 1.2,
    }],
  };
}

Deno.test("frame dashboard page: caveat, one player per snippet and strip, extra sections, no network", () => {
  const wav = "data:audio/wav;base64,AAAA";
  const html = renderFrameLatentsDashboard(tinyReport(), {
    clips: new Map([["a@10", wav], ["b@20", wav]]),
    stripAudio: new Map([["a", { uri: wav, samples: new Float32Array(8000) }]]),
    snippetSeconds: 1,
    rate: 8000,
    sourceRates: [8000],
    extraSections: ['<section id="sweep"><h2>Steering sweep</h2></section>'],
  });
  assertEquals((html.match(/<audio/g) ?? []).length, 3);
  assert((html.match(/<svg/g) ?? []).length >= 3);
  assertStringIncludes(html, "sampled at 8 kHz");
  assertStringIncludes(html, "nothing above 4 kHz");
  assertStringIncludes(html, '<section id="sweep">');
  assertStringIncludes(html, 'class="cursor"');
  assertStringIncludes(html, "z_9 (sex #1)");
  assert(!/https?:\/\//.test(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, "")), "no network");
});

/** The DOM headless Chromium holds after loading a page and running its scripts (10 s of virtual time). */
function chromiumDom(dir: string, page: string) {
  return new Deno.Command("chromium", {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      `--user-data-dir=${join(dir, "profile")}`,
      "--virtual-time-budget=10000",
      "--dump-dom",
      `file://${page}`,
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
}

/** The small frame-level run, built once for the tests below. */
let built: Promise<{ dir: string; outDir: string; ctx: CellContext }> | undefined;
function frameRun() {
  built ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-latents-frames-" });
    const manifest = await writeSaaSubset(dir, undefined, { gender: true });
    const outDir = join(dir, "out");
    const config = validateConfig(
      {
        name: "latents-frames",
        datasets: [{ name: "saa_subset", manifest }],
        codecs: ["lyra-3.2kbps"],
        tasks: ["us-vs-non-us-uk"],
        grid: { q: [2], s: [0.25] },
        epochs: { fixed: 20 },
        seeds: [0],
        features: ["z"],
        saeInput: "frames",
        frames: { perRecording: 50 },
        outDir,
        workers: 1,
        bootstrap: 0,
        probe: { permutations: 0 },
        modelsDir: join(shared!, "models"),
      },
      "latents frames config",
      outDir,
    );
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    await runGrid(config, { quiet: true });
    return { dir, outDir, ctx: await loadCellContext(outDir, { saeInput: "frames" }) };
  })();
  return built;
}

Deno.test({
  name: "latents in time on a small SAA × Lyra frame-level run: numbers recomputed, k-sparse ranking, page",
  ignore: skipWithout(import.meta.url, "../shared data", !shared),
  sanitizeResources: false,
  async fn() {
    const { outDir, ctx } = await frameRun();
    assertEquals(ctx.saeInput, "frames");

    const t0 = performance.now();
    const dash = await writeFrameLatentsDashboard(outDir, { context: ctx, top: 4, frames: 3, strips: 2 });
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `frame dashboard: ${dash.bytes} bytes, ${dash.svg} svg, ${dash.audio} audio, ${seconds.toFixed(1)} s`,
    );
    assertEquals(dash.path, join(outDir, FRAME_DASHBOARD_FILE));
    const html = await Deno.readTextFile(dash.path);
    const r = await readJson<FrameLatentsReport>(dash.json);
    const snippets = r.latents.reduce((n, l) => n + l.top.length, 0);
    assertEquals(dash.audio, snippets + r.strips.length);
    assert(dash.svg >= 2 + r.strips.length, `svg ${dash.svg}`);
    assert(dash.bytes < 10_000_000);
    assert(!/https?:\/\//.test(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, "")), "no network");
    assertStringIncludes(html, "8 kHz");

    // Every number again, from the stored frames through the stored SAE, one recording at a time.
    const dZ = ctx.sae.config.dZ, test = ctx.splits.test;
    const codes = new Map<string, Awaited<ReturnType<typeof encodeSae>>>();
    for (const id of test) codes.set(id, await encodeSae(ctx.sae, (await framesOf(ctx, [id]))[0]));
    const coef = ctx.zProbe.coef;
    const shown = coef.flatMap((c, j) => (c !== 0 ? [j] : []))
      .sort((a, b) => Math.abs(coef[b]) - Math.abs(coef[a]) || a - b).slice(0, 4);
    assertEquals(r.latents.map((l) => l.latent), shown);
    for (const l of r.latents) {
      for (const c of [0, 1]) {
        let frames = 0, fired = 0, sum = 0;
        for (const id of test.filter((id) => ctx.splits.labels[id] === c)) {
          const z = codes.get(id)!;
          frames += z.rows;
          for (let t = 0; t < z.rows; t++) {
            const v = z.data[t * dZ + l.latent];
            if (v > 0) [fired, sum] = [fired + 1, sum + v];
          }
        }
        assertAlmostEquals(l.firingRate[c], fired / frames, 1e-12);
        assertAlmostEquals(l.meanMagnitude[c], fired ? sum / fired : 0, 1e-9);
      }
      assertEquals(new Set(l.top.map((t) => t.id)).size, l.top.length, "one top frame per recording");
      for (const t of l.top) {
        assertAlmostEquals(t.activation, codes.get(t.id)!.data[t.frame * dZ + l.latent], 1e-6);
        assertAlmostEquals(t.time, (t.frame + 0.5) / r.frameRate, 1e-9);
      }
      assert(Math.abs(l.cosineClassMeans) <= 1 + 1e-9);
    }
    for (const s of r.strips) {
      const z = codes.get(s.id)!;
      assertEquals(s.frames, z.rows);
      s.latents.forEach((j, i) => {
        for (const t of [0, Math.floor(z.rows / 2), z.rows - 1]) {
          assertAlmostEquals(s.values[i][t], z.data[t * dZ + j], 1e-4);
        }
      });
    }
    // Lyra: 50 frames/s; the subset manifest gives gender, so sex latents are ranked.
    assertEquals(r.frameRate, 50);
    assert(r.sexLatents.length === 2, JSON.stringify(r.sexLatents));

    // The k-sparse ranking is the grid's: its largest k-sparse probe's latents are the ranking's first.
    const ks = pl.readCSV(await Deno.readTextFile(join(outDir, "ksparse.csv")))
      .filter(pl.col("cell_key").eq(pl.lit(ctx.cellKey)).and(pl.col("feature").eq(pl.lit("z"))))
      .toRecords().filter((row) => String(row.all_latents) === "false")
      .sort((a, b) => Number(b.k) - Number(a.k));
    const largest = String(ks[0].latents).split(" ").map(Number);
    assertEquals(r.ksparseTop.slice(0, largest.length), largest);

    // The report's paragraph links the page by name; `inspect --sae-input frames` writes it; an utterance cell
    // is refused with what to do.
    assertStringIncludes(await frameLatentsReportSection(outDir), `href="${FRAME_DASHBOARD_FILE}"`);
    const inspect = inspectCommands.find((c) => c.name === "inspect")!;
    const out = join(outDir, "cli.html");
    const flags = { results: outDir, "sae-input": "frames", top: "2", out };
    const res = await inspect.run(flags, [], settingsFromEnv({})) as { audio: number };
    assert(res.audio >= 1);
    await assertRejects(
      () => frameLatentsReport({ ...ctx, saeInput: "utterance" }),
      Error,
      "not on frames",
    );

    // Notebook 09 executes headless on this run (where nbconvert is installed).
    if (await toolAvailable(import.meta.url, "jupyter-nbconvert", "jupyter-nbconvert", ["--version"])) {
      const run = await new Deno.Command("bash", {
        args: ["tools/run_notebooks.sh", "notebooks/09_latents_in_time.ipynb"],
        env: { NAC_SAE_RESULTS: outDir, NAC_SAE_REPORTS: join(outDir, "reports") },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(run.stderr);
      assert(run.code === 0 && log.includes("notebooks: 1 ok, 0 failed"), log);
    }
  },
});

Deno.test({
  name: "latents in time in headless Chromium: charts, audio players with their clips, cursor script bound",
  ignore: skipWithout(import.meta.url, "chromium", !hasChromium) ||
    skipWithout(import.meta.url, "../shared data", !shared),
  sanitizeResources: false,
  async fn() {
    const { dir, outDir, ctx } = await frameRun();
    const dash = await writeFrameLatentsDashboard(outDir, { context: ctx, top: 4, frames: 3, strips: 2 });
    const out = await chromiumDom(dir, dash.path);
    assertEquals(out.code, 0);
    const dom = new TextDecoder().decode(out.stdout);
    const count = (re: RegExp) => (dom.match(re) ?? []).length;
    assertEquals(count(/<svg/g), dash.svg);
    assertEquals(count(/<audio/g), dash.audio);
    // The script ran: each strip is bound, and every player decoded its clip's length.
    assertEquals(count(/<figure class="strip"[^>]*data-bound="1"/g), 2);
    assertEquals(count(/<audio[^>]*data-duration="\d/g), dash.audio);
    assert(count(/<rect /g) > 0);

    // The cursor follows the audio: a copy of the page seeks its first strip's audio to 1 s once its metadata
    // is in and tells the page's listener (timeupdate, as playback does; sent at once so the check does not
    // wait on the browser's own event under load), and the cursor stands at 1 s on the strip's time axis.
    const html = await Deno.readTextFile(dash.path);
    const seek = `<script>var a=document.querySelector("figure.strip audio");function go(){a.currentTime=1;` +
      `a.dispatchEvent(new Event("timeupdate"));}a.addEventListener("loadedmetadata",go);` +
      `if(a.readyState>0)go();</script>`;
    const probe = join(dir, "seek.html");
    await Deno.writeTextFile(probe, html.replace("</body>", `${seek}</body>`));
    const seeked = new TextDecoder().decode((await chromiumDom(dir, probe)).stdout);
    const svg = seeked.match(/<svg[^>]*class="strip"[^>]*>/)![0];
    const attr = (name: string) => Number(svg.match(new RegExp(`data-${name}="([\\d.]+)"`))![1]);
    const x = Number(seeked.match(/<line class="cursor" x1="([\d.]+)"/)![1]);
    assert(x > attr("left"), `cursor at ${x}`);
    assertAlmostEquals(x, attr("left") + attr("width") / attr("duration"), 0.5);
  },
});
