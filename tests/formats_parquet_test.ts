/**
 * Parquet for other readers: the files the toolkit writes carry plain UTF-8 string columns (no Arrow
 * `string_view` from Polars's footer schema), read back identically by Polars and by pyarrow (a reader other
 * than the writer; where python3 has pyarrow).
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { join } from "node:path";
import pl from "nodejs-polars";
import { parquetBytes, parquetKeyValueMetadata, withoutArrowSchema } from "../lib/formats/parquet.ts";
import { toolAvailable } from "./tools.ts";

const ROWS = [
  { dataset: "saa", codec: "lyra-3.2kbps", feature: "z", f1: 0.8125, n: 3, ok: true, none: null },
  { dataset: "fsdd", codec: "encodec-6kbps", feature: "u", f1: -0.5, n: -7, ok: false, none: null },
  { dataset: "naïve ΔF1 ✓", codec: "", feature: "z_mag", f1: 1e-300, n: 0, ok: true, none: null },
];

function frame(): pl.DataFrame {
  return pl.DataFrame(ROWS).withColumns(pl.col("n").cast(pl.Int32));
}

Deno.test("parquet: Polars's ARROW:schema (string_view) is dropped; Polars reads the same values back", async () => {
  const raw = new Uint8Array(frame().writeParquet());
  assert("ARROW:schema" in parquetKeyValueMetadata(raw), "Polars writes its Arrow schema (the premise)");
  const bytes = parquetBytes(frame());
  assertEquals(parquetKeyValueMetadata(bytes), {});
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "t.parquet");
    await Deno.writeFile(path, bytes);
    const back = pl.readParquet(path);
    assertEquals(back.getColumn("dataset").dtype, pl.String);
    assertEquals(back.getColumn("n").dtype, pl.Int32);
    assertEquals(
      back.select("dataset", "codec", "feature", "f1", "n", "ok").toRecords(),
      ROWS.map(({ none: _, ...r }) => r),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assertThrows(
    () => withoutArrowSchema(new TextEncoder().encode("PAR1 not parquet")),
    Error,
    "not a Parquet",
  );
});

const hasPyarrow = await toolAvailable(import.meta.url, "python3 + pyarrow", "python3", [
  "-c",
  "import pyarrow",
]);

Deno.test({
  name: "parquet: pyarrow reads plain string columns and the same values",
  ignore: !hasPyarrow,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const path = join(dir, "t.parquet");
      await Deno.writeFile(path, parquetBytes(frame()));
      const py = await new Deno.Command("python3", {
        args: [
          "-c",
          `import json, sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
print(json.dumps({"types": {f.name: str(f.type) for f in t.schema}, "rows": t.to_pylist()}))`,
          path,
        ],
        stderr: "piped",
      }).output();
      assert(py.success, new TextDecoder().decode(py.stderr));
      const { types, rows } = JSON.parse(new TextDecoder().decode(py.stdout));
      assertEquals(types, {
        dataset: "string",
        codec: "string",
        feature: "string",
        f1: "double",
        n: "int32",
        ok: "bool",
        none: "null",
      });
      assertEquals(rows, ROWS);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
