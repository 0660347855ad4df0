/**
 * Speech Accent Archive sources other than ../shared's FLAC mirror copy: the Kaggle/GMU layout (MP3 clips
 * made with sox + lame from ../shared recordings, and a speakers_all.csv in that layout), and the download
 * path (a tar.gz of mirror WAVs — sox writes them byte-identical to the mirror's, so the project's real
 * checksums apply — served by a file URL, and by a local HTTP server when the test may listen on 127.0.0.1).
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { sharedDir } from "../lib/cli/settings.ts";
import { exists } from "../lib/common/fs.ts";
import { decodeAudio } from "../lib/audio/mod.ts";
import { prepareDataset } from "../lib/data/mod.ts";
import { formatSaaReport, readSaaSource, saaRows } from "../lib/data/saa.ts";
import {
  downloadSaa,
  locateSaa,
  projectSaaChecksums,
  SAA_MIRROR_COMMIT,
  type SaaChecksum,
} from "../lib/data/saa_source.ts";
import { skipWithout } from "./tools.ts";

const shared = sharedDir();
const saaDir = shared ? join(shared, "data", "saa") : undefined;
const tmp = await Deno.makeTempDir({ prefix: "nac-sae-saa-src-" });
addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

async function run(cmd: string, args: string[], cwd?: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

const flac = (lang: string, n: number) =>
  join(saaDir!, "recordings", lang, `${lang}_${String(n).padStart(3, "0")}.flac`);

Deno.test({
  name:
    "SAA Kaggle/GMU layout: recordings/recordings/<language>N.mp3 + speakers_all.csv, labelled and reported",
  ignore: skipWithout(import.meta.url, "../shared data", !saaDir),
  async fn() {
    const dir = join(tmp, "kaggle");
    const rec = join(dir, "recordings", "recordings"); // as the Kaggle archive unpacks
    await Deno.mkdir(rec, { recursive: true });
    // filename → (source clip, speakers_all.csv fields)
    const speakers: [string, string, string, string, string][] = [
      ["english1", flac("english", 2), "pittsburgh, pennsylvania, usa", "english", "usa"],
      ["english2", flac("english", 3), "birmingham, uk", "english", "uk"],
      ["english3", flac("english", 14), "belfast, northern ireland, uk", "english", "uk"],
      ["english4", flac("english", 156), "dublin, ireland", "english", "ireland"],
      ["spanish1", flac("spanish", 1), "madrid, spain", "spanish", "spain"],
      ["mandarin1", flac("mandarin", 1), "beijing, china", "mandarin", "china"],
      ["klingon1", flac("arabic", 1), "qo'nos", "klingon", "qo'nos"],
    ];
    for (const [id, src] of speakers) {
      const wav = join(tmp, `${id}.wav`);
      await run("sox", [src, wav, "trim", "0", "2"]);
      await run("lame", ["--quiet", "-b", "32", wav, join(rec, `${id}.mp3`)]);
    }
    await Deno.writeFile(join(rec, "orphan1.mp3"), await Deno.readFile(join(rec, "english1.mp3")));
    const csv = [
      "age,age_onset,birthplace,filename,native_language,sex,speakerid,country,file_missing?,,,",
      ...speakers.map(([id, , bp, l1, country], i) =>
        `30,0,"${bp}",${id},${l1},female,${i + 1},${country},FALSE,,,`
      ),
      '41,12,"koussi, senegal",balanta1,balanta,male,788,senegal,TRUE,,,',
    ].join("\n") + "\n";
    await Deno.writeTextFile(join(dir, "speakers_all.csv"), csv);

    const source = await readSaaSource(dir);
    assertEquals(source.layout, "kaggle-gmu");
    const prepared = saaRows(source, 0);
    const narrow = Object.fromEntries(prepared.rows.map((r) => [r.speaker_id, r.accent_narrow]));
    assertEquals(narrow, {
      english1: "North America",
      english2: "English",
      english3: "Northern Irish",
      english4: "Irish",
      spanish1: "Romance",
      mandarin1: "East Asia",
    });
    const report = formatSaaReport(prepared);
    assertStringIncludes(report, "layout: Kaggle/GMU");
    assertStringIncludes(report, "7 read, 6 labelled, 1 without a label");
    assertStringIncludes(report, 'unknown native language "klingon": 1 (klingon1)');
    assertStringIncludes(report, "skipped: 1 listed with file_missing? = TRUE");
    assertStringIncludes(report, "skipped: 1 recording without a speakers_all.csv row");
    // Through the CLI's entry point, and the clips are real MP3 the audio stage decodes.
    const { manifest } = await prepareDataset("saa", {
      source: dir,
      out: join(tmp, "kaggle-m"),
      quiet: true,
    });
    assertEquals(manifest.height, 6);
    const audio = await decodeAudio(join(rec, "english1.mp3"));
    assert(audio.channels[0].length > 8000, "2 s of MP3 audio");
    // A speakers_all.csv row naming a missing file (without file_missing?) is an error naming the row.
    await Deno.writeTextFile(
      join(dir, "speakers_all.csv"),
      csv.replace("balanta1,balanta,male,788,senegal,TRUE", "balanta1,balanta,male,788,senegal,FALSE"),
    );
    const e = await assertRejects(() => readSaaSource(dir));
    assertStringIncludes((e as Error).message, "row 8: ");
    assertStringIncludes((e as Error).message, "balanta1.mp3 not found");
    // So is a filename listed twice.
    await Deno.writeTextFile(
      join(dir, "speakers_all.csv"),
      csv + '30,0,"york, uk",english2,english,male,99,uk,FALSE,,,\n',
    );
    const dup = await assertRejects(() => readSaaSource(dir));
    assertStringIncludes((dup as Error).message, "row 9: filename english2 already on row 2");
  },
});

const FIXTURE_FILES = [
  "recordings/english/english_002.wav",
  "recordings/arabic/arabic_001.wav",
  "recordings/korean/korean_001.wav",
];

/** A tar.gz laid out like GitHub's archive of the mirror, holding a few mirror WAVs (made from ../shared). */
async function mirrorArchive(name: string, tamper = false): Promise<string> {
  const top = `accent-classifier-${SAA_MIRROR_COMMIT}`;
  const root = join(tmp, `${name}-tree`);
  for (const f of FIXTURE_FILES) {
    const [, lang, file] = f.split("/");
    await Deno.mkdir(join(root, top, "recordings", lang), { recursive: true });
    const dest = join(root, top, f);
    await run("sox", [
      join(saaDir!, "recordings", lang, file.replace(".wav", ".flac")),
      "-b",
      "16",
      "-e",
      "signed",
      dest,
    ]);
  }
  if (tamper) {
    const p = join(root, top, FIXTURE_FILES[1]);
    const b = await Deno.readFile(p);
    b[1000] ^= 1;
    await Deno.writeFile(p, b);
  }
  await Deno.writeTextFile(join(root, top, "README.md"), "not a recording\n");
  const archive = join(tmp, `${name}.tar.gz`);
  await run("tar", ["-czf", archive, "-C", root, top]);
  return archive;
}

