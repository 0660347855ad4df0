/**
 * DAC 24 kHz codec entries: `dac-24khz` (all 32 codebooks, 24 kbps, the default of `DAC.encode`) and
 * `dac-24khz-8q` (first 8 codebooks, 6 kbps). ê is T × 1024 at 75 frames/s.
 */
import type { Matrix } from "../../common/matrix.ts";
import type { Codec, CodecEntry, CodecInfo, LoadOptions } from "../types.ts";
import { DAC_24KHZ, dacHop } from "./config.ts";
import { DacRunner } from "./model.ts";
import { loadDacWeights } from "./weights.ts";

export { DAC_24KHZ, type DacConfig, dacConfigFromKwargs, dacHop } from "./config.ts";
export { buildDacGraph } from "./graph.ts";
export { type DacOutputs, DacRunner } from "./model.ts";
export { DAC_CHECKPOINT, DAC_URL, DAC_WEIGHTS, loadDacWeights, readDacWeights } from "./weights.ts";

const SOURCE =
  `descript-audio-codec 0.0.4 weights_24khz.pth (MIT), github.com/descriptinc/descript-audio-codec`;

function info(id: string, nQ: number): CodecInfo {
  const frameRate = DAC_24KHZ.sampleRate / dacHop(DAC_24KHZ);
  return {
    id,
    family: "dac",
    sampleRate: DAC_24KHZ.sampleRate,
    dCodec: DAC_24KHZ.latentDim,
    frameRate,
    bitrateKbps: (frameRate * nQ * Math.log2(DAC_24KHZ.codebookSize)) / 1000,
    minSamples: 1,
    source: SOURCE,
  };
}

export class DacCodec implements Codec {
  readonly id: string;
  readonly family = "dac";
  readonly sampleRate: number;
  readonly dCodec: number;
  readonly frameRate: number;
  readonly bitrateKbps: number;
  readonly minSamples = 1;
  readonly source: string;

  private constructor(base: CodecInfo, readonly runner: DacRunner, weightsFile: string) {
    const cfg = runner.config;
    this.id = base.id;
    this.sampleRate = cfg.sampleRate;
    this.dCodec = cfg.latentDim;
    this.frameRate = cfg.sampleRate / dacHop(cfg);
    this.bitrateKbps = (this.frameRate * runner.nQ * Math.log2(cfg.codebookSize)) / 1000;
    this.source = `${base.source}; loaded from ${weightsFile}`;
  }

  static async load(id: string, nQ: number, opts: LoadOptions = {}): Promise<DacCodec> {
    const { weights, config, source } = await loadDacWeights({
      modelsDir: opts.modelsDir,
      offline: opts.offline,
      quiet: opts.quiet,
    });
    if (nQ > config.nCodebooks) {
      throw new Error(`${source}: ${id} needs ${nQ} codebooks, the model has ${config.nCodebooks}`);
    }
    const runner = await DacRunner.create(weights, config, nQ, opts.threads);
    return new DacCodec(info(id, nQ), runner, source);
  }

  async encode(audio: Float32Array): Promise<Matrix> {
    return (await this.runner.run(audio, ["ehat"])).ehat!;
  }

  dispose(): void {
    void this.runner.release();
  }
}

const VARIANTS: { id: string; nQ: number }[] = [
  { id: "dac-24khz", nQ: 32 },
  { id: "dac-24khz-8q", nQ: 8 },
];

export const DAC_CODECS: CodecEntry[] = VARIANTS.map((v) => ({
  ...info(v.id, v.nQ),
  load: (opts?: LoadOptions) => DacCodec.load(v.id, v.nQ, opts),
}));
