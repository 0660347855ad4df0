/**
 * Runs the DAC ê graph: `preprocess` (right zero-pad to a multiple of the hop), encoder, first n_q RVQ stages.
 * ê is `z` of the official `DAC.encode` (what `DAC.decode` consumes), time-major T × latent_dim.
 */
import { type Matrix, matrix } from "../../common/matrix.ts";
import type { Net } from "../nn/layers.ts";
import { codesByLevel, padToHop } from "../nn/frames.ts";
import { createSession, runSession, type Session } from "../../formats/onnx.ts";
import type { TensorMap } from "../../formats/safetensors.ts";
import { type DacConfig, dacHop } from "./config.ts";
import { buildDacGraph } from "./graph.ts";

export interface DacOutputs {
  /** Encoder output before quantization, T × latent_dim. */
  latent: Matrix;
  /** n_q × T codebook indices, row-major (the fixtures' layout). */
  codes: Int32Array;
  ehat: Matrix;
  /** The per-stage in_proj outputs z_e side by side, T × (n_q · codebook_dim) (the official `latents`). */
  projLatents: Matrix;
}

export type DacOutputName = keyof DacOutputs;

export class DacRunner {
  private constructor(
    private readonly session: Session,
    private readonly net: Net,
    readonly config: DacConfig,
    readonly nQ: number,
  ) {}

  static async create(w: TensorMap, config: DacConfig, nQ: number, threads?: number): Promise<DacRunner> {
    const net = buildDacGraph(w, config, nQ);
    return new DacRunner(await createSession(net.finish(), { threads }), net, config, nQ);
  }

  /** Encodes one mono clip at the model's sample rate. */
  async run(
    audio: Float32Array,
    outputs: DacOutputName[] = ["latent", "codes", "ehat"],
  ): Promise<Partial<DacOutputs>> {
    if (audio.length === 0) throw new Error("DAC: empty audio");
    const x = padToHop(audio, dacHop(this.config));
    const r = await runSession(this.session, this.net.feeds(x), outputs);
    const D = this.config.latentDim;
    const out: Partial<DacOutputs> = {};
    if (r.latent) out.latent = matrix(r.latent.dims[0], D, r.latent.data as Float32Array);
    if (r.ehat) out.ehat = matrix(r.ehat.dims[0], D, r.ehat.data as Float32Array);
    if (r.projLatents) {
      out.projLatents = matrix(
        r.projLatents.dims[0],
        r.projLatents.dims[1],
        r.projLatents.data as Float32Array,
      );
    }
    if (r.codes) out.codes = codesByLevel(r.codes.data as BigInt64Array, r.codes.dims[0], this.nQ);
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
