/**
 * Progress lines: durations that never show 60 seconds, a rate that counts only the work done now, and an ETA
 * that leaves out the start-up and parallel bursts.
 */
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
  assertMatch(p.line(), /^grid cells: 8\/10 \(80%\) 0\.00 cells\/s, elapsed [\d.]+s, ETA estimating$/);
  await new Promise((r) => setTimeout(r, 50));
  p.tick(1);
  const rate = Number(p.line().match(/\) ([\d.]+) cells\/s/)![1]);
  assert(rate > 0 && rate < 100, `rate ${rate} counts only the one computed cell`);
  p.tick(1);
  assertMatch(p.line(), /10\/10 \(100%\).*ETA 0\.0s/);
});

Deno.test("Progress ETA: no guess until one item-time after the first finish; start-up not counted", () => {
  // 616 items, 2 in parallel, 4 s of start-up, then each worker takes 0.8 s per item: 2.5 items/s, ~4 min.
  let t = 0;
  const p = new Progress({ label: "extract", total: 616, unit: "utt", quiet: true, now: () => t });
  t = 4800;
  p.tick(1); // the first item: after 4 s start-up + 0.8 s (once the ETA said 616 × 4.8 s = 49 min)
  assertMatch(p.line(), /ETA estimating$/);
  t = 4810;
  p.tick(1); // its parallel twin, 10 ms later: no 1 ms-based guess either
  assertMatch(p.line(), /ETA estimating$/);
  for (let i = 0; i < 12; i++) {
    t += 400;
    p.tick(1);
  }
  // 13 items in 4.8 s since the first (the twin, then 2.5/s), 602 left: about 4 min (241 s), within 15 %.
  assertEquals(p.done, 14);
  const [, m, sec] = p.line().match(/elapsed 9\.6s, ETA (\d+)m(\d\d)s$/)!;
  const eta = Number(m) * 60 + Number(sec);
  assert(Math.abs(eta - 241) / 241 < 0.15, `ETA ${eta} s`);
});
