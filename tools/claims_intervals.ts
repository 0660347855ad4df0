/**
 * The claims of results directories under the old seed-only interval and under the bootstrap over test
 * speakers × seeds, side by side, and which verdicts moved (printed; with --csv FILE also written).
 * Usage: deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys tools/claims_intervals.ts DIR… [--csv FILE]
 */
import { claimsIntervalComparison, loadResults } from "../lib/report/mod.ts";

const args = [...Deno.args];
const at = args.indexOf("--csv");
const csv = at >= 0 ? args.splice(at, 2)[1] : undefined;
if (args.length === 0) {
  console.error("usage: tools/claims_intervals.ts RESULTS_DIR… [--csv FILE]");
  Deno.exit(2);
}
const df = claimsIntervalComparison(await Promise.all(args.map((d) => loadResults(d))));
const iv = (lo: unknown, hi: unknown) =>
  typeof lo === "number" && typeof hi === "number" ? `[${lo.toFixed(2)}, ${hi.toFixed(2)}]` : "[—]";
for (const r of df.toRecords()) {
  console.log(
    `${r.claim} · ${r.task} · ${r.protocol} · ${r.codec}: D ${Number(r.d_pct).toFixed(2)} pp; seed-only ` +
      `${iv(r.seed_only_low_pct, r.seed_only_high_pct)} ${r.seed_only_verdict}; speakers × seeds ` +
      `${iv(r.speakers_low_pct, r.speakers_high_pct)} ${r.speakers_verdict}${
        r.moved ? `  MOVED (${r.moved})` : ""
      }`,
  );
}
const moved = df.getColumn("moved").toArray().filter((m) => m !== "").length;
console.log(`${moved} of ${df.height} verdicts moved`);
if (csv) await Deno.writeTextFile(csv, df.writeCSV().toString());
