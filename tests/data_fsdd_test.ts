/** FSDD: the manifest from ../shared (3000 rows, speaker-disjoint), the archive installer and offline errors. */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { sharedDir } from "../lib/cli/settings.ts";
import {
  FSDD_ARCHIVE_URL,
  installFsddArchive,
  locateFsdd,
  prepareDataset,
  taskApplies,
  taskSplits,
} from "../lib/data/mod.ts";
import { readTar } from "../lib/formats/tar.ts";
import { skipWithout } from "./tools.ts";

const shared = sharedDir();
const fsddDir = shared ? join(shared, "data", "fsdd") : undefined;
const tmp = await Deno.makeTempDir({ prefix: "nac-sae-fsdd-" });
addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

Deno.test({
  name:
    "FSDD from ../shared: 3000 utterances, 6 speakers, speaker-disjoint splits, only US vs Non-US-UK applies",
  ignore: skipWithout(import.meta.url, "../shared data", !fsddDir),
  async fn() {
    const { manifest, manifestPath } = await prepareDataset("fsdd", { source: fsddDir, out: join(tmp, "m") });
    assertEquals(manifestPath, join(tmp, "m", "manifest.csv"));
    assertEquals(manifest.height, 3000);
    const rows = manifest.toRecords() as Record<string, string>[];
    assertEquals(new Set(rows.map((r) => r.speaker_id)).size, 6);
    assertEquals(rows.filter((r) => r.accent_broad === "North America").length, 1000);
    const splitOf = new Map<string, Set<string>>();
    for (const r of rows) splitOf.set(r.speaker_id, (splitOf.get(r.speaker_id) ?? new Set()).add(r.split));
    for (const [s, splits] of splitOf) assertEquals(splits.size, 1, `speaker ${s} in ${[...splits]}`);
    assert(!taskApplies(manifest, "us-vs-uk"));
    assert(taskApplies(manifest, "us-vs-non-us-uk"));
    const t = taskSplits(manifest, "us-vs-non-us-uk");
    assertEquals([t.train.length, t.val1.length, t.val2.length, t.test.length], [1000, 500, 500, 1000]);
    for (const half of [t.val2, t.test]) {
      assertEquals(half.filter((r) => r.label === 0).length * 2, half.length); // one US + one German speaker
    }
    // --source may also name the folder holding fsdd/ (as NAC_SAE_DATA does).
    assertEquals(await locateFsdd({ source: join(shared!, "data") }), fsddDir);
  },
});

Deno.test("FSDD offline: the error names the upstream URL and the environment variable", async () => {
  const e = await assertRejects(() => locateFsdd({ cacheDir: join(tmp, "empty-cache"), offline: true }));
  assertStringIncludes(e.message, FSDD_ARCHIVE_URL);
  assertStringIncludes(e.message, "NAC_SAE_DATA");
  assertStringIncludes(e.message, join(tmp, "empty-cache", "fsdd"));
  await assertRejects(() => locateFsdd({ source: join(tmp, "nowhere") }), Error, "no FSDD recordings/");
  // Without a cache folder nothing can be downloaded: a clear error, before any network access.
  await assertRejects(() => locateFsdd({ quiet: true }), Error, "no cache folder given");
});

Deno.test({
  name: "FSDD archive: a GitHub-style .tar.gz installs after the content check; a tampered one is refused",
  ignore: skipWithout(import.meta.url, "../shared data", !fsddDir),
  async fn() {
    // Build the archive as GitHub lays it out: <repo>-<sha>/recordings/*.wav (+ other files).
    const tarPath = join(tmp, "fsdd.tar");
    const args = [
      "-cf",
      tarPath,
      "-C",
      join(shared!, "data"),
      "--transform",
      "s,^fsdd,free-spoken-digit-dataset-26eb9aa,",
      "fsdd/recordings",
      "fsdd/SOURCE.md",
    ];
    assert((await new Deno.Command("tar", { args }).output()).success);
    const tar = await Deno.readFile(tarPath);
    const gzip = async (b: Uint8Array) =>
      new Uint8Array(
        await new Response(
          new Blob([b as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip")),
        ).arrayBuffer(),
      );
    const dest = join(tmp, "installed", "fsdd");
    await installFsddArchive(await gzip(tar), dest, true);
    assertEquals([...Deno.readDirSync(join(dest, "recordings"))].length, 3000);

    // Flip one byte inside one recording: the content digest must catch it.
    const entry = readTar(tar).find((e) => e.path.endsWith("recordings/7_theo_3.wav"))!;
    const tampered = tar.slice();
    tampered[entry.data.byteOffset + 100] ^= 0xff;
    const dest2 = join(tmp, "installed2", "fsdd");
    await assertRejects(
      async () => installFsddArchive(await gzip(tampered), dest2, true),
      Error,
      "does not match",
    );
    assert(!(await Deno.stat(dest2).then(() => true, () => false)), "nothing left behind");
  },
});

Deno.test("tar reader: pax long names, ustar prefix, directories skipped", async () => {
  const src = join(tmp, "tarsrc");
  const long = "d".repeat(120);
  await Deno.mkdir(join(src, long), { recursive: true });
  await Deno.writeTextFile(join(src, long, "f.txt"), "hello");
  await Deno.writeTextFile(join(src, "g.txt"), "x".repeat(1000));
  const out = join(tmp, "t.tar");
  assert(
    (await new Deno.Command("tar", { args: ["--format=pax", "-cf", out, "-C", src, "."] }).output()).success,
  );
  const entries = readTar(await Deno.readFile(out));
  const byName = new Map(entries.map((e) => [e.path.replace(/^\.\//, ""), new TextDecoder().decode(e.data)]));
  assertEquals(byName.get(`${long}/f.txt`), "hello");
  assertEquals(byName.get("g.txt")?.length, 1000);
  assertEquals(entries.length, 2);
});
