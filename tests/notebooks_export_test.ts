/**
 * Notebooks as a newcomer exports them: plain `jupyter nbconvert --to html` (VS Code's export) shows every chart,
 * the project's own export (tools/nbconvert_config.py) keeps them as inline SVG, and the notebooks' text names the
 * data the demo runs (the Speech Accent Archive), not an earlier demo's.
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import { projectRoot } from "../lib/common/assets.ts";
import { chartBundle } from "../lib/plots/render.ts";
import type { VegaLiteSpec } from "../lib/plots/specs.ts";
import { demoConfig } from "../lib/cli/demo.ts";
import { commandWorks, skipWithout } from "./tools.ts";

const hasNbconvert = await commandWorks("jupyter-nbconvert", ["--version"]);

/** A notebook with one executed cell whose output is a chart bundle, as the Deno kernel stores it. */
async function chartNotebook(dir: string): Promise<string> {
  const spec = {
    title: "a line",
    data: { values: [{ x: 1, y: 2 }, { x: 2, y: 3 }, { x: 3, y: 1 }] },
    mark: "line",
    encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
  } as unknown as VegaLiteSpec;
  const nb = {
    cells: [{
      cell_type: "code",
      execution_count: 1,
      metadata: {},
      source: ["await displayChart(spec);"],
      outputs: [{ output_type: "display_data", metadata: {}, data: await chartBundle(spec) }],
    }],
    metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  const path = join(dir, "chart.ipynb");
  await Deno.writeTextFile(path, JSON.stringify(nb));
  return path;
}

async function nbconvert(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("jupyter-nbconvert", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  assert(out.success, new TextDecoder().decode(out.stderr));
}

Deno.test({
  name: "plain nbconvert HTML shows the chart (an SVG image); the project's export keeps it inline",
  ignore: skipWithout(import.meta.url, "jupyter-nbconvert", !hasNbconvert),
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "nac-sae-nbconvert-" });
    try {
      const nb = await chartNotebook(tmp);
      await nbconvert(["--to", "html", "--output", "plain", nb], tmp);
      const plain = await Deno.readTextFile(join(tmp, "plain.html"));
      assertEquals((plain.match(/<img src="data:image\/svg\+xml;base64,/g) ?? []).length, 1);
      const config = join(projectRoot(), "tools", "nbconvert_config.py");
      await nbconvert(["--config", config, "--to", "html", "--output", "ours", nb], tmp);
      const ours = await Deno.readTextFile(join(tmp, "ours.html"));
      assertEquals((ours.match(/<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/g) ?? []).length, 1);
      assert(/class="mark-line role-mark/.test(ours), "the inline SVG keeps its marks");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("notebooks that describe the demo's data name what the demo config runs", async () => {
  const dataset = demoConfig("/tmp/demo-out").datasets[0].name;
  assertEquals(dataset, "saa");
  const dir = join(projectRoot(), "notebooks");
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".ipynb")) continue;
    const nb = JSON.parse(await Deno.readTextFile(join(dir, e.name)));
    for (const cell of nb.cells.filter((c: { cell_type: string }) => c.cell_type === "markdown")) {
      const text = [cell.source].flat().join("");
      for (
        const sentence of text.split(/(?<=\.)\s/).filter((s: string) =>
          /\bThe demo (measures|runs)\b/.test(s)
        )
      ) {
        assert(!/FSDD|eSpeak|synthetic/.test(sentence), `${e.name}: stale demo data: ${sentence}`);
      }
      if (/The demo measures/.test(text)) assert(text.includes("Speech Accent Archive"), e.name);
    }
  }
});
