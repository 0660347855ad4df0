/**
 * The layout a clone promises: data/ and results/ exist with a README each (contents git-ignored), VS Code
 * runs Deno for the project, and the notebooks use the Deno kernel and import the library through the import
 * map (`nac-sae/` → ./lib/), never by a path relative to the kernel's folder.
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import { projectRoot } from "../lib/common/assets.ts";
import { commandWorks, skipWithout } from "./tools.ts";

const root = projectRoot();
const inGit = await commandWorks("git", ["-C", root, "rev-parse", "--git-dir"]);

Deno.test({
  name: "layout: data/ and results/ hold a tracked README; their other contents are git-ignored",
  ignore: skipWithout(import.meta.url, "git (or a git checkout)", !inGit),
  fn: async () => {
    const git = (...args: string[]) =>
      new Deno.Command("git", { args: ["-C", root, ...args], stdout: "piped" }).output().then((o) => ({
        ok: o.success,
        out: new TextDecoder().decode(o.stdout),
      }));
    const tracked = (await git("ls-files", "data", "results")).out.trim().split("\n").sort();
    assertEquals(tracked, ["data/README.md", "results/README.md"]);
    for (const p of ["data/my_corpus.csv", "results/demo/results.parquet"]) {
      assert((await git("check-ignore", "-q", p)).ok, `${p} should be git-ignored`);
    }
  },
});

Deno.test("layout: VS Code enables Deno; notebooks use the Deno kernel and the nac-sae/ import map", async () => {
  const vscode = JSON.parse(await Deno.readTextFile(join(root, ".vscode", "settings.json")));
  assertEquals([vscode["deno.enable"], vscode["deno.config"]], [true, "./deno.json"]);
  const config = JSON.parse(await Deno.readTextFile(join(root, "deno.json")));
  assertEquals(config.imports["nac-sae/"], "./lib/");
  const notebooks = [...Deno.readDirSync(join(root, "notebooks"))].filter((e) => e.name.endsWith(".ipynb"));
  assert(notebooks.length >= 6);
  for (const e of notebooks) {
    const nb = JSON.parse(await Deno.readTextFile(join(root, "notebooks", e.name)));
    assertEquals(nb.metadata.kernelspec.name, "deno", e.name);
    const code = nb.cells.filter((c: { cell_type: string }) => c.cell_type === "code")
      .map((c: { source: string | string[] }) => [c.source].flat().join("")).join("\n");
    assert(!/from\s+["'](\.\.?\/)+lib\//.test(code), `${e.name} imports lib/ by a relative path`);
    assert(/from\s+"nac-sae\//.test(code), `${e.name} imports the library as nac-sae/...`);
  }
});
