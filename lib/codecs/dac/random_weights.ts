/**
 * A complete DAC encoder + quantizer state dict (official names) with seeded random values, for running the
 * full-size architecture without downloading anything (tests of shapes/memory, benchmarks). Weight-normed
 * convs get v uniform with unit variance and g = 1 (unit-norm rows, so activations stay O(1)); Snake α is
 * uniform in [0.3, 2]; codebooks unit-variance.
 */
import { Rng } from "../../common/random.ts";
import { float32Tensors, type TensorMap } from "../../formats/safetensors.ts";
import type { DacConfig } from "./config.ts";

function uniform(rng: Rng, n: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng.next();
  return out;
}

export function randomDacWeights(cfg: DacConfig, seed = 0): TensorMap {
  const rng = new Rng(seed);
  const { weights: w, put } = float32Tensors();
  const conv = (p: string, cout: number, cin: number, k: number) => {
    put(`${p}.weight_v`, [cout, cin, k], uniform(rng, cout * cin * k, -Math.sqrt(3), Math.sqrt(3)));
    put(`${p}.weight_g`, [cout, 1, 1], new Float32Array(cout).fill(1));
    put(`${p}.bias`, [cout], uniform(rng, cout, -0.01, 0.01));
  };
  const snake = (name: string, c: number) => put(name, [1, c, 1], uniform(rng, c, 0.3, 2));
  let c = cfg.encoderDim;
  conv("encoder.block.0", c, 1, 7);
  cfg.encoderRates.forEach((s, b) => {
    const block = `encoder.block.${b + 1}.block`;
    for (let j = 0; j < 3; j++) {
      snake(`${block}.${j}.block.0.alpha`, c);
      conv(`${block}.${j}.block.1`, c, c, 7);
      snake(`${block}.${j}.block.2.alpha`, c);
      conv(`${block}.${j}.block.3`, c, c, 1);
    }
    snake(`${block}.3.alpha`, c);
    conv(`${block}.4`, 2 * c, c, 2 * s);
    c *= 2;
  });
  const n = cfg.encoderRates.length;
  snake(`encoder.block.${n + 1}.alpha`, c);
  conv(`encoder.block.${n + 2}`, cfg.latentDim, c, 3);
  for (let i = 0; i < cfg.nCodebooks; i++) {
    const p = `quantizer.quantizers.${i}`;
    conv(`${p}.in_proj`, cfg.codebookDim, cfg.latentDim, 1);
    conv(`${p}.out_proj`, cfg.latentDim, cfg.codebookDim, 1);
    put(
      `${p}.codebook.weight`,
      [cfg.codebookSize, cfg.codebookDim],
      uniform(rng, cfg.codebookSize * cfg.codebookDim, -1.7, 1.7),
    );
  }
  return w;
}
