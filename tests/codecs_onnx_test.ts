/**
 * The generic ONNX codec adapter: a tiny exported codec (tests/fixtures/onnx, made by
 * `tools/export_codec_onnx.py --demo --refs`) must reproduce PyTorch's ê exactly enough at the traced length
 * and at two others; discovery, the CLI and the sidecar/graph checks are exercised too. When Debian's
 * python3-torch is present the export script itself runs (including its trap detection).
 */
import { assert, assertEquals, assertLessOrEqual, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { readJson } from "../lib/common/fs.ts";
import { readMatrix } from "../lib/common/matrix.ts";
import { readNpy } from "../lib/formats/npy.ts";
import { OnnxCodec } from "../lib/codecs/onnx/codec.ts";
import { parseSidecar } from "../lib/codecs/onnx/sidecar.ts";
import { getCodec, listCodecs } from "../lib/codecs/registry.ts";
import { meanOverTime } from "../lib/extract/pooling.ts";
import { skipWithout } from "./tools.ts";

const FIX = new URL("./fixtures/onnx/", import.meta.url).pathname;
const SIDECAR = join(FIX, "tiny_codec.json");
const LENGTHS = [487, 1000, 2061]; // 1000 is the traced length

async function sidecarIn(dir: string, patch: Record<string, unknown>): Promise<string> {
  const raw = {
    ...(await readJson<Record<string, unknown>>(SIDECAR)),
    ...patch,
    onnx: join(FIX, "tiny_codec.onnx"),
  };
  const p = join(dir, "tiny_codec.json");
  await Deno.writeTextFile(p, JSON.stringify(raw));
  return p;
}

Deno.test("onnx adapter: ê matches PyTorch at the traced length and two others; u is its mean", async () => {
  const codec = await OnnxCodec.load(parseSidecar(await readJson(SIDECAR), SIDECAR), { threads: 1 });
  try {
    for (const n of LENGTHS) {
      const audio = (await readMatrix(join(FIX, `audio_${n}.npy`))).data;
      assertEquals(audio.length, n);
      const want = await readMatrix(join(FIX, `ehat_${n}.npy`));
      const got = await codec.encode(audio);
      assertEquals([got.rows, got.cols], [Math.ceil(n / 40), 8], `${n} samples`);
      assertEquals([got.rows, got.cols], [want.rows, want.cols]);
      let err = 0;
      for (let i = 0; i < got.data.length; i++) err = Math.max(err, Math.abs(got.data[i] - want.data[i]));
      assertLessOrEqual(err, 1e-5, `${n} samples: max |ONNX − PyTorch| ${err}`);
      const u = meanOverTime(got), uWant = meanOverTime(want);
      for (let j = 0; j < 8; j++) assertLessOrEqual(Math.abs(u[j] - uWant[j]), 1e-5);
    }
    await assertRejects(() => codec.encode(new Float32Array(10)), Error, "shorter than min_samples 40");
  } finally {
    codec.dispose();
  }
});

Deno.test("onnx adapter: sidecars are discovered by id from a models directory; the CLI writes ê", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await sidecarIn(dir, {});
    const ids = (await listCodecs({ modelsDir: dir, quiet: true })).map((c) => c.id);
    assert(ids.includes("tiny-onnx") && ids.includes("lyra-6kbps"), ids.join(", "));
    const entry = await getCodec("tiny-onnx", { modelsDir: dir });
    assertEquals([entry.sampleRate, entry.dCodec, entry.frameRate, entry.family], [16000, 8, 400, "onnx"]);
    await assertRejects(() => getCodec("nope", { modelsDir: dir }), Error, "Known ids: lyra-3.2kbps");

    // CLI on a WAV of the traced-length audio: ê must equal the fixture.
    const audio = (await readMatrix(join(FIX, "audio_1000.npy"))).data;
    const wav = join(dir, "a.wav");
    await Deno.writeFile(wav, floatWav(audio, 16000));
    const out = join(dir, "e.npy");
    const cmd = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "lib/cli/main.ts",
        "extract",
        "--codec",
        "tiny-onnx",
        "--models",
        dir,
        "--audio",
        wav,
        "--frames",
        "--out",
        out,
        "--json",
      ],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    });
    const r = await cmd.output();
    const stdout = new TextDecoder().decode(r.stdout);
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    const summary = JSON.parse(stdout.trim().split("\n").at(-1)!);
    assertEquals(summary.shape, [25, 8]);
    const list = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "lib/cli/main.ts", "codecs", "--models", dir, "--json"],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const listed = JSON.parse(new TextDecoder().decode(list.stdout).trim().split("\n").at(-1)!);
    const tiny = listed.codecs.find((c: { id: string }) => c.id === "tiny-onnx");
    assertEquals([tiny?.sample_rate, tiny?.d_codec, tiny?.frame_rate], [16000, 8, 400]);
    const e = await readNpy(out);
    const want = await readMatrix(join(FIX, "ehat_1000.npy"));
    assertEquals(e.shape, [25, 8]);
    for (let i = 0; i < want.data.length; i++) {
      assertLessOrEqual(Math.abs(Number(e.data[i]) - want.data[i]), 1e-5);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("onnx adapter: a sidecar that does not match its graph is refused with a helpful error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const load = async (patch: Record<string, unknown>) => {
      const p = await sidecarIn(dir, patch);
      return OnnxCodec.load(parseSidecar(await readJson(p), p));
    };
    await assertRejects(
      () => load({ output: "codes" }),
      Error,
      "no output named 'codes' (graph outputs: e_hat)",
    );
    await assertRejects(() => load({ input: "wave" }), Error, "no input named 'wave' (graph inputs: audio)");
    await assertRejects(() => load({ d: 16 }), Error, "expected (1, T, 16)");
    assertStringIncludes(
      await parseErr({ id: "x", sample_rate: 16000, d: 8, source: "s" }),
      `give "hop" (samples per frame) or "frame_rate"`,
    );
    assertStringIncludes(
      await parseErr({ id: "x", sample_rate: 16000, d: -1, hop: 4, source: "s" }),
      `"d" must be`,
    );
    // An invalid sidecar in a models directory is skipped with a warning, not silently.
    await Deno.writeTextFile(
      join(dir, "tiny_codec.json"),
      JSON.stringify({ id: "broken", onnx: "tiny_codec.onnx" }),
    );
    const ids = (await listCodecs({ modelsDir: dir, quiet: true })).map((c) => c.id);
    assert(!ids.includes("broken"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function parseErr(raw: unknown): Promise<string> {
  try {
    parseSidecar(raw, "s.json");
  } catch (e) {
    return (e as Error).message;
  }
  await Promise.resolve();
  return "no error";
}

const TORCH = "/usr/bin/python3";
const hasTorch = (() => {
  try {
    return new Deno.Command(TORCH, { args: ["-c", "import torch"], stdout: "null", stderr: "null" })
      .outputSync()
      .success;
  } catch {
    return false;
  }
})();

Deno.test({
  name:
    "export_codec_onnx.py: exports the stand-in, verifies it through the adapter, catches the length trap",
  ignore: skipWithout(import.meta.url, "python3 + torch", !hasTorch),
  async fn() {
    const dir = await Deno.makeTempDir();
    const root = new URL("..", import.meta.url).pathname;
    try {
      const run = (args: string[]) =>
        new Deno.Command(TORCH, {
          args: ["tools/export_codec_onnx.py", ...args],
          cwd: root,
          stdout: "piped",
          stderr: "piped",
        })
          .output();
      const ok = await run(["--demo", "--out", join(dir, "ok", "tiny.onnx"), "--refs", join(dir, "refs")]);
      const okText = new TextDecoder().decode(ok.stdout) + new TextDecoder().decode(ok.stderr);
      assertEquals(ok.code, 0, okText);
      for (const n of LENGTHS) assertStringIncludes(okText, `ok ${n} samples`);
      // Same seed → the same graph output as the committed fixture.
      const fresh = await readMatrix(join(dir, "refs", "ehat_2061.npy"));
      const committed = await readMatrix(join(FIX, "ehat_2061.npy"));
      assertEquals(Array.from(fresh.data), Array.from(committed.data));

      const trap = await run(["--demo-trap", "--out", join(dir, "trap", "tiny.onnx")]);
      assert(trap.code !== 0, "the trapped export must fail verification");
      assertStringIncludes(new TextDecoder().decode(trap.stderr), "baked into the graph");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A float32 mono WAV (format 3), so the test does not depend on integer quantisation. */
function floatWav(x: Float32Array, rate: number): Uint8Array {
  const b = new Uint8Array(44 + 4 * x.length);
  const v = new DataView(b.buffer);
  const s = (o: number, t: string) => [...t].forEach((c, i) => (b[o + i] = c.charCodeAt(0)));
  s(0, "RIFF");
  v.setUint32(4, 36 + 4 * x.length, true);
  s(8, "WAVE");
  s(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 3, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, 4 * rate, true);
  v.setUint16(32, 4, true);
  v.setUint16(34, 32, true);
  s(36, "data");
  v.setUint32(40, 4 * x.length, true);
  x.forEach((y, i) => v.setFloat32(44 + 4 * i, y, true));
  return b;
}
