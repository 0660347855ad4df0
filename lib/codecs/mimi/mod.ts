/**
 * Mimi codec entries: `mimi` (8 codebooks, the default of moshi's `get_mimi` and of Moshi itself, 1.1 kbps)
 * and `mimi-all` (all 32 codebooks, 4.4 kbps). ê is T × 512 at 12.5 frames/s.
 */
import type { Matrix } from "../../common/matrix.ts";
import type { Codec, CodecEntry, CodecInfo, LoadOptions } from "../types.ts";
import { MIMI_OFFICIAL_CONFIG, mimiConfigFrom, mimiHop } from "./config.ts";
import { MimiRunner } from "./model.ts";
import { loadMimiWeights } from "./weights.ts";

export { MIMI_OFFICIAL_CONFIG, type MimiConfig, mimiConfigFrom, mimiHop } from "./config.ts";
export { buildMimiGraph, mimiAuxFeeds } from "./graph.ts";
export { type MimiOutputs, MimiRunner } from "./model.ts";
export { loadMimiWeights, MIMI_CHECKPOINT, MIMI_URL, MIMI_WEIGHTS, readMimiWeights } from "./weights.ts";

const SOURCE =
  `Kyutai Mimi ${"tokenizer-e351c8d8-checkpoint125.safetensors"} (weights CC-BY 4.0, code MIT), ` +
  `huggingface.co/kyutai/moshiko-pytorch-bf16`;

const OFFICIAL = mimiConfigFrom(MIMI_OFFICIAL_CONFIG, "Mimi official config");

function bitrate(frameRate: number, nQ: number, bins: number): number {
  return (frameRate * nQ * Math.log2(bins)) / 1000;
}

function info(id: string, nQ: number): CodecInfo {
  return {
    id,
    family: "mimi",
    sampleRate: OFFICIAL.sampleRate,
    dCodec: OFFICIAL.quantizer.outputDimension,
    frameRate: OFFICIAL.frameRate,
    bitrateKbps: bitrate(OFFICIAL.frameRate, nQ, OFFICIAL.quantizer.bins),
    minSamples: 1,
    source: SOURCE,
  };
}

export class MimiCodec implements Codec {
  readonly id: string;
  readonly family = "mimi";
  readonly sampleRate: number;
  readonly dCodec: number;
  readonly frameRate: number;
  readonly bitrateKbps: number;
  readonly minSamples = 1;
  readonly source: string;

  private constructor(base: CodecInfo, readonly runner: MimiRunner, weightsFile: string) {
    const cfg = runner.config;
    this.id = base.id;
    this.sampleRate = cfg.sampleRate;
    this.dCodec = cfg.quantizer.outputDimension;
    this.frameRate = cfg.sampleRate / mimiHop(cfg);
    this.bitrateKbps = bitrate(this.frameRate, runner.nQ, cfg.quantizer.bins);
    this.source = `${base.source}; loaded from ${weightsFile}`;
  }

  static async load(id: string, nQ: number, opts: LoadOptions = {}): Promise<MimiCodec> {
    const { weights, config, source } = await loadMimiWeights({
      modelsDir: opts.modelsDir,
      offline: opts.offline,
      quiet: opts.quiet,
    });
    if (nQ > config.quantizer.nQ) {
      throw new Error(`${source}: ${id} needs ${nQ} codebooks, the model has ${config.quantizer.nQ}`);
    }
    const runner = await MimiRunner.create(weights, config, nQ, opts.threads);
    return new MimiCodec(info(id, nQ), runner, source);
  }

  async encode(audio: Float32Array): Promise<Matrix> {
    return (await this.runner.run(audio, ["ehat"])).ehat!;
  }

  dispose(): void {
    void this.runner.release();
  }
}

const VARIANTS: { id: string; nQ: number }[] = [
  { id: "mimi", nQ: 8 },
  { id: "mimi-all", nQ: 32 },
];

export const MIMI_CODECS: CodecEntry[] = VARIANTS.map((v) => ({
  ...info(v.id, v.nQ),
  load: (opts?: LoadOptions) => MimiCodec.load(v.id, v.nQ, opts),
}));
