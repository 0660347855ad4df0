/**
 * The report and the latent dashboard at 1400 px in headless Chromium: no table wider than its box (no
 * horizontal scrolling inside the page), no chart past the page's edge, and no SVG label cut by its chart's
 * border. A script appended to a copy of each page measures the laid-out DOM and writes what it finds into the
 * page, which Chromium then dumps. Screenshots of both are left beside them for a reader (PNG).
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import pl from "nodejs-polars";
import { writeReport } from "../lib/report/mod.ts";
import { MIN_GROUP, renderLatentsDashboard } from "../lib/report/latents.ts";
import type { LatentsReport, LatentStats } from "../lib/experiment/latents.ts";
import { encodeWav } from "../lib/audio/mod.ts";
import { encodeBase64 } from "../lib/common/base64.ts";
import { writeFixtureResults } from "../testdata/results_fixture.ts";
import { skipWithout } from "./tools.ts";

const browser = ["chromium", "chromium-browser", "google-chrome"].find((b) =>
  new Deno.Command("sh", { args: ["-c", `command -v ${b}`], stdout: "null" }).outputSync().success
);

const CHECK = `<script>
(() => {
  const problems = [];
  const page = document.documentElement.clientWidth;
  document.querySelectorAll("table").forEach((t, i) => {
    const name = (t.querySelector("caption") || t).textContent.slice(0, 60);
    const box = t.parentElement.getBoundingClientRect();
    const r = t.getBoundingClientRect();
    if (r.width > box.width + 1) problems.push("table " + i + " (" + name + ") is " + Math.round(r.width) + " px in a " + Math.round(box.width) + " px box");
    if (r.right > page + 1) problems.push("table " + i + " (" + name + ") passes the page's right edge");
  });
  document.querySelectorAll("svg").forEach((svg, i) => {
    const s = svg.getBoundingClientRect();
    if (s.right > page + 1) problems.push("chart " + i + " passes the page's right edge");
    svg.querySelectorAll("text").forEach((t) => {
      const b = t.getBoundingClientRect();
      if (b.width === 0 || !t.textContent.trim()) return;
      if (b.left < s.left - 1 || b.right > s.right + 1 || b.top < s.top - 1 || b.bottom > s.bottom + 1) {
        problems.push("chart " + i + ": label '" + t.textContent.trim().slice(0, 60) + "' is cut");
      }
    });
  });
  const out = document.createElement("pre");
  out.id = "layout-problems";
  out.textContent = JSON.stringify({ tables: document.querySelectorAll("table").length,
    charts: document.querySelectorAll("svg").length, problems });
  document.body.appendChild(out);
})();
</script>`;

/** Loads a copy of the page with the check appended at 1400 px; returns what the check found. */
async function layoutAt1400(html: string, dir: string, name: string) {
  const page = join(dir, `${name}-check.html`);
  await Deno.writeTextFile(page, html.replace("</body>", `${CHECK}</body>`));
  const profile = await Deno.makeTempDir({ prefix: "nac-sae-chromium-" });
  try {
    const flags = [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--hide-scrollbars",
      `--user-data-dir=${profile}`,
      "--window-size=1400,1000",
    ];
    const dom = await new Deno.Command(browser!, {
      args: [...flags, "--dump-dom", `file://${page}`],
      stdout: "piped",
      stderr: "null",
    }).output();
    const text = new TextDecoder().decode(dom.stdout);
    const m = text.match(/<pre id="layout-problems">([^<]*)<\/pre>/);
    assert(m, `${name}: the layout check did not run`);
    const shot = await new Deno.Command(browser!, {
      args: [
        ...flags.slice(0, -1),
        "--window-size=1400,2400",
        `--screenshot=${join(dir, `${name}.png`)}`,
        `file://${page}`,
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    assertEquals(shot.code, 0);
    return JSON.parse(
      m[1].replace(/&quot;/g, '"').replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">"),
    ) as {
      tables: number;
      charts: number;
      problems: string[];
    };
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}

/** A dashboard's numbers as a real SAA cell has them: long class names, many accents, some with 1 recording. */
function dashboardReport(): LatentsReport {
  const accents: [string, number][] = [
    ["american", 40],
    ["english", 9],
    ["spanish", 7],
    ["mandarin", 6],
    ["arabic", 5],
    ["korean", 2],
    ["portuguese", 1],
    ["tagalog", 1],
  ];
  const latent = (j: number, coef: number): LatentStats => ({
    latent: j,
    coef,
    favours: coef > 0 ? 1 : 0,
    freq: [0.4, 0.7],
    meanActivation: [0.3, 0.9],
    histogram: { edges: [0, 0.5, 1, 1.5, 2], counts: [[20, 5, 3, 1], [8, 9, 6, 4]] },
    cosineClassMeans: 0.31,
    top: [0, 1, 2].map((i) => ({ id: `utt${j}_${i}`, activation: 2 - i * 0.3, narrow: "spanish", label: 1 })),
    classPurity: 1,
    narrowPurity: { accent: "spanish", share: 1 },
    topNarrow: { spanish: 3 },
    byNarrow: accents.map(([accent, n], i) => ({ accent, n, freq: n === 1 ? 1 : (i % 3) / 3 })),
  });
  return {
    cellKey: "h-saa-lyra-6kbps-us-vs-non-us-uk-2-0.05-0",
    refKey: "ref-saa-lyra-6kbps",
    dataset: "saa",
    codec: "lyra-6kbps",
    task: "us-vs-non-us-uk",
    classes: ["US", "Non-US-UK"],
    q: 2,
    s: 0.05,
    seed: 0,
    k: 26,
    dZ: 1024,
    deltaF1: -0.021,
    f1: 0.61,
    f1Ref: 0.631,
    chosenBy: "the most interpretable cell (highest ΔF1 on z)",
    probe: { name: "L1 logistic regression", nnz: 37, C: 1, intercept: 0.1 },
    nTaskTest: [40, 31],
    nSplitTest: 71,
    testNarrow: Object.fromEntries(accents),
    latents: [latent(17, 1.524), latent(233, -0.872), latent(5, 0.44)],
  };
}

Deno.test({
  name:
    "report and dashboard at 1400 px: no table overflows its box, no chart passes the page, no label is cut",
  ignore: skipWithout(import.meta.url, "chromium", !browser),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-layout-" });
    try {
      // As the demo writes it: the paper's protocol compared with a second one (the widest tables).
      await writeFixtureResults(dir, {
        seeds: [0, 1],
        weakTasks: ["us-vs-uk"],
        oneClass: ["z_mag"],
        speakers: 30,
      });
      const other = join(dir, "dev");
      await writeFixtureResults(other, { seeds: [0, 1], speakers: 30 });
      const results = pl.readParquet(join(other, "results.parquet"))
        .withColumns(pl.lit("mean+std").alias("pooling"), pl.lit("dev").alias("probe_protocol"));
      results.writeParquet(join(other, "results.parquet"));
      await Deno.remove(join(other, "results.csv"));
      const { path } = await writeReport(dir, undefined, { compare: [other] });
      assert((await Deno.readTextFile(path)).includes("dev (u = mean+std of ê over time"));
      const report = await layoutAt1400(await Deno.readTextFile(path), dir, "report");
      assert(report.tables >= 10 && report.charts >= 11, JSON.stringify(report));
      assertEquals(report.problems, []);

      const r = dashboardReport();
      const clip = `data:audio/wav;base64,${encodeBase64(encodeWav([new Float32Array(8000)], 8000))}`;
      const clips = new Map(r.latents.flatMap((l) => l.top.map((t) => [t.id, clip] as [string, string])));
      const coef: [number, number][] = [[17, 1.524], [233, -0.872], [5, 0.44], [1023, 0.0123]];
      const html = renderLatentsDashboard(r, { coef, clips, seconds: 1, rate: 8000 });
      // The label that used to be cut, whole; players that know their length before they are played.
      assert(html.includes("1.524 → Non-US-UK"));
      assert(!html.includes('preload="none"') && html.includes('preload="metadata"'));
      // Accents with fewer than MIN_GROUP recordings are listed, not drawn at 0 % or 100 %.
      assert(html.includes(`fewer than ${MIN_GROUP} test recordings`) && html.includes("portuguese (1)"));
      assert(!html.includes("portuguese (n=1)"));
      const dashboard = await layoutAt1400(html, dir, "dashboard");
      assert(dashboard.charts >= 7, JSON.stringify(dashboard));
      assertEquals(dashboard.problems, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
