import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  deltaF1Chart,
  deltaF1Charts,
  deltaF1Rows,
  deltaF1SeedChart,
  densityChart,
  meanInterval,
  orderCodecs,
  referenceChart,
  taskSettings,
  trainingCurvesChart,
  VEGA_LITE_SCHEMA,
} from "../lib/plots/mod.ts";
import pl from "nodejs-polars";
import { fixtureFrames } from "../testdata/results_fixture.ts";

const one = fixtureFrames();
const three = fixtureFrames({ seeds: [0, 1, 2] });

// deno-lint-ignore no-explicit-any
type Any = any;

Deno.test("Figs 2/3 spec: v5 schema, one panel per q, one line per codec, zero rule, tooltips", () => {
  const spec = deltaF1Chart(one.results, { task: "us-vs-uk" }) as Any;
  assertEquals(spec.$schema, "https://vega.github.io/schema/vega-lite/v5.json");
  assertEquals(VEGA_LITE_SCHEMA, spec.$schema);
  assertEquals(spec.facet.column.field, "q");
  const [line, points, rule] = spec.spec.layer;
  assertEquals(line.mark.type, "line");
  assertEquals(points.mark.type, "point");
  // Untrained SAEs are drawn as crosses; results without `sae_trained` say "not assessed".
  assertEquals(points.encoding.shape.field, "sae_fit");
  assertEquals(points.encoding.shape.scale, { domain: ["trained"], range: ["circle"] });
  assertEquals(spec.data.values[0].sae_fit, "trained");
  const partly = deltaF1Chart(fixtureFrames({ untrained: [[2, 0.05]] }).results, { task: "us-vs-uk" }) as Any;
  assertEquals(partly.spec.layer[1].encoding.shape.scale, {
    domain: ["trained", "untrained"],
    range: ["circle", "cross"],
  });
  const unassessed = deltaF1Chart(one.results.drop("sae_trained"), { task: "us-vs-uk" }) as Any;
  assertEquals(unassessed.data.values[0].sae_fit, "not assessed");
  // "not assessed" has its own shape: a legend must not show it as the same dot as "trained".
  assertEquals(unassessed.spec.layer[1].encoding.shape.scale, {
    domain: ["not assessed"],
    range: ["diamond"],
  });
  assertEquals(line.encoding.x.field, "s");
  assertEquals(line.encoding.y.field, "delta_f1_pct");
  assertEquals(line.encoding.color.field, "codec");
  assertEquals(line.encoding.color.scale.domain, ["lyra-3.2kbps", "lyra-6kbps", "lyra-9.2kbps"]);
  const tips = points.encoding.tooltip.map((t: Any) => t.field);
  for (const f of ["f1_pct", "f1_ref_pct", "k", "d_z", "delta_f1_pct"]) assert(tips.includes(f), f);
  assertEquals(rule.mark.type, "rule");
  assertEquals(rule.encoding.y.datum, 0);
  // 3 codecs × 4 q × 4 s rows, ΔF1 in % of the source rows.
  assertEquals(spec.data.values.length, 48);
  const src = one.results.toRecords().find((r: Any) =>
    r.task === "us-vs-uk" && r.codec === "lyra-6kbps" && r.q === 5 && r.s === 0.1 && r.feature === "z"
  ) as Any;
  const row = spec.data.values.find((r: Any) => r.codec === "lyra-6kbps" && r.q === 5 && r.s === 0.1);
  assertAlmostEquals(row.delta_f1_pct, src.delta_f1 * 100, 0.006);
  assertAlmostEquals(row.f1_ref_pct, src.f1_ref * 100, 0.006);
  assertEquals(row.k, Math.ceil(0.1 * 64));
  assertEquals(row.d_z, 5 * 64);
});

Deno.test("Figs 2/3: one figure per (task, dataset); ambiguous dataset and absent rows are errors", () => {
  assertEquals(taskSettings(one.results), [
    { task: "us-vs-uk", dataset: "synthetic" },
    { task: "us-vs-non-us-uk", dataset: "fsdd" },
    { task: "us-vs-non-us-uk", dataset: "synthetic" },
  ]);
  assertEquals(deltaF1Charts(one.results).length, 3);
  assertThrows(() => deltaF1Chart(one.results, { task: "us-vs-non-us-uk" }), Error, "pass { dataset }");
  assertThrows(() => deltaF1Chart(one.results, { task: "us-vs-uk", dataset: "fsdd" }), Error, "no rows");
  assertThrows(() => deltaF1Chart(one.density, { task: "us-vs-uk" }), Error, "missing column");
});

