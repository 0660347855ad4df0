/**
 * Compares probe protocols side by side: the reference F1 on u (with its 95 % interval over test speakers
 * when the run saved predictions, and its width) against the label-permuted chance level and the majority-class
 * baseline, from several results directories (one per protocol), as a
 * Markdown table for BENCHMARKS.md / README.
 * Usage: deno run --allow-read --allow-env --allow-ffi --allow-sys tools/protocols_table.ts DIR [DIR…]
 */
import pl from "nodejs-polars";
import { loadResults, referenceValidity } from "../lib/report/mod.ts";

if (Deno.args.length === 0) {
  console.error("usage: tools/protocols_table.ts RESULTS_DIR [RESULTS_DIR…]");
  Deno.exit(2);
}
const frames = await Promise.all(
  // The bundle, not only its results: with predictions the interval is over test speakers.
  Deno.args.map(async (d) => referenceValidity(await loadResults(d))),
);
const rows = pl.concat(frames).toRecords();
const f = (v: unknown) => (typeof v === "number" ? v.toFixed(1) : "–");
console.log(
  "| dataset | task | codec | protocol | reference F1 (%) [95 % CI] | CI width (pp) | chance F1 (%) [2.5–97.5 %] | " +
    "majority class (%) | evidence |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  const width = typeof r.low_pct === "number" ? (r.high_pct as number) - (r.low_pct as number) : NaN;
  console.log(
    `| ${r.dataset} | ${r.task} | ${r.codec} | ${r.protocol} | ${f(r.f1_ref_pct)} [${f(r.low_pct)}, ${
      f(r.high_pct)
    }] | ${f(width)} | ${f(r.chance_pct)} [${f(r.chance_low_pct)}, ${f(r.chance_high_pct)}] | ${
      f(r.majority_pct)
    } | ${r.evidence} |`,
  );
}
