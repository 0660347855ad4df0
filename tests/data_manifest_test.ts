/** Manifest reading, writing and validation: every rejected case names its rows. */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import pl from "nodejs-polars";
import { join } from "node:path";
import { ManifestError, type ManifestRow, readManifest, writeManifest } from "../lib/data/mod.ts";

const dir = await Deno.makeTempDir({ prefix: "nac-sae-manifest-" });
addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
await Deno.mkdir(join(dir, "audio"));
for (let i = 0; i < 6; i++) await Deno.writeFile(join(dir, "audio", `u${i}.wav`), Uint8Array.of(i, 0, 0, 0)); // distinct bytes: no duplicate content

function rows(): ManifestRow[] {
  const spk = ["a", "a", "b", "b", "c", "c"];
  const split = ["train", "train", "validation", "validation", "test", "test"];
  const narrow = ["North America", "North America", "English", "English", "Scottish", "Scottish"];
  const broad = [
    "North America",
    "North America",
    "British Isles",
    "British Isles",
    "British Isles",
    "British Isles",
  ];
  return spk.map((s, i) => ({
    utterance_id: `u${i}`,
    path: `audio/u${i}.wav`,
    dataset: "toy",
    speaker_id: s,
    accent_narrow: narrow[i],
    accent_broad: broad[i],
    split: split[i],
    note: `extra ${i}`,
  }));
}

function writeCsv(name: string, rs: Record<string, string | number>[]): string {
  const p = join(dir, name);
  pl.DataFrame(rs).writeCSV(p);
  return p;
}

async function problems(name: string, rs: Record<string, string | number>[]): Promise<string> {
  const p = writeCsv(name, rs);
  const e = await assertRejects(() => readManifest(p), ManifestError);
  assertStringIncludes(e.message, p);
  return e.message;
}

Deno.test("manifest: CSV and Parquet round trip; relative paths resolve against the manifest's folder", async () => {
  const p = join(dir, "ok.csv");
  await writeManifest(p, rows());
  const text = await Deno.readTextFile(p);
  assertStringIncludes(text, "audio/u0.wav"); // stored relative: the folder can move
  const df = await readManifest(p);
  assertEquals(df.height, 6);
  assertEquals(df.columns.slice(0, 7), [
    "utterance_id",
    "path",
    "dataset",
    "speaker_id",
    "accent_narrow",
    "accent_broad",
    "split",
  ]);
  assertEquals(df.getColumn("path").toArray()[0], join(dir, "audio", "u0.wav"));
  assertEquals(df.getColumn("note").toArray()[5], "extra 5");
  const pq = join(dir, "ok.parquet");
  pl.readCSV(p, { inferSchemaLength: 0 }).writeParquet(pq);
  assertEquals((await readManifest(pq)).toRecords(), df.toRecords());
});

Deno.test("manifest: missing files are rejected with their rows", async () => {
  const rs = rows();
  rs[3].path = "audio/gone.wav";
  const m = await problems("missing.csv", rs);
  assertStringIncludes(m, 'row 4 (utterance_id "u3"): file not found');
  assertStringIncludes(m, "gone.wav");
});

Deno.test("manifest: duplicate ids are rejected, naming both rows", async () => {
  const rs = rows();
  rs[4].utterance_id = "u1";
  assertStringIncludes(
    await problems("dup.csv", rs),
    'row 5 (utterance_id "u1"): duplicate utterance_id (first used on row 2)',
  );
});

Deno.test("manifest: unknown labels and splits, and broad labels that contradict the narrow one", async () => {
  const rs = rows();
  rs[0].accent_narrow = "Texan";
  rs[2].accent_narrow = "english";
  rs[4].accent_broad = "Other";
  rs[5].split = "dev";
  const m = await problems("labels.csv", rs);
  assertStringIncludes(m, 'row 1 (utterance_id "u0"): unknown accent_narrow "Texan" (known: ');
  assertStringIncludes(
    m,
    'row 3 (utterance_id "u2"): unknown accent_narrow "english" (did you mean "English"?)',
  );
  assertStringIncludes(
    m,
    'row 5 (utterance_id "u4"): accent_broad "Other" does not match accent_narrow "Scottish"',
  );
  assertStringIncludes(m, 'row 6 (utterance_id "u5"): unknown split "dev"');
  assertStringIncludes(m, "5 problems"); // the fifth: speaker "c" now spans test and "dev"
});

Deno.test("manifest: a speaker in two splits is rejected, naming the splits and rows", async () => {
  const rs = rows();
  rs[2].speaker_id = "a";
  assertStringIncludes(
    await problems("leak.csv", rs),
    'speaker "a" appears in more than one split: train (e.g. row 1), validation (e.g. row 3)',
  );
});

Deno.test("manifest: missing columns, empty cells, no rows, wrong extension, missing manifest", async () => {
  const noSplit = rows().map(({ split: _s, ...r }) => r);
  assertStringIncludes(
    await problems("cols.csv", noSplit as Record<string, string | number>[]),
    "missing column split",
  );
  const rs = rows();
  rs[1].speaker_id = "";
  assertStringIncludes(await problems("empty.csv", rs), 'row 2 (utterance_id "u1"): empty speaker_id');
  const header = join(dir, "header-only.csv");
  await Deno.writeTextFile(header, "utterance_id,path,dataset,speaker_id,accent_narrow,accent_broad,split\n");
  assertStringIncludes((await assertRejects(() => readManifest(header), ManifestError)).message, "no rows");
  await assertRejects(() => readManifest(join(dir, "m.tsv")), Error, "not found");
  const tsv = join(dir, "m.json");
  await Deno.writeTextFile(tsv, "{}");
  await assertRejects(() => readManifest(tsv), Error, "must be .csv or .parquet");
});

Deno.test("manifest: writeManifest validates before writing", async () => {
  const rs = rows();
  rs[0].split = "training";
  const p = join(dir, "never.csv");
  await assertRejects(() => writeManifest(p, rs), ManifestError, "unknown split");
  assert(!(await Deno.stat(p).then(() => true, () => false)));
});
