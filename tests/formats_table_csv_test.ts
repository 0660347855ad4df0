/**
 * Declared tables read from CSV keep their declared types: a column empty in its first rows (a multi-seed run's
 * per-row ΔF1 interval, filled only on single-seed frame-level rows further down) is not guessed as text.
 */
import { assertEquals } from "@std/assert";
import { join } from "node:path";
import pl from "nodejs-polars";
import type { Column } from "../lib/formats/results.ts";
import { readTableCsv, readTableFiles } from "../lib/formats/table_files.ts";

const TABLE: readonly Column[] = [
  { name: "task", type: "str", required: true },
  { name: "seed", type: "int", required: true },
  { name: "delta_f1_low", type: "float", nullable: true },
  { name: "ref_above_chance", type: "bool", nullable: true },
];

Deno.test("readTableCsv: a float column empty for its first 500 rows is read as numbers, not text", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nac-sae-table-csv-" });
  const lines = ["task,seed,delta_f1_low,ref_above_chance,extra"];
  for (let i = 0; i < 500; i++) lines.push(`us-vs-uk,${i % 3},,,x`);
  lines.push("us-vs-uk,0,0.0,true,y", "sex,0,-0.125,false,z");
  const file = join(dir, "t.csv");
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  const df = readTableCsv(file, TABLE);
  assertEquals(df.getColumn("delta_f1_low").dtype, pl.Float64);
  assertEquals(df.getColumn("delta_f1_low").toArray().slice(-2), [0, -0.125]);
  assertEquals(df.getColumn("ref_above_chance").toArray().slice(-2), [true, false]);
  assertEquals(df.getColumn("seed").dtype, pl.Int64);
  // An undeclared column is still read (inferred from the whole file).
  assertEquals(df.getColumn("extra").toArray().at(-1), "z");
  const read = await readTableFiles(join(dir, "t"), TABLE, "test table");
  assertEquals(read!.df.getColumn("delta_f1_low").toArray().at(-1), -0.125);
  await Deno.remove(dir, { recursive: true });
});
