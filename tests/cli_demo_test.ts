/** The demo's stage banners: numbered, each closing with its own and the demo's elapsed time. */
import { assertEquals, assertMatch } from "@std/assert";
import { stageLog } from "../lib/cli/demo.ts";

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
