/**
 * Runs the Mimi ê graph: `pad_for_conv1d` (right zero-pad to a multiple of the 1920-sample frame), then the
 * causal encoder, transformer, downsampling and split RVQ. ê = `decode_latent(encode(x))`, T × 512 at 12.5 Hz.
 */
import { type Matrix, matrix } from "../../common/matrix.ts";
import type { Net } from "../nn/layers.ts";
import { createSession, runSession, type Session } from "../../formats/onnx.ts";
import type { TensorMap } from "../../formats/safetensors.ts";
import { codesByLevel, padToHop } from "../nn/frames.ts";
import { type MimiConfig, mimiEncoderHop, mimiHop } from "./config.ts";
import { buildMimiGraph, mimiAuxFeeds } from "./graph.ts";

export interface MimiOutputs {
  /** The continuous latent before quantization (`encode_to_latent(x, quantize=False)`), T × D. */
  latent: Matrix;
  /** n_q × T codebook indices (row 0 semantic), row-major. */
  codes: Int32Array;
  ehat: Matrix;
}

export type MimiOutputName = keyof MimiOutputs;

export class MimiRunner {
  private constructor(
    private readonly session: Session,
    private readonly net: Net,
    readonly config: MimiConfig,
    readonly nQ: number,
  ) {}

  static async create(w: TensorMap, config: MimiConfig, nQ: number, threads?: number): Promise<MimiRunner> {
    const net = buildMimiGraph(w, config, nQ);
    return new MimiRunner(await createSession(net.finish(), { threads }), net, config, nQ);
  }

  async run(
    audio: Float32Array,
    outputs: MimiOutputName[] = ["latent", "codes", "ehat"],
  ): Promise<Partial<MimiOutputs>> {
    if (audio.length === 0) throw new Error("Mimi: empty audio");
    const x = padToHop(audio, mimiHop(this.config));
    const feeds = {
      ...this.net.feeds(x),
      ...mimiAuxFeeds(this.config, x.length / mimiEncoderHop(this.config)),
    };
    const r = await runSession(this.session, feeds, outputs);
    const out: Partial<MimiOutputs> = {};
    if (r.latent) out.latent = matrix(r.latent.dims[0], r.latent.dims[1], r.latent.data as Float32Array);
    if (r.ehat) out.ehat = matrix(r.ehat.dims[0], r.ehat.dims[1], r.ehat.data as Float32Array);
    if (r.codes) out.codes = codesByLevel(r.codes.data as BigInt64Array, r.codes.dims[0], this.nQ);
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
