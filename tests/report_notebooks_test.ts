/**
 * Executes notebooks end to end with the Deno Jupyter kernel through `tools/run_notebooks.sh` (the script behind
 * `deno task notebooks`) on the results fixture (testdata/results_fixture.ts: Lyra at two bitrates, q = 2,
 * s ∈ {25 %, 5 %}, three task settings) and checks what they produced: tables as HTML, charts as Vega-Lite v5 +
 * SVG bundles, no error outputs, and HTML pages in which the charts survive. The kernel starts in notebooks/
 * for three of them and in the project root for a fourth. (The grid that writes real results is tested in
 * tests/experiment_*_test.ts; the notebooks only read its tables.)
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import { writeFixtureResults } from "../testdata/results_fixture.ts";
import { skipWithout } from "./tools.ts";

const has = (cmd: string) =>
  new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" }).outputSync().success;
const ready = has("jupyter-nbconvert");

/** The fixture's results directory: two Lyra bitrates, one q, two s. */
async function fixtureResults(dir: string): Promise<string> {
  const results = join(dir, "results");
  await writeFixtureResults(results, { codecs: ["lyra-3.2kbps", "lyra-9.2kbps"], q: [2], s: [0.25, 0.05] });
  return results;
}

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
  name: "notebooks 04, 05 and 06 execute headless and produce their tables and charts (no error outputs)",
  ignore: skipWithout(import.meta.url, "jupyter-nbconvert", !ready),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-nb-" });
    try {
      const results = await fixtureResults(dir), reports = join(dir, "reports");
      const run = await new Deno.Command("bash", {
        args: [
          "tools/run_notebooks.sh",
          "notebooks/04_interpretability.ipynb",
          "notebooks/05_position_vs_magnitude.ipynb",
          "notebooks/06_bitrate.ipynb",
        ],
        env: { NAC_SAE_RESULTS: results, NAC_SAE_REPORTS: reports },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(run.stderr);
      assertEquals(run.code, 0, log);
      assert(log.includes("notebooks: 3 ok, 0 failed"), log);

      // Three task settings (synthetic: US vs UK, US vs Non-US-UK; fsdd: US vs Non-US-UK): Figs 2/3 + interval
      // charts for each in 04;
      // z_pos and z_mag charts for US vs UK + Fig 4 in 05. Tables: run summary, then 04: reference vs chance,
      // claim (1), codec differences; 05: Table 2, claim (2); 06: Table 3, claim (3), Table 1, EnCodec note.
      const expect = {
        "04_interpretability": { charts: 6, tables: 4 },
        "05_position_vs_magnitude": { charts: 3, tables: 3 },
        "06_bitrate": { charts: 0, tables: 4 },
      };
      for (const [name, want] of Object.entries(expect)) {
        const outs = await outputs(join(reports, `${name}.ipynb`));
        // Every code cell shows something: charts, tables or a note.
        const nb = JSON.parse(await Deno.readTextFile(join(reports, `${name}.ipynb`)));
        for (const c of nb.cells.filter((c: { cell_type: string }) => c.cell_type === "code")) {
          assert(c.outputs.length > 0, `${name}: a code cell without output: ${c.source}`);
        }
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
        const tables = outs.filter((o) => [o.data?.["text/html"] ?? ""].flat().join("").startsWith("<table"));
        assertEquals(tables.length, want.tables, name);
        // The HTML page keeps the SVG charts whole (nbconvert would otherwise strip their elements).
        const html = await Deno.readTextFile(join(reports, `${name}.html`));
        assertEquals(
          (html.match(/<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/g) ?? []).length,
          want.charts,
          name,
        );
        assert((html.match(/class="mark-line role-mark/g) ?? []).length >= want.charts, name);
        assertEquals((html.match(/<table class="nac-sae"/g) ?? []).length, want.tables, name);
      }
      const html = async (nb: string, marker: string) =>
        (await outputs(join(reports, nb))).map((o) => [o.data?.["text/html"] ?? ""].flat().join(""))
          .find((h) => h.includes(marker)) ?? "";
      const t2 = await html("05_position_vs_magnitude.ipynb", "Table 2");
      for (const cell of [">position<", ">magnitude<", ">q=2<", ">lyra-3.2kbps<", ">lyra-9.2kbps<"]) {
        assert(t2.includes(cell), `Table 2 lacks ${cell}`);
      }
      const t3 = await html("06_bitrate.ipynb", "Table 3");
      for (const cell of [">lyra-3.2kbps s=5%<", ">lyra-9.2kbps s=10%<", ">2<"]) {
        assert(t3.includes(cell), `Table 3 lacks ${cell}`);
      }
      assert((await html("06_bitrate.ipynb", "no EnCodec")).length > 0, "06: the EnCodec note");

      // Above, each kernel started in notebooks/ (Jupyter's default); the library resolves through deno.json's
      // import map (`nac-sae/` → ./lib/), so a kernel started in the project root runs them as well.
      const fromRoot = await new Deno.Command("bash", {
        args: ["tools/run_notebooks.sh", "--cwd", ".", "notebooks/03_probing.ipynb"],
        env: { NAC_SAE_RESULTS: results, NAC_SAE_REPORTS: join(dir, "reports-root") },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const rootLog = new TextDecoder().decode(fromRoot.stderr);
      assertEquals(fromRoot.code, 0, rootLog);
      assert(rootLog.includes("notebooks: 1 ok, 0 failed"), rootLog);
      const probing = await outputs(join(dir, "reports-root", "03_probing.ipynb"));
      assertEquals(probing.filter((o) => o.output_type === "error").map((o) => o.ename), []);
      assert(probing.some((o) => [o.data?.["text/html"] ?? ""].flat().join("").includes("<table")));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
