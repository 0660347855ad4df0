/**
 * Extraction end to end without ../shared: generated stereo WAVs at 8 kHz through the committed tiny ONNX codec
 * (tests/fixtures/onnx) into a feature store, with 1 and 2 workers. Each stored u and u_std is the reference
 * mean and population std over time of the ê that codec gives for that file's audio prepared independently
 * (first maxSeconds of the source, mean of the channels, resampled to 16 kHz), and the rows follow the manifest.
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import { encodeWav, resample } from "../lib/audio/mod.ts";
import { readJson } from "../lib/common/fs.ts";
import { OnnxCodec } from "../lib/codecs/onnx/codec.ts";
import { parseSidecar } from "../lib/codecs/onnx/mod.ts";
import { extractFeatures } from "../lib/extract/mod.ts";
import { Rng } from "../lib/common/random.ts";
import { refMean, refStd } from "../testdata/reference/features.ts";

const FIX = new URL("./fixtures/onnx/", import.meta.url).pathname;

Deno.test("reference extract: stored u and u_std are the mean and std over time of ê, per file, any workers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nac-sae-refextract-" });
  try {
    const sidecar = {
      ...(await readJson<Record<string, unknown>>(join(FIX, "tiny_codec.json"))),
      onnx: join(FIX, "tiny_codec.onnx"),
    };
    await Deno.writeTextFile(join(dir, "tiny_codec.json"), JSON.stringify(sidecar));
    const rate = 8000, maxSeconds = 0.5;
    const lines = ["utterance_id,path,dataset,speaker_id,accent_narrow,accent_broad,split"];
    const sources: { left: Float32Array; right: Float32Array }[] = [];
    const rng = new Rng(3);
    for (let i = 0; i < 6; i++) {
      // 0.3 to 0.8 s: some longer than the crop. Different tones per channel and file.
      const n = Math.round(rate * (0.3 + 0.1 * i));
      const left = Float32Array.from(
        { length: n },
        (_, t) => 0.4 * (t / n) * Math.sin((2 * Math.PI * (200 + 90 * i) * t) / rate) + 0.2 * rng.normal(),
      );
      const right = Float32Array.from(
        { length: n },
        (_, t) => 0.2 * Math.sin((2 * Math.PI * (650 + 40 * i) * t) / rate + i),
      );
      sources.push({ left, right });
      const path = join(dir, `f${i}.wav`);
      await Deno.writeFile(path, encodeWav([left, right], rate, { encoding: "float" }));
      lines.push(`u${5 - i},${path},tiny,s${i},North America,North America,train`);
    }
    await Deno.writeTextFile(join(dir, "manifest.csv"), lines.join("\n") + "\n");
    const codec = await OnnxCodec.load(parseSidecar(sidecar, join(dir, "tiny_codec.json")), { threads: 1 });
    try {
      const stores = [];
      for (const workers of [1, 2]) {
        stores.push(
          await extractFeatures({
            manifestPath: join(dir, "manifest.csv"),
            codecId: "tiny-onnx",
            storeDir: join(dir, `store-${workers}`),
            modelsDir: dir,
            offline: true,
            quiet: true,
            workers,
            maxSeconds,
          }),
        );
      }
      for (const fs of stores) {
        assertEquals(fs.ids, ["u5", "u4", "u3", "u2", "u1", "u0"], "rows in manifest order");
        for (let i = 0; i < 6; i++) {
          // Reference preparation: crop in source samples, average the channels, then resample.
          const keep = Math.min(sources[i].left.length, Math.round(maxSeconds * rate));
          const mono = Float32Array.from(
            { length: keep },
            (_, t) => (sources[i].left[t] + sources[i].right[t]) / 2,
          );
          const e = await codec.encode(resample(mono, rate, 16000));
          const [mean, std] = [refMean(e.data, e.rows, e.cols), refStd(e.data, e.rows, e.cols)];
          for (let j = 0; j < 8; j++) {
            assert(
              Math.abs(fs.u.data[i * 8 + j] - mean[j]) <= 1e-5 * Math.max(1, Math.abs(mean[j])),
              `u of row ${i}`,
            );
            assert(
              Math.abs(fs.uStd!.data[i * 8 + j] - std[j]) <= 1e-5 * Math.max(1, std[j]),
              `u_std of row ${i}`,
            );
          }
          assert(
            Math.max(...std) > 1e-3 * Math.max(...mean.map(Math.abs), 1e-9),
            `ê barely varies over time (std ${Math.max(...std)}): the std check is empty`,
          );
        }
      }
    } finally {
      codec.dispose();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
