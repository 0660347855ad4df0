/** The demo's stage banners, and the CLI's one-line description of the demo naming what its config runs. */
import { assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { demoConfig, stageLog } from "../lib/cli/demo.ts";
import { ENTRIES } from "../lib/cli/main.ts";

Deno.test("demo stage banners: [n/N] what …, then [n/N] done in T: result (demo elapsed T)", () => {
  const lines: string[] = [];
  const stage = stageLog(5, false, (l) => lines.push(l));
  stage.start("preparing data set saa");
  stage.done("616 utterances");
  stage.start("extracting u");
  stage.done("");
  assertEquals(lines[0], "[1/5] preparing data set saa …");
  assertMatch(lines[1], /^\[1\/5\] done in \d+\.\ds: 616 utterances \(demo elapsed \d+\.\ds\)$/);
  assertEquals(lines[2], "[2/5] extracting u …");
  assertMatch(lines[3], /^\[2\/5\] done in \d+\.\ds \(demo elapsed \d+\.\ds\)$/);
});

Deno.test("the CLI help's demo line names the demo config's data set and codecs", () => {
  const line = ENTRIES.find((e) => e.name === "demo")!.summary;
  const c = demoConfig("/tmp/demo-out");
  for (const name of [...c.datasets.map((d) => `(${d.name})`), ...c.codecs]) assertStringIncludes(line, name);
});
