/** Progress lines: durations that never show 60 seconds, and a rate that counts only the work done now. */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { formatDuration, Progress } from "../lib/common/progress.ts";

Deno.test("formatDuration: rounds once, so 119.6 s is 2m00s (not 1m60s)", () => {
  assertEquals(formatDuration(0.04), "0.0s");
  assertEquals(formatDuration(59.9), "59.9s");
  assertEquals(formatDuration(59.96), "1m00s");
  assertEquals(formatDuration(119.6), "2m00s");
  assertEquals(formatDuration(119.4), "1m59s");
  assertEquals(formatDuration(3599.6), "1h00m");
  assertEquals(formatDuration(3725), "1h02m");
  assertEquals(formatDuration(Infinity), "?");
  for (let s = 0; s < 7300; s += 0.7) assert(!/\D60s|\D60m/.test(formatDuration(s)), formatDuration(s));
});

Deno.test("Progress: cached items advance done/total but not the rate", async () => {
  const p = new Progress({ label: "grid cells", total: 10, unit: "cells", quiet: true });
  p.skip(8, "8 cached");
  assertMatch(p.line(), /^grid cells: 8\/10 \(80%\) 0\.00 cells\/s, elapsed [\d.]+s, ETA \?$/);
  await new Promise((r) => setTimeout(r, 50));
  p.tick(1);
  const rate = Number(p.line().match(/\) ([\d.]+) cells\/s/)![1]);
  assert(rate > 0 && rate < 100, `rate ${rate} counts only the one computed cell`);
  p.tick(1);
  assertMatch(p.line(), /10\/10 \(100%\).*ETA 0\.0s/);
});
