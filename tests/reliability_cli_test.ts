/**
 * Reliability through the CLI, as a researcher meets it: each kind of bad input (built here, see
 * tests/bad_inputs/) must end as a clear error (exit code, message naming the file/field and what is wrong,
 * before any long work), an explicit warning with counts, or a correct result. Never silent, never a
 * JavaScript internal. The README's reliability section lists these kinds.
 */
import { assert, assertEquals, assertLess, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import {
  cli,
  type CliResult,
  editSafetensorsHeader,
  FSDD,
  fsddCopies,
  labelsNpy,
  randomNpy,
  userCsv,
  withTempDir,
} from "./bad_inputs/mod.ts";
import { HAS_SPEECH } from "./bad_inputs/mod.ts";
import { skipWithout } from "./tools.ts";
const NO_SPEECH = skipWithout(import.meta.url, "../shared data (FSDD, Lyra weights)", !HAS_SPEECH);

/** An error: exit code, and every fragment in the message. */
function assertError(r: CliResult, code: number, ...fragments: string[]): void {
  assertEquals(r.code, code, `expected exit ${code}, got ${r.code}:\n${r.output}`);
  for (const f of fragments) assertStringIncludes(r.stderr, f);
  assert(
    !/TypeError|is not a function|is not iterable|Cannot convert|undefined or null/.test(r.stderr),
    r.stderr,
  );
}

const ROWS = 60;
const BIN = Array.from({ length: ROWS }, (_, i) => i % 2);

// ---------------------------------------------------------------------------------------------------------
// Probe labels (wrong results before: macro-F1 over three labels)

Deno.test("reliability/probe: train {1,2} with test {0,1} → error naming the test labels and values", async () => {
  await withTempDir(async (dir) => {
    const X = await randomNpy(join(dir, "X.npy"), ROWS, 4);
    const y12 = await labelsNpy(join(dir, "y12.npy"), BIN.map((v) => v + 1));
    const y01 = await labelsNpy(join(dir, "y01.npy"), BIN);
    const r = await cli(["probe", "--train", X, "--train-labels", y12, "--test", X, "--test-labels", y01]);
    assertError(r, 1, y01, "labels {0, 1} do not match the training classes {1, 2}", "0 (30 rows)");
  });
});

Deno.test("reliability/probe: train {-1,1} with test {0,1} → error; a test label never seen → error", async () => {
  await withTempDir(async (dir) => {
    const X = await randomNpy(join(dir, "X.npy"), ROWS, 4);
    const ypm = await labelsNpy(join(dir, "ypm.npy"), BIN.map((v) => 2 * v - 1));
    const y01 = await labelsNpy(join(dir, "y01.npy"), BIN);
    const y012 = await labelsNpy(join(dir, "y012.npy"), BIN.map((v, i) => (i === 5 ? 2 : v)));
    assertError(
      await cli(["probe", "--train", X, "--train-labels", ypm, "--test", X, "--test-labels", y01]),
      1,
      "training classes {-1, 1}",
    );
    assertError(
      await cli(["probe", "--train", X, "--train-labels", y01, "--test", X, "--test-labels", y012]),
      1,
      y012,
      "never seen in training: 2 (1 row)",
    );
  });
});

Deno.test("reliability/probe: three training classes → error; empty training set → error saying so", async () => {
  await withTempDir(async (dir) => {
    const X = await randomNpy(join(dir, "X.npy"), ROWS, 4);
    const y3 = await labelsNpy(join(dir, "y3.npy"), BIN.map((v, i) => (i % 3 === 0 ? 2 : v)));
    const y01 = await labelsNpy(join(dir, "y01.npy"), BIN);
    assertError(
      await cli(["probe", "--train", X, "--train-labels", y3, "--test", X, "--test-labels", y01]),
      1,
      y3,
      "3 classes (0, 1, 2); the probe is binary",
    );
    const X0 = await randomNpy(join(dir, "X0.npy"), 0, 4);
    const y0 = await labelsNpy(join(dir, "y0.npy"), []);
    assertError(
      await cli(["probe", "--train", X0, "--train-labels", y0, "--test", X, "--test-labels", y01]),
      1,
      X0,
      "no rows (the training set is empty)",
    );
  });
});

Deno.test("reliability/probe: a one-class test set → correct result with an explicit warning", async () => {
  await withTempDir(async (dir) => {
    const X = await randomNpy(join(dir, "X.npy"), ROWS, 4);
    const y01 = await labelsNpy(join(dir, "y01.npy"), BIN);
    const Xt = await randomNpy(join(dir, "Xt.npy"), 10, 4, 7);
    const yt = await labelsNpy(join(dir, "yt.npy"), Array(10).fill(1));
    const r = await cli(["probe", "--train", X, "--train-labels", y01, "--test", Xt, "--test-labels", yt]);
    assertEquals(r.code, 0, r.output);
    assertStringIncludes(r.stderr, "warning: ");
    assertStringIncludes(r.stderr, "all 10 test rows are class 1");
  });
});

// ---------------------------------------------------------------------------------------------------------
// SAE: degenerate inputs, outputs checked before work, the one safetensors reader

Deno.test("reliability/sae: 1-row and constant feature matrices → error naming the file", async () => {
  await withTempDir(async (dir) => {
    const one = await randomNpy(join(dir, "one.npy"), 1, 16);
    assertError(
      await cli([
        "sae",
        "train",
        "--features",
        one,
        "--q",
        "2",
        "--s",
        "0.5",
        "--epochs",
        "2",
        "--out",
        join(dir, "a"),
      ]),
      1,
      one,
      "1 row; training an SAE needs at least 2 rows",
    );
    const { writeNpy } = await import("../lib/formats/npy.ts");
    const constant = join(dir, "const.npy");
    await writeNpy(constant, new Float32Array(32 * 8).fill(0.25), [32, 8]);
    assertError(
      await cli(["sae", "train", "--features", constant, "--q", "2", "--s", "0.5", "--out", join(dir, "b")]),
      1,
      constant,
      "all 32 rows are identical",
    );
  });
});

Deno.test("reliability/sae: --out naming a file is refused before training (seconds, not the run)", async () => {
  await withTempDir(async (dir) => {
    const X = await randomNpy(join(dir, "big.npy"), 4096, 64);
    const file = join(dir, "afile");
    await Deno.writeTextFile(file, "");
    const t = performance.now();
    const r = await cli([
      "sae",
      "train",
      "--features",
      X,
      "--q",
      "20",
      "--s",
      "0.5",
      "--epochs",
      "3000",
      "--out",
      file,
    ]);
    assertError(r, 1, `--out ${file}: exists and is not a directory`);
    assertLess(performance.now() - t, 20_000);
    // Under a file: nothing can be created there.
    assertError(
      await cli(["sae", "encode", "--checkpoint", dir, "--features", X, "--out", join(file, "z.npy")]),
      1,
      `${file} is a file, so nothing can be created under it`,
    );
  });
});

Deno.test("reliability/sae: a checkpoint with overlapping safetensors offsets is refused by name", async () => {
  await withTempDir(async (dir) => {
    const X = await randomNpy(join(dir, "X.npy"), ROWS, 4);
    const ck = join(dir, "sae");
    const trained = await cli([
      "sae",
      "train",
      "--features",
      X,
      "--q",
      "2",
      "--s",
      "0.5",
      "--epochs",
      "2",
      "--out",
      ck,
    ]);
    assertEquals(trained.code, 0, trained.output);
    const model = join(ck, "model.safetensors");
    await editSafetensorsHeader(model, (h) => {
      const names = Object.keys(h).filter((k) => k !== "__metadata__");
      const [a, b] = names.map((n) => h[n] as { data_offsets: number[] });
      const len = b.data_offsets[1] - b.data_offsets[0];
      b.data_offsets = [a.data_offsets[0], a.data_offsets[0] + len];
      return h;
    });
    assertError(
      await cli(["sae", "encode", "--checkpoint", ck, "--features", X, "--out", join(dir, "z.npy")]),
      1,
      model,
      "invalid safetensors file",
    );
    await editSafetensorsHeader(model, () => null);
    assertError(
      await cli(["sae", "encode", "--checkpoint", ck, "--features", X, "--out", join(dir, "z.npy")]),
      1,
      model,
      "header must be a JSON object, got null",
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// One set of numeric limits, checked the same way for flags and config

Deno.test("reliability/limits: --workers 0 / abc / 1000 are errors for grid and extract alike", async () => {
  await withTempDir(async (dir) => {
    const config = join(dir, "c.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({ datasets: [{ name: "fsdd" }], codecs: ["lyra-3.2kbps"], outDir: "out" }),
    );
    for (
      const [w, msg] of [
        ["0", "must be an integer in 1..64, got 0"],
        ["abc", 'must be a number, got "abc"'],
        [
          "1000",
          "must be an integer in 1..64, got 1000",
        ],
      ]
    ) {
      assertError(
        await cli(["grid", "--config", config, "--dry-run", "--workers", w]),
        2,
        `--workers ${msg}`,
      );
      assertError(
        await cli(["extract", "--codec", "lyra-3.2kbps", "--manifest", join(dir, "m.csv"), "--workers", w]),
        2,
        `--workers ${msg}`,
      );
    }
    // The config's field has the same limit, named by path.
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        datasets: [{ name: "fsdd" }],
        codecs: ["lyra-3.2kbps"],
        outDir: "out",
        workers: 1000,
      }),
    );
    assertError(
      await cli(["grid", "--config", config, "--dry-run"]),
      1,
      config,
      "workers: must be an integer in 1..64",
    );
  });
});

Deno.test("reliability/limits: q = 0.5 is accepted by sae train and the grid alike; s ≥ q refused by both", async () => {
  await withTempDir(async (dir) => {
    const X = await randomNpy(join(dir, "X.npy"), ROWS, 8);
    const ok = await cli([
      "sae",
      "train",
      "--features",
      X,
      "--q",
      "0.5",
      "--s",
      "0.25",
      "--epochs",
      "1",
      "--out",
      join(dir, "s"),
    ]);
    assertEquals(ok.code, 0, ok.output);
    assertError(
      await cli([
        "sae",
        "train",
        "--features",
        X,
        "--q",
        "0.5",
        "--s",
        "0.5",
        "--epochs",
        "1",
        "--out",
        join(dir, "t"),
      ]),
      1,
      "must be smaller than d_z",
    );
    const { validateConfig } = await import("../lib/experiment/config.ts");
    const base = { datasets: [{ name: "fsdd" }], codecs: ["lyra-3.2kbps"], outDir: "out" };
    assertEquals(validateConfig({ ...base, grid: { q: [0.5], s: [0.25] } }).grid.q, [0.5]);
    let message = "";
    try {
      validateConfig({ ...base, grid: { q: [0.5], s: [0.5] } }, "c.json");
    } catch (e) {
      message = (e as Error).message;
    }
    assertStringIncludes(message, "c.json: invalid run config: grid: s = 0.5 with q = 0.5 gives k ≥ d_z");
  });
});

// ---------------------------------------------------------------------------------------------------------
// Run configs: every level validated, paths named

Deno.test("reliability/config: nested typos, both epoch rules, wrong types → exit 1 naming file and path", async () => {
  await withTempDir(async (dir) => {
    const base = { datasets: [{ name: "fsdd" }], codecs: ["lyra-3.2kbps"], outDir: "out" };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, sae: { learning_rate: 0.5 } }, "sae.learning_rate: unknown key; did you mean lr?"],
      [{ ...base, probe: { c: 1 } }, "probe.c: unknown key; did you mean C?"],
      [
        { ...base, datasets: [{ name: "x", manfest: "m.csv" }] },
        "datasets[0].manfest: unknown key; did you mean manifest?",
      ],
      [
        { ...base, epochs: { fixed: 3, paperScaled: 0.5 } },
        "epochs: give exactly one of convergent, fixed, paperScaled",
      ],
      [{ ...base, tasks: "us-vs-uk" }, 'tasks: must be an array, got "us-vs-uk"'],
      [{ ...base, grid: { q: ["2"] } }, 'grid.q[0]: must be a number in (0, 1024], got "2"'],
    ];
    for (const [i, [config, message]] of cases.entries()) {
      const path = join(dir, `c${i}.json`);
      await Deno.writeTextFile(path, JSON.stringify(config));
      assertError(
        await cli(["grid", "--config", path, "--dry-run"]),
        1,
        `${path}: invalid run config: ${message}`,
      );
    }
  });
});