async function fixtureChecksums(): Promise<Map<string, SaaChecksum>> {
  const all = await projectSaaChecksums();
  assertEquals(all.size, 1166);
  return new Map(FIXTURE_FILES.map((f) => [f, all.get(f)!]));
}

async function checkDownloads(archiveUrl: (p: string) => string, label: string): Promise<void> {
  const metadataUrl = archiveUrl(join(saaDir!, "bio_metadata.csv"));
  const good = archiveUrl(await mirrorArchive(`${label}-good`));
  const checksums = await fixtureChecksums();
  // Through locateSaa: nothing in the data home or the cache, so it downloads into the cache.
  const where = { cacheDir: join(tmp, `${label}-cache`), dataHome: join(tmp, `${label}-no-data`) };
  {
    const dir = await locateSaa({ ...where, archiveUrl: good, metadataUrl, checksums, quiet: true });
    assertEquals(dir, join(tmp, `${label}-cache`, "saa"));
    for (const f of FIXTURE_FILES) assert(await exists(join(dir, f)), f);
    assert(!(await exists(join(dir, "README.md"))));
    const prepared = saaRows(await readSaaSource(dir), 0);
    assertEquals(prepared.rows.map((r) => `${r.speaker_id}:${r.accent_narrow}`).sort(), [
      "arabic1:Semitic",
      "english2:English",
      "korean1:East Asia",
    ]);
    assertStringIncludes(await Deno.readTextFile(join(dir, "SOURCE.md")), "CC BY-NC-SA 2.0");
    // Found in the cache the second time: no download (a URL that cannot work proves it).
    assertEquals(
      await locateSaa({ ...where, archiveUrl: "http://127.0.0.1:9/none", metadataUrl, quiet: true }),
      dir,
    );
  }
  // A file whose bytes differ from the list: an error naming it, and nothing left behind.
  const bad = archiveUrl(await mirrorArchive(`${label}-bad`, true));
  const dest = join(tmp, `${label}-bad-dest`, "saa");
  let e = await assertRejects(() =>
    downloadSaa(dest, { archiveUrl: bad, metadataUrl, checksums, quiet: true })
  );
  assertStringIncludes((e as Error).message, `${FIXTURE_FILES[1]} in ${bad}`);
  assertStringIncludes((e as Error).message, checksums.get(FIXTURE_FILES[1])!.sha256);
  assert(!(await exists(dest)));
  // The project's full list: the archive must hold every one of the 1166 recordings.
  e = await assertRejects(() => downloadSaa(dest, { archiveUrl: good, metadataUrl, quiet: true }));
  assertStringIncludes((e as Error).message, "1163 of 1166 listed recordings missing");
  assert(!(await exists(dest)));
}

Deno.test({
  name: "SAA download by file URL: streamed archive checked file by file against the project's sha256 list",
  ignore: skipWithout(import.meta.url, "../shared data", !saaDir),
  async fn() {
    await checkDownloads((p) => new URL(`file://${p}`).href, "file");
  },
});

const mayListen = (await Deno.permissions.query({ name: "net", host: "127.0.0.1" })).state === "granted";

Deno.test({
  name: "SAA download over HTTP from a local server (127.0.0.1), and a 404 named in the error",
  ignore: skipWithout(import.meta.url, "../shared data or --allow-net=127.0.0.1", !saaDir || !mayListen),
  async fn() {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      try {
        return new Response(await Deno.readFile(path));
      } catch {
        return new Response("not found", { status: 404 });
      }
    });
    const base = `http://127.0.0.1:${server.addr.port}`;
    try {
      await checkDownloads((p) => `${base}${p}`, "http");
      const e = await assertRejects(() =>
        downloadSaa(join(tmp, "404", "saa"), {
          archiveUrl: `${base}/missing.tar.gz`,
          metadataUrl: `${base}${join(saaDir!, "bio_metadata.csv")}`,
          quiet: true,
        })
      );
      assertStringIncludes((e as Error).message, `${base}/missing.tar.gz: HTTP 404`);
    } finally {
      await server.shutdown();
    }
  },
});
