/** User manifests (Vox-Profile style CSV) and the `data prepare` / `data list` commands. */
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { basename, dirname, join } from "node:path";
import { encodeWav } from "../lib/audio/mod.ts";
import { commands } from "../lib/data/cli.ts";
import { ManifestError, prepareDataset } from "../lib/data/mod.ts";
import { defaultUserDir } from "../lib/data/user.ts";
import { settingsFromEnv } from "../lib/cli/settings.ts";

const tmp = await Deno.makeTempDir({ prefix: "nac-sae-user-" });
addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
await Deno.mkdir(join(tmp, "clips"));
const tone = encodeWav([Float32Array.from({ length: 1600 }, (_, i) => 0.3 * Math.sin(i / 5))], 16000);
const speakers = [
  ["us1", "North America", "train"],
  ["uk1", "English", "train"],
  ["us2", "North America", "validation"],
  ["sc2", "Scottish", "validation"],
  ["in2", "South Asia", "validation"],
  ["us3", "North America", "test"],
  ["wa3", "Welsh", "test"],
  ["ru3", "Slavic", "test"],
];
const lines = ["path,speaker_id,accent_narrow,split,gender"];
for (const [spk, accent, split] of speakers) {
  for (let i = 0; i < 4; i++) {
    // Distinct bytes per clip (the last sample differs): the same content in two splits would be leakage.
    const clip = tone.slice();
    clip[clip.length - 2] ^= lines.length;
    await Deno.writeFile(join(tmp, "clips", `${spk}_${i}.wav`), clip);
    lines.push(`clips/${spk}_${i}.wav,${spk},${accent},${split},f`);
  }
}
const csv = join(tmp, "myaccents.csv");
await Deno.writeTextFile(csv, lines.join("\n") + "\n");

Deno.test("user CSV → validated manifest with derived ids and broad labels; both tasks apply", async () => {
  const { manifest, manifestPath } = await prepareDataset(csv, { out: join(tmp, "out") });
  assertEquals(manifestPath, join(tmp, "out", "manifest.csv"));
  assertEquals(manifest.height, 32);
  const r = (manifest.toRecords() as Record<string, string>[])[0];
  assertEquals(r.utterance_id, "clips_us1_0");
  assertEquals(r.dataset, "myaccents");
  assertEquals(r.accent_broad, "North America");
  assertEquals(r.path, join(tmp, "clips", "us1_0.wav"));
  assertEquals(r.gender, "f");
});

Deno.test("user CSV errors name the CSV and rows: missing column, unknown label, missing file", async () => {
  const bad = join(tmp, "bad.csv");
  await Deno.writeTextFile(
    bad,
    "path,speaker,accent_narrow,split\nclips/us1_0.wav,us1,North America,train\n",
  );
  const e1 = await assertRejects(() => prepareDataset(bad, { out: join(tmp, "o1") }), ManifestError);
  assertStringIncludes(e1.message, `${bad}: invalid manifest`);
  assertStringIncludes(e1.message, "missing column speaker_id");
  await Deno.writeTextFile(
    bad,
    "path,speaker_id,accent_narrow,split\nclips/us1_0.wav,us1,Yankee,train\nclips/none.wav,us1,North America,train\n",
  );
  const e2 = await assertRejects(() => prepareDataset(bad, { out: join(tmp, "o2") }), ManifestError);
  assertStringIncludes(e2.message, 'row 1 (utterance_id "clips_us1_0"): unknown accent_narrow "Yankee"');
  assertStringIncludes(e2.message, 'row 2 (utterance_id "clips_none"): file not found');
});

Deno.test("data prepare user / data list: printed counts and the JSON summary", async () => {
  const prepare = commands.find((c) => c.name === "data prepare")!;
  const log = console.log;
  const printed: string[] = [];
  console.log = (...a: unknown[]) => printed.push(a.join(" "));
  const settings = settingsFromEnv({ NAC_SAE_CACHE: join(tmp, "cache") });
  try {
    const s = await prepare.run({ csv }, ["user"], settings) as Record<string, unknown>;
    // The cache folder is keyed by the CSV's path: another myaccents.csv elsewhere gets its own.
    const folder = basename(dirname(s.manifest_path as string));
    assertMatch(folder, /^user-myaccents-[0-9a-f]{10}$/);
    assertEquals(s.manifest_path, join(tmp, "cache", "datasets", folder, "manifest.csv"));
    const other = join(tmp, "elsewhere", "myaccents.csv");
    assertNotEquals(
      await defaultUserDir(other, { cacheDir: join(tmp, "cache") }),
      dirname(s.manifest_path as string),
    );
    assertEquals(s.n_utterances, 32);
    assertEquals(s.n_speakers, 8);
    assertEquals((s.counts as Record<string, Record<string, number>>).test, {
      "North America": 4,
      Welsh: 4,
      Slavic: 4,
    });
    const tasks = s.tasks as Record<
      string,
      { applies: boolean; splits: Record<string, { n0: number; n1: number }> }
    >;
    assert(tasks["us-vs-uk"].applies && tasks["us-vs-non-us-uk"].applies);
    assertEquals(tasks["us-vs-uk"].splits.test, { n: 8, n0: 4, n1: 4, speakers: 2, usShare: 0.5 } as never);
    const text = printed.join("\n");
    assertStringIncludes(text, "myaccents: 32 utterances, 8 speakers");
    assertStringIncludes(text, "task us-vs-uk (US vs UK; 0 = US, 1 = UK): applies");
    await assertRejects(() => prepare.run({}, ["user"], settings), Error, "--csv");
    await assertRejects(() => prepare.run({}, ["librispeech"], settings), Error, "unknown dataset");
    const list = commands.find((c) => c.name === "data list")!;
    const l = await list.run({}, [], settings) as { datasets: string[]; prepared: Record<string, unknown>[] };
    assertEquals(l.datasets, ["fsdd", "saa", "synthetic", "user"]);
    assertEquals(l.prepared, [{
      name: folder,
      manifest_path: s.manifest_path,
      n_utterances: 32,
      n_speakers: 8,
    }]);
  } finally {
    console.log = log;
  }
});
