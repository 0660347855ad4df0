/** The eSpeak-NG synthetic corpus: the plan (seeded, speaker-disjoint) and a small generated corpus. */
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { join } from "node:path";
import { decodeAudio } from "../lib/audio/mod.ts";
import { sha256File } from "../lib/common/hash.ts";
import { generateSynthetic, planSynthetic, readManifest, SENTENCES, taskApplies } from "../lib/data/mod.ts";
import { skipWithout } from "./tools.ts";

const tmp = await Deno.makeTempDir({ prefix: "nac-sae-synth-" });
addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

const hasEspeak = await new Deno.Command("espeak-ng", { args: ["--version"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success, () => false);

Deno.test("synthetic plan: seeded, sized as asked, speaker-disjoint, every split holds every broad accent", () => {
  assert(SENTENCES.length >= 50);
  assertEquals(new Set(SENTENCES).size, SENTENCES.length);
  const a = planSynthetic({ seed: 7, speakersPerAccent: 8, utterancesPerSpeaker: 5 });
  assertEquals(a, planSynthetic({ seed: 7, speakersPerAccent: 8, utterancesPerSpeaker: 5 }));
  assertNotEquals(a, planSynthetic({ seed: 8, speakersPerAccent: 8, utterancesPerSpeaker: 5 }));
  assertEquals(a.speakers.length, 24);
  assertEquals(a.utterances.length, 120);
  assertEquals(new Set(a.utterances.map((u) => u.utterance_id)).size, 120);
  for (const broad of ["North America", "British Isles", "Other"]) {
    const s = a.speakers.filter((x) => x.accent_broad === broad);
    assertEquals(s.filter((x) => x.split === "train").length, 4, broad);
    assertEquals(s.filter((x) => x.split === "validation").length, 2, broad);
    assertEquals(s.filter((x) => x.split === "test").length, 2, broad);
  }
  // Speakers are distinct voices: no two share voice, variant, pitch and rate.
  assertEquals(new Set(a.speakers.map((s) => `${s.voice}+${s.variant}/${s.pitch}/${s.rate}`)).size, 24);
});

Deno.test({
  name:
    "synthetic corpus: a small corpus generates 16 kHz WAVs and a valid manifest, byte-identical for a seed",
  ignore: skipWithout(import.meta.url, "espeak-ng", !hasEspeak),
  async fn() {
    const opts = { seed: 3, speakersPerAccent: 3, utterancesPerSpeaker: 2, quiet: true };
    const m1 = await generateSynthetic({ ...opts, out: join(tmp, "a") });
    const m2 = await generateSynthetic({ ...opts, out: join(tmp, "b") });
    const df = await readManifest(m1);
    assertEquals(df.height, 18);
    assert(taskApplies(df, "us-vs-uk"));
    assert(taskApplies(df, "us-vs-non-us-uk"));
    const rows = df.toRecords() as Record<string, string>[];
    for (const r of rows) {
      const other = join(tmp, "b", "wav", `${r.utterance_id}.wav`);
      assertEquals(await sha256File(r.path), await sha256File(other), r.utterance_id);
    }
    const audio = await decodeAudio(rows[0].path);
    assertEquals(audio.sampleRate, 16000);
    assertEquals(audio.channels.length, 1);
    assert(audio.channels[0].length > 16000 * 0.8, "at least most of a second of speech");
    assertEquals((await readManifest(m2)).height, 18);
    // A second call with the same plan reuses the corpus instead of regenerating it.
    const before = (await Deno.stat(rows[0].path)).mtime;
    await generateSynthetic({ ...opts, out: join(tmp, "a") });
    assertEquals((await Deno.stat(rows[0].path)).mtime, before);
  },
});
