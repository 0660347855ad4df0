/** The two accent tasks: labels, validation halves (even, disjoint, deterministic) and applicability. */
import { assert, assertEquals, assertLessOrEqual } from "@std/assert";
import { Rng } from "../lib/common/random.ts";
import {
  broadOf,
  manifestFrame,
  type ManifestRow,
  NARROW_LABELS,
  taskApplies,
  taskBalance,
  TASKS,
  taskSplits,
  validationHalves,
} from "../lib/data/mod.ts";

Deno.test("taxonomy: 16 narrow labels in three broad regions", () => {
  assertEquals(NARROW_LABELS.length, 16);
  const isles = NARROW_LABELS.filter((l) => broadOf(l) === "British Isles").sort();
  assertEquals(isles, ["English", "Irish", "Northern Irish", "Scottish", "Welsh"]);
  assertEquals(NARROW_LABELS.filter((l) => broadOf(l) === "North America"), ["North America"]);
});

Deno.test("task labels: US = 0; UK excludes Irish; Non-US-UK is everything outside NA and the British Isles", () => {
  const uk = TASKS["us-vs-uk"], other = TASKS["us-vs-non-us-uk"];
  for (const l of NARROW_LABELS) {
    const b = broadOf(l);
    assertEquals(
      uk.label(l),
      b === "North America" ? 0 : b === "British Isles" && l !== "Irish" ? 1 : null,
      l,
    );
    assertEquals(other.label(l), b === "North America" ? 0 : b === "Other" ? 1 : null, l);
  }
});

/** A manifest of `speakers` speakers per narrow label in `labels`, `per` utterances each, split round-robin. */
function toyManifest(labels: string[], speakers: number, per: number): ManifestRow[] {
  const splits = ["train", "validation", "test"];
  const rows: ManifestRow[] = [];
  for (const l of labels) {
    for (let s = 0; s < speakers; s++) {
      for (let u = 0; u < per; u++) {
        rows.push({
          utterance_id: `${l}-${s}-${u}`,
          path: `/x/${l}-${s}-${u}.wav`,
          dataset: "toy",
          speaker_id: `${l}-${s}`,
          accent_narrow: l,
          accent_broad: broadOf(l),
          split: splits[s % 3],
        });
      }
    }
  }
  return rows;
}

Deno.test("taskSplits: validation halves are even, disjoint, cover validation and do not depend on row order", () => {
  const rows = toyManifest(["North America", "English", "Irish", "Slavic", "South Asia"], 4, 7);
  const a = taskSplits(manifestFrame(rows), "us-vs-non-us-uk");
  const shuffled = new Rng(3).shuffle([...rows]) as ManifestRow[];
  const b = taskSplits(manifestFrame(shuffled), "us-vs-non-us-uk");
  assertEquals(a.val1, b.val1);
  assertEquals(a.val2, b.val2);
  const ids1 = new Set(a.val1.map((r) => r.utterance_id)), ids2 = new Set(a.val2.map((r) => r.utterance_id));
  assert([...ids1].every((id) => !ids2.has(id)), "halves overlap");
  const validation = rows.filter((r) =>
    r.split === "validation" && r.accent_narrow !== "English" && r.accent_narrow !== "Irish"
  );
  assertEquals(ids1.size + ids2.size, validation.length);
  assertLessOrEqual(Math.abs(a.val1.length - a.val2.length), 1);
  for (const label of [0, 1]) {
    const n1 = a.val1.filter((r) => r.label === label).length,
      n2 = a.val2.filter((r) => r.label === label).length;
    assertLessOrEqual(Math.abs(n1 - n2), 1, `class ${label}`);
  }
  // The UK task drops Slavic/South Asia, keeps English, and drops Irish.
  const uk = taskSplits(manifestFrame(rows), "us-vs-uk");
  const all = [...uk.train, ...uk.val1, ...uk.val2, ...uk.test];
  assert(
    all.every((r) => r.utterance_id.startsWith("North America") || r.utterance_id.startsWith("English")),
  );
  assertEquals(all.filter((r) => r.label === 1).length, 4 * 7);
  assertEquals(a.test.length, 3 * 7 + 0); // speaker index 2 of each of 3 kept labels is in test
});

Deno.test("validationHalves: odd class sizes still give halves within one of each other", () => {
  const rows = Array.from(
    { length: 7 },
    (_, i) => ({ utterance_id: `v${i}`, path: "", speaker_id: "s", label: (i < 3 ? 0 : 1) as 0 | 1 }),
  );
  const { val1, val2 } = validationHalves(rows);
  assertEquals(val1.length + val2.length, 7);
  assertLessOrEqual(Math.abs(val1.length - val2.length), 1);
  assertEquals(validationHalves([...rows].reverse()), { val1, val2 });
});

Deno.test("taskApplies and class balance: a task without UK speakers does not apply", () => {
  const df = manifestFrame(toyManifest(["North America", "Germanic"], 3, 4));
  assert(!taskApplies(df, "us-vs-uk"));
  assert(taskApplies(df, "us-vs-non-us-uk"));
  const b = taskBalance(df, "us-vs-non-us-uk");
  assertEquals(b.test, { n: 8, n0: 4, n1: 4, speakers: 2, usShare: 0.5 });
  assertEquals(b.val1.n + b.val2.n, 8);
});
