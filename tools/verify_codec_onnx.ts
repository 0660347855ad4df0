/**
 * Checks an exported codec graph through nac-sae's own ONNX adapter against PyTorch references:
 *   deno run -A tools/verify_codec_onnx.ts SIDECAR.json REFS_DIR [--tolerance 1e-4]
 * REFS_DIR holds audio_<n>.npy (float32 samples) and ehat_<n>.npy (PyTorch ê, T × d) per length n, as written
 * by tools/export_codec_onnx.py. Prints one line per length and exits non-zero on any mismatch.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readJson } from "../lib/common/fs.ts";
import { readMatrix } from "../lib/common/matrix.ts";
import { OnnxCodec } from "../lib/codecs/onnx/codec.ts";
import { parseSidecar } from "../lib/codecs/onnx/sidecar.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { tolerance: { type: "string", default: "1e-4" } },
  allowPositionals: true,
});
if (positionals.length !== 2) {
  console.error("usage: deno run -A tools/verify_codec_onnx.ts SIDECAR.json REFS_DIR [--tolerance 1e-4]");
  Deno.exit(2);
}
const [sidecarPath, refs] = positionals;
const tolerance = Number(values.tolerance);
const codec = await OnnxCodec.load(parseSidecar(await readJson(sidecarPath), sidecarPath));
let bad = 0;
const lengths = [...Deno.readDirSync(refs)].map((e) => /^audio_(\d+)\.npy$/.exec(e.name)?.[1]).filter((x) =>
  x
)
  .map(Number).sort((a, b) => a - b);
if (lengths.length === 0) throw new Error(`${refs}: no audio_<n>.npy references`);
for (const n of lengths) {
  const audio = (await readMatrix(join(refs, `audio_${n}.npy`))).data;
  const want = await readMatrix(join(refs, `ehat_${n}.npy`));
  let line: string;
  try {
    const got = await codec.encode(audio);
    if (got.rows !== want.rows || got.cols !== want.cols) {
      line = `FAIL ${n} samples: ê ${got.rows}×${got.cols}, PyTorch ${want.rows}×${want.cols}`;
    } else {
      let err = 0;
      for (let i = 0; i < got.data.length; i++) err = Math.max(err, Math.abs(got.data[i] - want.data[i]));
      line = `${
        err <= tolerance ? "ok" : "FAIL"
      } ${n} samples: ê ${got.rows}×${got.cols}, max |ONNX − PyTorch| ${err.toExponential(2)}`;
    }
  } catch (e) {
    line = `FAIL ${n} samples: ${(e as Error).message}`;
  }
  if (line.startsWith("FAIL")) bad++;
  console.log(line);
}
codec.dispose();
Deno.exit(bad > 0 ? 1 : 0);
