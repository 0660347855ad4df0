/**
 * onnxruntime execution providers (`--onnx-providers`, NAC_SAE_ONNX_PROVIDERS): names are checked before any
 * work; "cpu" runs; a provider whose library is missing here (CUDA on a
 * machine without it) fails with a message saying what to install, never silently on CPU.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { join } from "node:path";
import { parseProviders } from "../lib/codecs/types.ts";
import { sharedDir } from "../lib/cli/settings.ts";
import { readMatrix } from "../lib/common/matrix.ts";
import { skipWithout } from "./tools.ts";

const shared = sharedDir();
const MAIN = new URL("../lib/cli/main.ts", import.meta.url).pathname;

Deno.test("parseProviders: names in order, case-insensitive; unknown or empty names are errors", () => {
  assertEquals(parseProviders("cuda, CPU", "--onnx-providers"), ["cuda", "cpu"]);
  const e = assertThrows(() => parseProviders("cuda,gpu", "--onnx-providers"));
  assertStringIncludes(
    (e as Error).message,
    "--onnx-providers: unknown onnxruntime execution provider 'gpu'",
  );
  assertThrows(() => parseProviders(" , ", "NAC_SAE_ONNX_PROVIDERS"));
});

async function extract(out: string, providers: string) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      MAIN,
      "extract",
      "--codec",
      "encodec-6kbps",
      "--models",
      `${shared}/fixtures/codecs`,
      "--audio",
      `${shared}/data/fsdd/recordings/0_george_0.wav`,
      "--out",
      out,
      "--onnx-providers",
      providers,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { ok: r.success, stderr: new TextDecoder().decode(r.stderr) };
}

Deno.test({
  name:
    "extract --onnx-providers: cpu runs; a missing CUDA provider is a clear error, never a silent CPU run",
  ignore: skipWithout(import.meta.url, "../shared data", !shared),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nac-sae-providers-" });
    const cpu = await extract(join(dir, "cpu.npy"), "cpu");
    assert(cpu.ok, cpu.stderr);
    const cuda = await extract(join(dir, "cuda.npy"), "cuda,cpu");
    if (cuda.ok) {
      console.log("codecs_providers_test: onnxruntime's CUDA provider is installed here; compared with cpu");
      const [a, b] = [await readMatrix(join(dir, "cpu.npy")), await readMatrix(join(dir, "cuda.npy"))];
      assertEquals([a.rows, a.cols], [b.rows, b.cols]);
      let diff = 0, scale = 0;
      for (let i = 0; i < a.data.length; i++) {
        diff = Math.max(diff, Math.abs(a.data[i] - b.data[i]));
        scale = Math.max(scale, Math.abs(a.data[i]));
      }
      assert(diff <= 1e-3 * scale, `CUDA ê differs from CPU ê by ${diff} (largest |ê| ${scale})`);
    } else {
      assertStringIncludes(cuda.stderr, "onnxruntime cannot start the execution provider(s) cuda, cpu");
      assertStringIncludes(cuda.stderr, "docs/slurm.md, GPU nodes");
    }
    await Deno.remove(dir, { recursive: true });
  },
});
