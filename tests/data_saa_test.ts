/**
 * Speech Accent Archive: the manifest from ../shared/data/saa (counts per label and task, named speakers'
 * labels, seeded reproducible splits, unknown birthplaces reported), the birthplace parser's hard cases and
 * the label table itself.
 */
import { assert, assertEquals, assertNotEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { sharedDir } from "../lib/cli/settings.ts";
import { parseCsvRecords } from "../lib/formats/csv.ts";
import { prepareDataset, SPLITS, TASK_IDS, taskApplies, TASKS, taskSplits } from "../lib/data/mod.ts";
import {
  accentTableMarkdown,
  labelSpeaker,
  parseBirthplace,
  SAA_ACCENT_TABLE,
} from "../lib/data/saa_labels.ts";
import { locateSaa, SAA_ARCHIVE_URL, SAA_METADATA_URL } from "../lib/data/saa_source.ts";
import { stratifiedSplit } from "../lib/data/split.ts";
import { NARROW_LABELS } from "../lib/data/taxonomy.ts";
import { skipWithout } from "./tools.ts";

const shared = sharedDir();
const saaDir = shared ? join(shared, "data", "saa") : undefined;
const tmp = await Deno.makeTempDir({ prefix: "nac-sae-saa-" });
addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

type Row = Record<string, string>;

function count(rows: Row[], key: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r[key]] = (out[r[key]] ?? 0) + 1;
  return out;
}

Deno.test({
  name: "SAA from ../shared: 616 utterances, counts per narrow label, per task class and excluded",
  ignore: skipWithout(import.meta.url, "../shared data", !saaDir),
  async fn() {
    const { manifest, report } = await prepareDataset("saa", {
      source: saaDir,
      out: join(tmp, "a"),
      quiet: true,
    });
    assertEquals(manifest.height, 616);
    const rows = manifest.toRecords() as Row[];
    assertEquals(new Set(rows.map((r) => r.speaker_id)).size, 616);
    assertEquals(count(rows, "accent_narrow"), {
      "North America": 240,
      "English": 49,
      "Scottish": 8,
      "Welsh": 4,
      "Northern Irish": 5,
      "Irish": 11,
      "Oceania": 22,
      "South African": 2,
      "South Asia": 2,
      "Southeast Asia": 2,
      "Other": 10,
      "Romance": 121,
      "Semitic": 46,
      "East Asia": 52,
      "Germanic": 21,
      "Slavic": 21,
    });
    // Per task: class 0 (US), class 1, and the recordings the task leaves out.
    const expected = { "us-vs-uk": [240, 66, 310], "us-vs-non-us-uk": [240, 299, 77] };
    for (const t of TASK_IDS) {
      const labels = rows.map((r) => TASKS[t].label(r.accent_narrow));
      assertEquals(
        [
          labels.filter((l) => l === 0).length,
          labels.filter((l) => l === 1).length,
          labels.filter((l) => l === null).length,
        ],
        expected[t],
        t,
      );
      assert(taskApplies(manifest, t), t);
      const s = taskSplits(manifest, t);
      for (const part of [s.train, s.val1, s.val2, s.test]) {
        assert(
          part.some((r) => r.label === 0) && part.some((r) => r.label === 1),
          `${t}: a split lacks a class`,
        );
      }
    }
    // 50 / 25 / 25 within ±1 per narrow label.
    const splits = count(rows, "split");
    assertEquals(splits.train + splits.validation + splits.test, 616);
    assert(Math.abs(splits.train - 308) <= 16 && Math.abs(splits.test - 154) <= 16, JSON.stringify(splits));
    assertStringIncludes(report!, "layout: GitHub mirror");
    assertStringIncludes(report!, "616 read, 616 labelled, 0 without a label");
    assertStringIncludes(report!, "8 kHz");
  },
});