Deno.test("seed aggregation: mean and 95 % t interval over seeds; bootstrap interval for one seed", () => {
  const rows = deltaF1Rows(three.results, { task: "us-vs-uk", feature: "z_mag" });
  assertEquals(rows.length, 48);
  const r = rows.find((x) => x.codec === "lyra-3.2kbps" && x.q === 2 && x.s === 0.05)!;
  const vals = three.results.toRecords().filter((x: Any) =>
    x.task === "us-vs-uk" && x.codec === "lyra-3.2kbps" && x.q === 2 && x.s === 0.05 && x.feature === "z_mag"
  ).map((x: Any) => x.delta_f1 * 100);
  assertEquals(vals.length, 3);
  const mean = vals.reduce((a: number, b: number) => a + b) / 3;
  const sd = Math.sqrt(vals.reduce((a: number, b: number) => a + (b - mean) ** 2, 0) / 2);
  assertEquals(r.seeds, 3);
  assertAlmostEquals(r.delta_f1_pct as number, mean, 0.006);
  assertAlmostEquals(r.hi_pct as number, mean + 4.303 * sd / Math.sqrt(3), 0.006);
  assertEquals(r.interval, "t over seeds");
  const single = deltaF1Rows(one.results, { task: "us-vs-uk" })[0];
  assertEquals(single.interval, "bootstrap over test utterances");
  assertAlmostEquals((single.hi_pct as number) - (single.lo_pct as number), 6, 0.02);
  const spec = deltaF1SeedChart(three.results, { task: "us-vs-uk" }) as Any;
  assertEquals(spec.spec.layer.map((l: Any) => l.mark.type), ["area", "line", "point", "rule"]);
  // "over seeds" only when there are seeds; one seed names its bootstrap interval.
  const sub = (x: Any) => x.title.subtitle.join(" ");
  assert(spec.title.text.includes("over seeds") && sub(spec).includes("t-interval over seeds"));
  const oneSeed = deltaF1SeedChart(one.results, { task: "us-vs-uk" }) as Any;
  assert(!oneSeed.title.text.includes("over seeds") && oneSeed.title.text.includes("bootstrap"));
  // A cell whose SAE is untrained (any seed) is marked, and the subtitle counts them.
  const flagged = three.results.withColumns(pl.col("q").eq(2).not().alias("sae_trained"));
  const fs = deltaF1SeedChart(flagged, { task: "us-vs-uk" }) as Any;
  assertEquals(fs.data.values.filter((r: Any) => r.sae_fit === "untrained").length, 12);
  assert(sub(fs).includes("✕ = untrained SAE (12 of 48 points)"), sub(fs));
  assertEquals(meanInterval([2]).hi, 2);
  assertAlmostEquals(meanInterval([1, 3]).hi, 2 + 12.706205 * Math.SQRT2 / Math.SQRT2, 1e-6);
});

Deno.test("Fig 4 spec: 16 groups per codec at the chosen (q, s); panels per setting", () => {
  const spec = densityChart(one.density, { task: "us-vs-uk" }) as Any;
  assertEquals(spec.$schema, VEGA_LITE_SCHEMA);
  assertEquals(spec.data.values.length, 16 * 3);
  assertEquals(spec.encoding.x.field, "group");
  assertEquals(spec.encoding.color.field, "codec");
  assertEquals(spec.title.text.includes("q = 2, s = 0.05"), true);
  const all = densityChart(one.density, { q: 5, s: 0.25 }) as Any;
  assertEquals(all.facet.column.field, "setting");
  assertEquals(all.data.values.length, 16 * 3 * 3);
  assertThrows(() => densityChart(one.density, { q: 3 }), Error, "no rows for q=3");
});

Deno.test("Fig 4 spec with results: lines of untrained SAEs are dashed and named; trained ones solid", () => {
  const f = fixtureFrames({ untrained: [[2, 0.05]] });
  const spec = densityChart(f.density, { task: "us-vs-uk", results: f.results }) as Any;
  assertEquals(new Set(spec.data.values.map((v: Any) => v.sae_fit)), new Set(["untrained"]));
  assertEquals(spec.encoding.strokeDash.field, "sae_fit");
  assert(spec.title.subtitle[0].includes("dashed = untrained SAE (lyra-3.2kbps, lyra-6kbps, lyra-9.2kbps)"));
  const ok = densityChart(f.density, { q: 5, s: 0.25, task: "us-vs-uk", results: f.results }) as Any;
  assertEquals(new Set(ok.data.values.map((v: Any) => v.sae_fit)), new Set(["trained"]));
  assert(!ok.title.subtitle.join(" ").includes("untrained"));
  // Without results the chart cannot tell, and says nothing.
  assertEquals((densityChart(f.density, { task: "us-vs-uk" }) as Any).data.values[0].sae_fit, "not assessed");
});

Deno.test("training curves spec: x is the Adam step when the curves have steps (convergent schedule)", () => {
  const spec = trainingCurvesChart(one.curves, { task: "us-vs-uk" }) as Any;
  assertEquals(spec.spec.encoding.x.field, "step");
  assert(spec.title.text.includes("per Adam step"));
  const noSteps = trainingCurvesChart(one.curves.drop("step"), { task: "us-vs-uk" }) as Any;
  assertEquals(noSteps.spec.encoding.x.field, "epoch");
});

