/**
 * A complete Mimi encoder-side state dict (official names) with seeded random values, for running the
 * full-size architecture without a download (tests of shapes/memory, benchmarks). Conv/linear weights are
 * uniform with variance 1/fan_in, LayerNorm is identity-like, LayerScale 0.01 (the official init), codebooks
 * unit-variance with cluster_usage 1.
 */
import { Rng } from "../../common/random.ts";
import { float32Tensors, type TensorMap } from "../../formats/safetensors.ts";
import { type MimiConfig, mimiDownsampleStride } from "./config.ts";

function uniform(rng: Rng, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  const a = scale * Math.sqrt(3);
  for (let i = 0; i < n; i++) out[i] = a * (2 * rng.next() - 1);
  return out;
}

export function randomMimiWeights(cfg: MimiConfig, seed = 0): TensorMap {
  const rng = new Rng(seed);
  const { weights: w, put } = float32Tensors();
  const conv = (p: string, cout: number, cin: number, k: number, bias = true) => {
    put(`${p}.weight`, [cout, cin, k], uniform(rng, cout * cin * k, 1 / Math.sqrt(cin * k)));
    if (bias) put(`${p}.bias`, [cout], uniform(rng, cout, 0.01));
  };
  const s = cfg.seanet;
  let c = s.nFilters;
  let i = 0;
  conv(`encoder.model.${i++}.conv.conv`, c, s.channels, s.kernelSize);
  for (const ratio of [...s.ratios].reverse()) {
    const hidden = c / s.compress;
    conv(`encoder.model.${i}.block.1.conv.conv`, hidden, c, s.residualKernelSize);
    conv(`encoder.model.${i++}.block.3.conv.conv`, c, hidden, 1);
    i++; // ELU
    conv(`encoder.model.${i++}.conv.conv`, 2 * c, c, 2 * ratio);
    c *= 2;
  }
  i++; // ELU
  conv(`encoder.model.${i}.conv.conv`, s.dimension, c, s.lastKernelSize);
  const { dModel: C, dimFeedforward: F, numLayers } = cfg.transformer;
  for (let l = 0; l < numLayers; l++) {
    const p = `encoder_transformer.transformer.layers.${l}`;
    put(`${p}.self_attn.in_proj_weight`, [3 * C, C], uniform(rng, 3 * C * C, 1 / Math.sqrt(C)));
    put(`${p}.self_attn.out_proj.weight`, [C, C], uniform(rng, C * C, 1 / Math.sqrt(C)));
    put(`${p}.linear1.weight`, [F, C], uniform(rng, F * C, 1 / Math.sqrt(C)));
    put(`${p}.linear2.weight`, [C, F], uniform(rng, C * F, 1 / Math.sqrt(F)));
    for (const n of ["norm1", "norm2"]) {
      put(`${p}.${n}.weight`, [C], new Float32Array(C).fill(1));
      put(`${p}.${n}.bias`, [C], new Float32Array(C));
    }
    for (const n of ["layer_scale_1", "layer_scale_2"]) {
      put(`${p}.${n}.scale`, [C], new Float32Array(C).fill(0.01));
    }
  }
  const stride = mimiDownsampleStride(cfg);
  if (stride > 1) conv("downsample.conv.conv.conv", C, C, 2 * stride, false);
  const q = cfg.quantizer;
  const branches: [string, number][] = [["rvq_first", q.nQSemantic], ["rvq_rest", q.nQ - q.nQSemantic]];
  for (const [name, levels] of branches) {
    const p = `quantizer.${name}`;
    put(
      `${p}.input_proj.weight`,
      [q.dimension, q.inputDimension, 1],
      uniform(rng, q.dimension * q.inputDimension, 1 / Math.sqrt(q.inputDimension)),
    );
    put(
      `${p}.output_proj.weight`,
      [q.outputDimension, q.dimension, 1],
      uniform(rng, q.outputDimension * q.dimension, 1 / Math.sqrt(q.dimension)),
    );
    for (let l = 0; l < levels; l++) {
      const cb = `${p}.vq.layers.${l}._codebook`;
      put(`${cb}.embedding_sum`, [q.bins, q.dimension], uniform(rng, q.bins * q.dimension, 1));
      put(`${cb}.cluster_usage`, [q.bins], new Float32Array(q.bins).fill(1));
      put(`${cb}._initialized`, [1], new Float32Array([1]));
    }
  }
  return w;
}