Deno.test({
  name: "SAA: named speakers' labels, one per hard birthplace case",
  ignore: skipWithout(import.meta.url, "../shared data", !saaDir),
  async fn() {
    const { manifest } = await prepareDataset("saa", { source: saaDir, out: join(tmp, "b"), quiet: true });
    const byId = new Map((manifest.toRecords() as Row[]).map((r) => [r.speaker_id, r]));
    const cases: [string, string, string][] = [
      ["english14", "Northern Irish", "['belfast,', 'northern', 'ireland,', 'uk']"],
      ["english280", "English", "['ramsey,', 'isle', 'of', 'man'] (no UK named)"],
      ["english2", "English", "['birmingham,', 'uk'] (UK, no constituent country)"],
      ["english448", "Scottish", "['isle', 'of', 'arran,', 'scotland,', 'uk']"],
      ["english374", "Welsh", "['milford', 'haven,', 'wales,', 'uk']"],
      ["english156", "Irish", "['dublin,', 'ireland']"],
      ["english127", "North America", "['new', 'britain,', 'connecticut,', 'usa'] (not Britain)"],
      ["english238", "North America", "['vancouver,', 'british', '', 'columbia,', 'canada'] (empty item)"],
      ["english352", "Southeast Asia", "['singapore,', 'singapore']"],
      ["english239", "Other", "['fort', 'kobbe,', 'panama'] (native English born abroad)"],
      ["korean1", "East Asia", "no metadata: native language from the folder name"],
    ];
    for (const [id, narrow, why] of cases) {
      const r = byId.get(id);
      if (!r) throw new Error(`${id} not in the manifest`);
      assertEquals(r.accent_narrow, narrow, `${id}: ${why}`);
    }
    // Hard cases in the full metadata whose recordings are not in the ../shared subset.
    const meta = new Map(
      parseCsvRecords(await Deno.readTextFile(join(saaDir!, "bio_metadata.csv"))).records.map((
        r,
      ) => [r.language_num, r]),
    );
    const metaCases: [string, string, string][] = [
      ["english418", "North America", "['arlington,', 'virginia'] (a US state, no country)"],
      ["english298", "Oceania", "['lismore,', 'new', 'south', 'wales,', 'australia'] (not Wales)"],
      ["english112", "Other", "['st.', 'thomas,', 'us', 'virgin', 'islands'] (not the USA)"],
      ["english557", "Other", "['sharjah,', 'united', 'arab', 'emirates']"],
      ["mandarin7", "East Asia", "born in Berkeley, USA, L1 mandarin: labelled by native language"],
    ];
    for (const [id, narrow, why] of metaCases) {
      const r = meta.get(id)!;
      assertEquals(labelSpeaker(r.native_language, r.birth_place).narrow, narrow, `${id}: ${why}`);
    }
  },
});

Deno.test({
  name: "SAA: the same seed gives byte-identical manifests, another seed another split",
  ignore: skipWithout(import.meta.url, "../shared data", !saaDir),
  async fn() {
    const a = await prepareDataset("saa", { source: saaDir, out: join(tmp, "s1"), seed: 3, quiet: true });
    const b = await prepareDataset("saa", { source: saaDir, out: join(tmp, "s2"), seed: 3, quiet: true });
    const c = await prepareDataset("saa", { source: saaDir, out: join(tmp, "s3"), seed: 4, quiet: true });
    const text = async (p: string) => (await Deno.readTextFile(p)).replaceAll(saaDir!, "<saa>");
    assertEquals(await text(a.manifestPath), await text(b.manifestPath));
    assertNotEquals(await text(a.manifestPath), await text(c.manifestPath));
    // Another seed moves speakers but keeps each label's split sizes.
    const sizes = (m: typeof a.manifest) => count(m.toRecords() as Row[], "split");
    assertEquals(sizes(a.manifest), sizes(c.manifest));
  },
});