Deno.test("training curves spec: one panel per (q, s), train and validation lines", () => {
  const spec = trainingCurvesChart(one.curves, { task: "us-vs-uk" }) as Any;
  assertEquals(spec.facet.row.field, "q");
  assertEquals(spec.facet.column.field, "s");
  assertEquals(spec.data.values.length, 16 * 5 * 2);
  assertEquals(new Set(spec.data.values.map((v: Any) => v.split)), new Set(["train", "validation"]));
  assert(spec.title.subtitle.startsWith("lyra-3.2kbps · synthetic"));
});

Deno.test("codec order: family, then bitrate", () => {
  const rows = [
    { codec: "lyra-9.2kbps", codec_family: "lyra", bitrate_kbps: 9.2 },
    { codec: "encodec-6kbps", codec_family: "encodec", bitrate_kbps: 6 },
    { codec: "lyra-3.2kbps", codec_family: "lyra", bitrate_kbps: 3.2 },
    { codec: "dac", codec_family: "dac", bitrate_kbps: null },
    { codec: "encodec-1.5kbps", codec_family: "encodec", bitrate_kbps: 1.5 },
  ];
  assertEquals(orderCodecs(rows), [
    "dac",
    "encodec-1.5kbps",
    "encodec-6kbps",
    "lyra-3.2kbps",
    "lyra-9.2kbps",
  ]);
});

Deno.test("charts never read positive on invalid data: not-evidence settings grey and dashed, one-class probes marked, reference vs chance and majority", () => {
  const f = fixtureFrames({ seeds: [0, 1], weakTasks: ["us-vs-uk"], oneClass: ["z_mag"], speakers: 30 });
  const src = { results: f.results, predictions: f.predictionRows };
  const weak = deltaF1SeedChart(src, { task: "us-vs-uk", dataset: "synthetic" }) as Any;
  assert(weak.data.values.every((r: Any) => r.evidence === "not evidence"));
  // Intervals over test speakers × seeds, named in the subtitle.
  assert(
    weak.data.values[0].interval.startsWith(
      "bootstrap over 30 test speakers (paired) + Student t over 2 seeds",
    ),
  );
  assert(weak.title.text.includes("intervals over test speakers"), weak.title.text);
  const line = weak.spec.layer.find((l: Any) => l.mark.type === "line");
  assertEquals(line.encoding.color.condition.value, "#b0b0b0");
  assertEquals(line.encoding.strokeDash.scale.domain, ["evidence", "not evidence"]);
  assert(weak.title.subtitle.join(" ").includes("grey = not evidence"), weak.title.subtitle);
  const ok = deltaF1Chart(src, { task: "us-vs-non-us-uk", dataset: "synthetic" }) as Any;
  assert(ok.data.values.every((r: Any) => r.evidence === "evidence"));
  assertEquals(ok.spec.layer[0].encoding.strokeDash, undefined);
  // A legend shows only the SAE states present, each with its own shape.
  const pts = ok.spec.layer.find((l: Any) => l.mark.type === "point");
  assertEquals(pts.encoding.shape.scale, { domain: ["trained"], range: ["circle"] });
  const mag = deltaF1Chart(src, { task: "us-vs-non-us-uk", dataset: "synthetic", feature: "z_mag" }) as Any;
  assertEquals(mag.data.values.filter((r: Any) => r.one_class > 0).length, 48);
  assert(mag.spec.layer.some((l: Any) => l.mark.shape === "square" && l.mark.color === "#a40000"));
  const ref = referenceChart(src) as Any;
  assertEquals(ref.data.values.length, 9);
  const synthUk = ref.data.values.filter((v: Any) => v.setting === "synthetic · US vs UK");
  assert(synthUk.every((v: Any) => v.evidence === "not evidence" && typeof v.majority_pct === "number"));
  assertEquals(ref.spec.layer.map((l: Any) => l.mark.type), ["bar", "tick", "rule", "point"]);
});

Deno.test("Fig 4 with results: codecs whose task reference is not evidence are grey, with a legend saying so", () => {
  const f = fixtureFrames({ weakTasks: ["us-vs-uk"], speakers: 30 });
  const src = { results: f.results, predictions: f.predictionRows };
  const weak = densityChart(f.density, { task: "us-vs-uk", results: src }) as Any;
  assert(weak.data.values.every((v: Any) => v.evidence === "not evidence"));
  assertEquals(weak.encoding.opacity.scale.domain, ["evidence", "not evidence"]);
  assertEquals(weak.encoding.color.condition.value, "#b0b0b0");
  const ok = densityChart(f.density, { task: "us-vs-non-us-uk", dataset: "synthetic", results: src }) as Any;
  assertEquals(ok.encoding.opacity, undefined);
});
