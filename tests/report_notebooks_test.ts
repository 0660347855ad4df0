/**
 * Executes notebooks end to end with the Deno Jupyter kernel through `tools/run_notebooks.sh` (the script behind
 * `deno task notebooks`) and checks what they produced: tables as HTML, charts as Vega-Lite v5 + SVG bundles,
 * no error outputs, and HTML pages in which the charts survive.
 *
 * TODO(lead): the results directory is the synthetic fixture (tests/report_results_fixture.ts); switch it to a small
 * real grid (`deno task cli grid --config FILE` on a cached tiny config) once lib/data and lib/experiment land.
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import { writeFixtureResults } from "./report_results_fixture.ts";

const hasNbconvert = new Deno.Command("sh", { args: ["-c", "command -v jupyter-nbconvert"], stdout: "null" })
  .outputSync().success;

interface Output {
  output_type: string;
  data?: Record<string, unknown>;
  name?: string;
  text?: string | string[];
  ename?: string;
}

async function outputs(path: string): Promise<Output[]> {
  const nb = JSON.parse(await Deno.readTextFile(path));
  return nb.cells.flatMap((c: { outputs?: Output[] }) => c.outputs ?? []);
}

Deno.test({
  name: "notebooks 04 and 05 execute headless and produce their tables and charts (no error outputs)",
  ignore: !hasNbconvert,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-nb-" });
    try {
      const results = join(dir, "results"), reports = join(dir, "reports");
      await writeFixtureResults(results);
      const run = await new Deno.Command("bash", {
        args: [
          "tools/run_notebooks.sh",
          "notebooks/04_interpretability.ipynb",
          "notebooks/05_position_vs_magnitude.ipynb",
        ],
        env: { NAC_SAE_RESULTS: results, NAC_SAE_REPORTS: reports },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(run.stderr);
      assertEquals(run.code, 0, log);
      assert(log.includes("notebooks: 2 ok, 0 failed"), log);

      const expect = {
        "04_interpretability": { charts: 6, tables: 1 },
        "05_position_vs_magnitude": { charts: 3, tables: 2 },
      };
      for (const [name, want] of Object.entries(expect)) {
        const outs = await outputs(join(reports, `${name}.ipynb`));
        assertEquals(outs.filter((o) => o.output_type === "error").map((o) => o.ename), [], name);
        const charts = outs.filter((o) => o.data?.["application/vnd.vegalite.v5+json"]);
        assertEquals(charts.length, want.charts, name);
        for (const c of charts) {
          assert(String(c.data!["image/svg+xml"]).startsWith("<svg"), name);
          assertEquals(
            (c.data!["application/vnd.vegalite.v5+json"] as { $schema: string }).$schema,
            "https://vega.github.io/schema/vega-lite/v5.json",
          );
        }
        const tables = outs.filter((o) => String(o.data?.["text/html"] ?? "").startsWith("<table"));
        assertEquals(tables.length, want.tables, name);
        // The HTML page keeps the SVG charts whole (nbconvert would otherwise strip their elements).
        const html = await Deno.readTextFile(join(reports, `${name}.html`));
        assertEquals(
          (html.match(/<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/g) ?? []).length,
          want.charts,
          name,
        );
        assert((html.match(/class="mark-line role-mark/g) ?? []).length >= want.charts, name);
      }
      const t2 = (await outputs(join(reports, "05_position_vs_magnitude.ipynb")))
        .map((o) => String(o.data?.["text/html"] ?? "")).find((h) => h.includes("Table 2"))!;
      assert(
        t2.includes(">position<") && t2.includes(">magnitude<") && t2.includes(">q=20<"),
        "Table 2 layout",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