Deno.test({
  name: "SAA: an unknown birthplace or language in a copied metadata file is reported, not absorbed",
  ignore: skipWithout(import.meta.url, "../shared data", !saaDir),
  async fn() {
    const dir = join(tmp, "copy");
    await Deno.mkdir(dir);
    await Deno.symlink(join(saaDir!, "recordings"), join(dir, "recordings"));
    const meta = await Deno.readTextFile(join(saaDir!, "bio_metadata.csv"));
    const patched = meta
      .replace("\"['belfast,', 'northern', 'ireland,', 'uk']\"", "\"['atlantis']\"") // english14
      .replace(/(detail&speakerid=\d+,mandarin1,female,"[^"]*"),"mandarin\n\(cmn\)"/, '$1,"klingon"');
    assertNotEquals(patched, meta);
    await Deno.writeTextFile(join(dir, "bio_metadata.csv"), patched);
    const { manifest, report } = await prepareDataset("saa", {
      source: dir,
      out: join(tmp, "c"),
      quiet: true,
    });
    const ids = new Set((manifest.toRecords() as Row[]).map((r) => r.speaker_id));
    assertEquals(manifest.height, 614);
    assert(!ids.has("english14") && !ids.has("mandarin1"));
    assertStringIncludes(report!, "616 read, 614 labelled, 2 without a label");
    assertStringIncludes(report!, 'unknown birthplace "atlantis": 1 (english14)');
    assertStringIncludes(report!, 'unknown native language "klingon": 1 (mandarin1)');
  },
});

Deno.test("SAA birthplace parser: list-like and plain strings, UK nations, states without a country", () => {
  const cases: [string, string | null, boolean][] = [
    ["['belfast,', 'northern', 'ireland,', 'uk']", "northern ireland", false],
    ["belfast, northern ireland, uk", "northern ireland", false],
    ["['leeds,', 'uk']", "england", true],
    ["['arlington,', 'virginia']", "usa", true],
    ["['halifax,', 'nova', 'scotia']", "canada", true],
    ["['lismore,', 'new', 'south', 'wales,', 'australia']", "australia", false],
    ["['saint', \"anne's\", 'bay,', 'jamaica']", "jamaica", false],
    ["['st.', 'augustine,', 'trinidad']", "trinidad and tobago", false],
    ["['freeport,', 'the', 'bahamas']", "bahamas", false],
    ["pittsburgh, pennsylvania, usa", "usa", false],
    ["[]", null, false],
    ["", null, false],
  ];
  for (const [raw, country, inferred] of cases) {
    const bp = parseBirthplace(raw);
    assertEquals(bp.country, country, raw);
    assertEquals(bp.inferred !== undefined, inferred, raw);
  }
  assertEquals(parseBirthplace("['saint', \"anne's\", 'bay,', 'jamaica']").text, "saint anne's bay, jamaica");
  assertEquals(labelSpeaker("mandarin\n(cmn)", undefined).narrow, "East Asia");
  assertEquals(labelSpeaker("english", "['atlantis']"), {
    narrow: null,
    basis: "birthplace",
    key: "atlantis",
    birthplace: { text: "atlantis", country: "atlantis" },
  });
});

Deno.test("SAA label table: narrow labels from the taxonomy, each country and language once", () => {
  const seen = new Set<string>();
  for (const rule of SAA_ACCENT_TABLE) {
    assert(NARROW_LABELS.includes(rule.narrow), rule.narrow);
    for (
      const k of [
        ...rule.birthCountries.map((c) => `c:${c}`),
        ...rule.nativeLanguages.map((l) => `l:${l}`),
      ]
    ) {
      assert(!seen.has(k), `${k} listed twice`);
      seen.add(k);
    }
  }
  assertEquals(new Set(SAA_ACCENT_TABLE.map((r) => r.narrow)).size, NARROW_LABELS.length);
});

Deno.test("stratified split: midpoint rule per stratum, seeded, independent of input order", () => {
  const items = Array.from({ length: 40 }, (_, i) => ({ id: `s${i}`, stratum: i < 8 ? "small" : "big" }));
  const a = stratifiedSplit(items, 1);
  const b = stratifiedSplit([...items].reverse(), 1);
  assertEquals([...a].sort(), [...b].sort());
  for (const [stratum, n] of [["small", 8], ["big", 32]] as const) {
    const got = SPLITS.map((s) => items.filter((it) => it.stratum === stratum && a.get(it.id) === s).length);
    assertEquals(got, [n / 2, n / 4, n / 4], stratum);
  }
  assertNotEquals([...stratifiedSplit(items, 2)].sort(), [...a].sort());
});

Deno.test("SAA --offline: the error names the download URLs and NAC_SAE_DATA", async () => {
  const e = await assertRejects(() =>
    locateSaa({ cacheDir: join(tmp, "empty-cache"), offline: true, quiet: true })
  );
  for (const s of [SAA_ARCHIVE_URL, SAA_METADATA_URL, "NAC_SAE_DATA"]) {
    assertStringIncludes((e as Error).message, s);
  }
});

Deno.test("SAA label table: docs/data.md shows the same table as the code", async () => {
  const cells = (line: string) => line.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
  const want = accentTableMarkdown().split("\n").filter((l) => !l.includes("---")).map(cells);
  const readme = await Deno.readTextFile(new URL("../docs/data.md", import.meta.url));
  const start = readme.split("\n").findIndex((l) => l.trim().startsWith("| narrow label (broad)"));
  assert(start >= 0, "docs/data.md has no SAA label table");
  const got = readme.split("\n").slice(start).filter((l) => !l.includes("---"));
  assertEquals(got.slice(0, want.length).map(cells), want);
});
