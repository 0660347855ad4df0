/**
 * Export of a checkpoint to SAELens's on-disk layout (`SAE.load_from_disk(dir)`), so an SAE trained here
 * loads where interpretability researchers already work:
 *   sae_weights.safetensors  W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc [d_sae] (zeros), b_dec [d_in] = b_pre
 *   cfg.json                 architecture "topk", d_in, d_sae, k, dtype, device, apply_b_dec_to_input: true, ...
 *   nac_sae.json             where it came from: the source checkpoint and its SAE config
 * SAELens's TopK encode, ReLU(TopK((x − b_dec) W_enc + b_enc)), is this toolkit's z = ReLU(TopK(W_enc(u − b_pre)))
 * with b_enc = 0, and its decode z W_dec + b_dec is û = W_dec z + b_pre.
 */
import { join, resolve } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../common/fs.ts";
import { toSnakeKeys } from "../common/keys.ts";
import { writeSafetensors } from "../formats/safetensors.ts";
import { loadCheckpoint, transpose } from "./checkpoint.ts";

export const EXPORT_FORMATS = ["saelens"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const SAELENS_WEIGHTS_FILE = "sae_weights.safetensors";
export const SAELENS_CFG_FILE = "cfg.json";

export interface ExportSummary {
  out: string;
  files: string[];
  d_in: number;
  d_sae: number;
  k: number;
}

/** Writes the SAELens layout of the checkpoint in `checkpointDir` to `outDir`. */
export async function exportSaeLens(checkpointDir: string, outDir: string): Promise<ExportSummary> {
  const { model } = await loadCheckpoint(checkpointDir);
  const { dIn, dZ, k } = model.config;
  await Deno.mkdir(outDir, { recursive: true });
  const weights = join(outDir, SAELENS_WEIGHTS_FILE);
  await writeSafetensors(weights, {
    // Ours is d_z × d (row j = latent j's encoder direction); SAELens multiplies x [.., d_in] @ W_enc.
    W_enc: { shape: [dIn, dZ], data: transpose(model.wEnc, dZ, dIn) },
    // Ours is kept as W_decᵀ (d_z × d), which is SAELens's W_dec [d_sae, d_in].
    W_dec: { shape: [dZ, dIn], data: model.wDecT },
    b_enc: { shape: [dZ], data: new Float32Array(dZ) },
    b_dec: { shape: [dIn], data: model.bPre },
  });
  const cfg = join(outDir, SAELENS_CFG_FILE);
  await writeJsonAtomic(cfg, {
    architecture: "topk",
    d_in: dIn,
    d_sae: dZ,
    k,
    dtype: "float32",
    device: "cpu",
    apply_b_dec_to_input: true,
    normalize_activations: "none",
    reshape_activations: "none",
    meta: { model_name: null, hook_name: null },
  });
  const provenance = join(outDir, "nac_sae.json");
  await writeFileAtomic(
    provenance,
    JSON.stringify(
      {
        source_checkpoint: resolve(checkpointDir),
        input: "u: the mean over time of a codec's dequantized ê (one vector per utterance)",
        sae_config: toSnakeKeys(model.config),
      },
      null,
      1,
    ) + "\n",
  );
  return { out: outDir, files: [weights, cfg, provenance], d_in: dIn, d_sae: dZ, k };
}
