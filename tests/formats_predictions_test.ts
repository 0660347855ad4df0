/** The predictions table: Parquet and CSV round trips keep ids as text, a null score stays null, bad rows are named. */
import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "node:path";
import {
  type PredictionRow,
  predictionsFrame,
  readPredictions,
  writePredictions,
} from "../lib/formats/predictions.ts";

const ROWS: PredictionRow[] = [
  {
    cell_key: "007",
    feature: "u",
    utterance_id: "0123",
    speaker_id: "0042",
    label: 1,
    score: -0.5,
    predicted: 0,
  },
  {
    cell_key: "h1",
    feature: "z_mag",
    utterance_id: "x",
    speaker_id: "s",
    label: 0,
    score: null,
    predicted: 0,
  },
];

Deno.test("predictions: written as Parquet and CSV, read back identical from either; none written → null", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(await readPredictions(dir), null);
    const files = await writePredictions(dir, ROWS);
    assertEquals(files, [join(dir, "predictions.parquet"), join(dir, "predictions.csv")]);
    assertEquals(await readPredictions(dir), ROWS);
    await Deno.remove(join(dir, "predictions.parquet"));
    assertEquals(await readPredictions(dir), ROWS); // CSV: "007" and "0042" stay text
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("predictions: a label or prediction other than 0/1, or a missing column, is an error naming row and column", async () => {
  assertThrows(
    () => predictionsFrame([{ ...ROWS[0], predicted: 2 }]),
    Error,
    "row 0 (007, u, 0123): predicted = 2",
  );
  const dir = await Deno.makeTempDir();
  try {
    const head = "cell_key,feature,utterance_id,speaker_id,label,score,predicted\n";
    await Deno.writeTextFile(join(dir, "predictions.csv"), `${head}a,u,x,s,2,0.1,1\n`);
    await assertRejects(() => readPredictions(dir), Error, "row 1 (a, u, x): label 2, predicted 1");
    await Deno.writeTextFile(join(dir, "predictions.csv"), "cell_key,feature,utterance_id,label\na,u,x,1\n");
    await assertRejects(() => readPredictions(dir), Error, "missing column(s) speaker_id, predicted");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
