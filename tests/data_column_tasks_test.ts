/** Tasks from any manifest column (e.g. sex from `gender`), validated before any work. */
import { assertEquals, assertThrows } from "@std/assert";
import pl from "nodejs-polars";
import { columnTask, columnTaskReport, taskSplits } from "../lib/data/tasks.ts";
import { validateConfig } from "../lib/experiment/config.ts";
import { planCells } from "../lib/experiment/plan.ts";

const sex = { name: "sex", column: "gender", positive: "female", negative: "male" };

function manifest() {
  const rows = [];
  for (
    const [i, split] of [
      "train",
      "train",
      "validation",
      "validation",
      "validation",
      "validation",
      "test",
      "test",
    ].entries()
  ) {
    for (const g of ["female", "male", ""]) {
      rows.push({
        utterance_id: `${split}${i}${g}`,
        path: `/x/${split}${i}${g}.wav`,
        dataset: "d",
        speaker_id: `${split}${i}${g}`,
        accent_narrow: "North America",
        accent_broad: "North America",
        split,
        gender: g,
      });
    }
  }
  return pl.DataFrame(rows);
}

Deno.test("column task: positive values are class 1, negative class 0, others left out and counted", () => {
  const spec = columnTask(sex);
  assertEquals(spec.classes, ["male", "female"]);
  assertEquals([spec.label("female"), spec.label(" male "), spec.label(""), spec.label("other")], [
    1,
    0,
    null,
    null,
  ]);
  const m = manifest();
  assertEquals(columnTaskReport(m, spec, "m.csv"), { leftOut: 8, values: ["female", "male"] });
  const s = taskSplits(m, spec);
  assertEquals(s.train.map((r) => r.label).sort(), [0, 0, 1, 1]);
  assertEquals(s.test.length, 4);
  assertEquals(s.val1.length + s.val2.length, 8);
  const multi = columnTask({ name: "grown", column: "gender", positive: ["female", "male"], negative: "" });
  assertEquals(multi.label("male"), 1);
});

Deno.test("column task: an unknown column or value is an error naming it and what the manifest has", () => {
  const m = manifest();
  assertThrows(
    () => columnTaskReport(m, columnTask({ ...sex, column: "sex" }), "m.csv"),
    Error,
    "column 'sex'",
  );
  assertThrows(
    () => columnTaskReport(m, columnTask({ ...sex, positive: "Female" }), "m.csv"),
    Error,
    "value \"Female\" (class 1) never occurs in column 'gender' (values: female, male)",
  );
  assertThrows(
    () => columnTask({ ...sex, negative: ["male", "female"] }),
    Error,
    "both positive and negative",
  );
});

Deno.test("run config: column tasks beside accent tasks; names unique; dataset tasks must name run tasks", () => {
  const base = { datasets: [{ name: "d", manifest: "m.csv" }], codecs: ["c"], outDir: "o" };
  const c = validateConfig({ ...base, tasks: ["us-vs-uk", sex], grid: { q: [2], s: [0.5] } });
  const cells = planCells(c, { supportedTasks: { d: ["us-vs-uk", "sex"] }, dCodec: { c: 64 } });
  assertEquals(cells.map((x) => x.task), ["us-vs-uk", "sex"]);
  assertThrows(() => validateConfig({ ...base, tasks: [sex, sex] }), Error, "'sex' appears twice");
  assertThrows(
    () => validateConfig({ ...base, tasks: [{ ...sex, name: "us-vs-uk" }] }),
    Error,
    "built-in task",
  );
  assertThrows(
    () =>
      validateConfig({ ...base, tasks: [sex], datasets: [{ name: "d", manifest: "m.csv", tasks: ["age"] }] }),
    Error,
    "'age' is not a task of the run",
  );
  assertThrows(() => validateConfig({ ...base, tasks: [{ name: "x", column: "g" }] }), Error, "positive");
});
