/** The report in a real browser: headless Chromium loads it and the DOM holds every chart and its lines. */
import { assertEquals } from "@std/assert";
import { join } from "node:path";
import { writeReport } from "../lib/report/mod.ts";
import { writeFixtureResults } from "../testdata/results_fixture.ts";
import { skipWithout } from "./tools.ts";

const hasChromium =
  new Deno.Command("sh", { args: ["-c", "command -v chromium"], stdout: "null" }).outputSync()
    .success;

Deno.test({
  name: "report in headless Chromium: 11 SVG charts with 131 line marks in the rendered DOM",
  ignore: skipWithout(import.meta.url, "chromium", !hasChromium),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-browser-" });
    try {
      await writeFixtureResults(dir);
      const { path } = await writeReport(dir);
      const out = await new Deno.Command("bash", {
        args: ["tools/screenshot_report.sh", "--dom", path],
        stdout: "piped",
      })
        .output();
      assertEquals(out.code, 0);
      const last = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1);
      // Charts: reference vs chance (no lines) + 10 with lines. Lines: Figs 2/3 3×(4 q × 3 codecs) + z_pos/z_mag 2×12 + Fig 4 3 + intervals 3×12 + curves 16×2.
      assertEquals(last, "svg=11 lines=131");
      const png = join(dir, "report.png");
      const shot = await new Deno.Command("bash", {
        args: ["tools/screenshot_report.sh", path, png, "1280,2400"],
      })
        .output();
      assertEquals(shot.code, 0);
      const bytes = await Deno.readFile(png);
      assertEquals([...bytes.slice(1, 4)].map((b) => String.fromCharCode(b)).join(""), "PNG");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
