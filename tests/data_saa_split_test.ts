/** SAA's split settings: fractions per split, and test speakers pinned by the user. */
import { assertEquals, assertThrows } from "@std/assert";
import { saaSplit } from "../lib/data/saa.ts";
import { splitFlags } from "../lib/data/cli.ts";

const speakers = Array.from(
  { length: 40 },
  (_, i) => ({ id: `s${i}`, stratum: i % 2 ? "English" : "North America" }),
);
const count = (m: Map<string, string>, split: string) => [...m.values()].filter((v) => v === split).length;

Deno.test("saa split: the default fractions 0.5/0.25/0.25, and settable ones, per stratum", () => {
  const d = saaSplit(speakers, 0, {});
  assertEquals([count(d, "train"), count(d, "validation"), count(d, "test")], [20, 10, 10]);
  const f = saaSplit(speakers, 0, { fractions: { train: 0.6, validation: 0.2, test: 0.2 } });
  assertEquals([count(f, "train"), count(f, "validation"), count(f, "test")], [24, 8, 8]);
});

Deno.test("saa split: pinned test speakers are exactly the test split; the rest keep train:validation 2:1", () => {
  const pinned = ["s1", "s2", "s3 ", "s10"];
  const m = saaSplit(speakers, 0, { testSpeakers: pinned });
  assertEquals([...m].filter(([, v]) => v === "test").map(([k]) => k).sort(), ["s1", "s10", "s2", "s3"]);
  assertEquals([count(m, "train"), count(m, "validation")], [24, 12]);
  assertThrows(() => saaSplit(speakers, 0, { testSpeakers: ["s1", "nobody"] }), Error, "nobody");
});

Deno.test("data prepare: --split-fractions and --test-speakers are checked before any work", async () => {
  assertEquals(await splitFlags({ "split-fractions": "0.6,0.2,0.2" }, "saa"), {
    splitFractions: { train: 0.6, validation: 0.2, test: 0.2 },
  });
  assertEquals(await splitFlags({ "test-speakers": "a, b,c" }, "saa"), { testSpeakers: ["a", "b", "c"] });
  for (const bad of ["0.5,0.5", "0.5,0.5,0.5", "a,b,c", "-0.1,0.6,0.5"]) {
    const e = await splitFlags({ "split-fractions": bad }, "saa").then(() => null, (e: Error) => e);
    assertEquals(e?.message.startsWith("--split-fractions"), true, bad);
  }
  const e = await splitFlags({ "test-speakers": "a" }, "fsdd").then(() => null, (e: Error) => e);
  assertEquals(e?.message, "--test-speakers applies to saa only");
});
