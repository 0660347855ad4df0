/**
 * `sae export --format saelens`: the SAELens layout (W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc zeros,
 * b_dec = b_pre, cfg.json with architecture "topk" and k), and SAELens's TopK encode/decode reimplemented in
 * numpy from the exported files reproduces `sae encode`'s z and the SAE's reconstruction.
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import { main } from "../lib/cli/main.ts";
import { readMatrix, writeMatrix } from "../lib/common/matrix.ts";
import { readSafetensors } from "../lib/formats/safetensors.ts";
import { saeConfig } from "../lib/sae/config.ts";
import { saveCheckpoint } from "../lib/sae/checkpoint.ts";
import { trainSae } from "../lib/sae/train.ts";
import { plantedData } from "../testdata/sae_data.ts";
import { toolAvailable } from "./tools.ts";

// SAELens's TopKSAE.encode / decode (sae_lens/saes/topk_sae.py) with numpy: x − b_dec, @ W_enc + b_enc,
// top k (then ReLU) scattered into zeros; decode z @ W_dec + b_dec.
const SAELENS_NUMPY = `
import json, struct, sys
import numpy as np
d = sys.argv[1]
raw = open(d + "/sae_weights.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
def tensor(name):
    h = header[name]
    assert h["dtype"] == "F32", h
    a, b = h["data_offsets"]
    return np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(h["shape"])
cfg = json.load(open(d + "/cfg.json"))
W_enc, W_dec, b_enc, b_dec = (tensor(t) for t in ("W_enc", "W_dec", "b_enc", "b_dec"))
x = np.load(sys.argv[2])
pre = (x - b_dec * cfg["apply_b_dec_to_input"]) @ W_enc + b_enc
idx = np.argpartition(-pre, cfg["k"] - 1, axis=-1)[:, :cfg["k"]]
z = np.zeros_like(pre)
np.put_along_axis(z, idx, np.maximum(np.take_along_axis(pre, idx, axis=-1), 0), axis=-1)
np.save(sys.argv[3], z.astype(np.float32))
np.save(sys.argv[4], (z @ W_dec + b_dec).astype(np.float32))
`;

const hasNumpy = await toolAvailable(import.meta.url, "python3 + numpy", "/usr/bin/python3", [
  "-c",
  "import numpy",
]);

Deno.test("sae export --format saelens: layout, cfg.json, and SAELens's encode (numpy) reproduces z", {
  ignore: !hasNumpy,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "sae_export_" });
  const origLog = console.log;
  console.log = () => {};
  try {
    const X = plantedData(300, 24, 3);
    const cfg = saeConfig(4, 0.25, 24, { epochs: 5, batchSize: 64, seed: 2, lr: 1e-3 }); // d_z 96, k 6
    const trained = await trainSae(X, cfg, { quiet: true });
    const ckpt = join(dir, "ckpt"), out = join(dir, "saelens"), xp = join(dir, "X.npy");
    await saveCheckpoint(ckpt, trained);
    await writeMatrix(xp, X);
    assertEquals(await main(["sae", "export", "--checkpoint", ckpt, "--format", "saelens", "--out", out]), 0);
    assertEquals(
      await main(["sae", "encode", "--checkpoint", ckpt, "--features", xp, "--out", join(dir, "z.npy")]),
      0,
    );

    const st = await readSafetensors(join(out, "sae_weights.safetensors"));
    assertEquals(st.tensors.W_enc.shape, [24, 96]);
    assertEquals(st.tensors.W_dec.shape, [96, 24]);
    assertEquals(st.tensors.b_enc.shape, [96]);
    assert((st.tensors.b_enc.data as Float32Array).every((v) => v === 0));
    assertEquals(Array.from(st.tensors.b_dec.data as Float32Array), Array.from(trained.model.bPre));
    const saeCfg = JSON.parse(await Deno.readTextFile(join(out, "cfg.json")));
    assertEquals([saeCfg.architecture, saeCfg.d_in, saeCfg.d_sae, saeCfg.k], ["topk", 24, 96, 6]);

    const py = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", SAELENS_NUMPY, out, xp, join(dir, "z_saelens.npy"), join(dir, "u_hat.npy")],
      stderr: "piped",
    }).output();
    assert(py.success, new TextDecoder().decode(py.stderr));
    const z = await readMatrix(join(dir, "z.npy")), zs = await readMatrix(join(dir, "z_saelens.npy"));
    assertEquals([zs.rows, zs.cols], [z.rows, z.cols]);
    let maxAbs = 0, maxDiff = 0, sameSupport = true;
    for (let i = 0; i < z.data.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(z.data[i]));
      maxDiff = Math.max(maxDiff, Math.abs(z.data[i] - zs.data[i]));
      if ((z.data[i] > 0) !== (zs.data[i] > 0)) sameSupport = false;
    }
    assert(sameSupport, "SAELens's encode activates other latents");
    assert(maxDiff <= 1e-5 * maxAbs, `z differs by ${maxDiff} (max |z| ${maxAbs})`);

    // The reconstruction agrees with ours: û = W_dec z + b_pre.
    const uHat = await readMatrix(join(dir, "u_hat.npy"));
    const { wDecT, bPre } = trained.model;
    let recDiff = 0, recMax = 0;
    for (let i = 0; i < z.rows; i++) {
      for (let c = 0; c < 24; c++) {
        let v = bPre[c];
        for (let j = 0; j < 96; j++) v += z.data[i * 96 + j] * wDecT[j * 24 + c];
        recDiff = Math.max(recDiff, Math.abs(v - uHat.data[i * 24 + c]));
        recMax = Math.max(recMax, Math.abs(v));
      }
    }
    assert(recDiff <= 1e-5 * recMax, `reconstruction differs by ${recDiff}`);

    // A wrong format is a usage error naming the choices.
    const errs: string[] = [];
    const origErr = console.error;
    console.error = (...a: unknown[]) => errs.push(a.join(" "));
    try {
      assertEquals(
        await main(["sae", "export", "--checkpoint", ckpt, "--format", "onnx", "--out", join(dir, "x")]),
        2,
      );
    } finally {
      console.error = origErr;
    }
    assert(errs.some((e) => e.includes("--format must be one of saelens")));
  } finally {
    console.log = origLog;
    await Deno.remove(dir, { recursive: true });
  }
});