Deno.test("reliability/grid: a second grid on the same outDir waits, saying so", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "out");
    await Deno.mkdir(out);
    // The first grid: a process holding the outDir's lock.
    const holder = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const f = Deno.openSync(${JSON.stringify(join(out, "grid.lock"))}, {write: true, create: true});
        f.lockSync(true); Deno.writeTextFileSync(${JSON.stringify(join(out, "grid.lock"))}, '{"pid": 4242}');
        console.log("locked"); setTimeout(() => {}, 60000);`,
      ],
      stdout: "piped",
    }).spawn();
    const reader = holder.stdout.getReader();
    await reader.read();
    const config = join(dir, "c.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        datasets: [{ name: "x", manifest: "none.csv" }],
        codecs: ["lyra-3.2kbps"],
        outDir: out,
      }),
    );
    const root = new URL("..", import.meta.url).pathname;
    const second = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-ffi",
        "--allow-sys",
        join(root, "lib/cli/main.ts"),
        "grid",
        "--config",
        config,
      ],
      stderr: "piped",
      stdout: "null",
    }).spawn();
    let text = "";
    const decoder = new TextDecoder();
    const errReader = second.stderr.getReader();
    const deadline = Date.now() + 30_000;
    while (!text.includes("waiting for it to finish") && Date.now() < deadline) {
      const { value, done } = await errReader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    second.kill("SIGKILL");
    await second.status;
    errReader.releaseLock();
    await second.stderr.cancel().catch(() => {});
    holder.kill("SIGKILL");
    await holder.status;
    reader.releaseLock();
    await holder.stdout.cancel().catch(() => {});
    assertStringIncludes(
      text,
      `${out}: another grid (pid 4242) is using this directory; waiting for it to finish`,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Data: leakage, duplicates, directories, CSV problems

Deno.test(
  "reliability/data: the same audio in two splits is refused (named rows); --allow-duplicate-audio accepts it",
  { ignore: NO_SPEECH },
  async () => {
    await withTempDir(async (dir) => {
      await fsddCopies(dir, [
        ["1_jackson_1.wav", "b.wav"],
        ["1_jackson_1.wav", "b_copy.wav"],
        ["2_lucas_0.wav", "c.wav"],
        ["3_lucas_1.wav", "d.wav"],
      ]);
      const csv = await userCsv(join(dir, "leak.csv"), [
        ["b.wav", "s2", "North America", "train"],
        ["b_copy.wav", "s9", "North America", "test"],
        ["c.wav", "s3", "Germanic", "train"],
        ["d.wav", "s4", "Germanic", "test"],
      ]);
      assertError(
        await cli(["data", "prepare", "user", "--csv", csv, "--out", join(dir, "m")]),
        1,
        csv,
        "same audio content",
        'row 1 (utterance_id "b") [train], row 2 (utterance_id "b_copy") [test]',
      );
      const allowed = await cli([
        "data",
        "prepare",
        "user",
        "--csv",
        csv,
        "--out",
        join(dir, "m"),
        "--allow-duplicate-audio",
      ]);
      assertEquals(allowed.code, 0, allowed.output);
    });
  },
);

Deno.test(
  "reliability/data: duplicates within a split and a file repeated many times → counted in the summary",
  { ignore: NO_SPEECH },
  async () => {
    await withTempDir(async (dir) => {
      await fsddCopies(dir, [["0_jackson_0.wav", "a.wav"], ["2_lucas_0.wav", "c.wav"], [
        "3_lucas_1.wav",
        "d.wav",
      ]]);
      const rows: [string, string, string, string][] = [];
      for (let i = 0; i < 500; i++) rows.push(["a.wav", "s1", "North America", "train"]);
      rows.push(["c.wav", "s3", "Germanic", "train"], ["d.wav", "s4", "Germanic", "test"]);
      // Distinct ids for the repeated rows.
      const lines = [
        "utterance_id,path,speaker_id,accent_narrow,split",
        ...rows.map((r, i) => [`u${i}`, ...r].join(",")),
      ];
      const csv = join(dir, "rep.csv");
      await Deno.writeTextFile(csv, lines.join("\n") + "\n");
      const r = await cli(["data", "prepare", "user", "--csv", csv, "--out", join(dir, "m"), "--json"]);
      assertEquals(r.code, 0, r.output);
      assertStringIncludes(
        r.stdout,
        "warning: duplicate audio within a split (same bytes as an earlier row): train 499",
      );
      const summary = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
      assertEquals(summary.duplicate_audio, { train: 499 });
    });
  },
);

Deno.test(
  "reliability/data: a directory as an audio path → error naming the row",
  { ignore: NO_SPEECH },
  async () => {
    await withTempDir(async (dir) => {
      await fsddCopies(dir, [["2_lucas_0.wav", "c.wav"]]);
      await Deno.mkdir(join(dir, "folder.wav"));
      const csv = await userCsv(join(dir, "d.csv"), [
        ["folder.wav", "s1", "North America", "train"],
        ["c.wav", "s3", "Germanic", "test"],
      ]);
      assertError(
        await cli(["data", "prepare", "user", "--csv", csv, "--out", join(dir, "m")]),
        1,
        csv,
        'row 1 (utterance_id "folder"): not a regular file',
      );
    });
  },
);

Deno.test("reliability/data: header-only and malformed CSVs → our message naming the file (and line)", async () => {
  await withTempDir(async (dir) => {
    const header = join(dir, "h.csv");
    await Deno.writeTextFile(header, "path,speaker_id,accent_narrow,split\n");
    assertError(
      await cli(["data", "prepare", "user", "--csv", header]),
      1,
      header,
      "no rows (only the header)",
    );
    const quote = join(dir, "q.csv");
    await Deno.writeTextFile(quote, 'path,speaker_id,accent_narrow,split\na.wav,s1,"North America,train\n');
    const rq = await cli(["data", "prepare", "user", "--csv", quote]);
    assertError(rq, 1, quote, "malformed CSV: unterminated quoted field");
    assert(!rq.stderr.includes("infer_schema_length"), rq.stderr);
    const extra = join(dir, "x.csv");
    await Deno.writeTextFile(
      extra,
      "path,speaker_id,accent_narrow,split\na.wav,s1,North America,train,oops\n",
    );
    assertError(
      await cli(["data", "prepare", "user", "--csv", extra]),
      1,
      extra,
      "data row 1 (line 2) has 5 fields, the header has 4",
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Extraction: outputs before work, crops shorter than a frame, manifests with repeated files

Deno.test("reliability/extract: --out naming a directory and a crop shorter than one frame are refused", {
  ignore: NO_SPEECH,
}, async () => {
  await withTempDir(async (dir) => {
    const wav = join(FSDD, "0_jackson_0.wav");
    assertError(
      await cli(["extract", "--codec", "lyra-3.2kbps", "--audio", wav, "--out", dir]),
      1,
      `--out ${dir}: is a directory; give a file path`,
    );
    assertError(
      await cli([
        "extract",
        "--codec",
        "lyra-3.2kbps",
        "--audio",
        wav,
        "--out",
        join(dir, "u.npy"),
        "--max-seconds",
        "0.00001",
      ]),
      1,
      "a crop to 0.00001 s is shorter than one lyra-3.2kbps frame (0.02 s)",
    );
  });
});

Deno.test("reliability/extract: a manifest repeating one file → explicit warning with counts", {
  ignore: NO_SPEECH,
}, async () => {
  await withTempDir(async (dir) => {
    const lines = ["utterance_id,path,dataset,speaker_id,accent_narrow,accent_broad,split"];
    for (let i = 0; i < 5; i++) {
      lines.push(`r${i},${join(FSDD, "0_jackson_0.wav")},rep,s1,North America,North America,train`);
    }
    const manifest = join(dir, "m.csv");
    await Deno.writeTextFile(manifest, lines.join("\n") + "\n");
    const r = await cli([
      "extract",
      "--codec",
      "lyra-3.2kbps",
      "--manifest",
      manifest,
      "--store",
      join(dir, "st"),
      "--workers",
      "1",
      "--json",
    ]);
    assertEquals(r.code, 0, r.output);
    assertStringIncludes(
      r.stderr,
      "warning: 4 of 5 utterances repeat the audio content (same bytes) of an earlier row",
    );
    assertEquals(JSON.parse(r.stdout.trim().split("\n").at(-1)!).duplicate_content, 4);
  });
});
