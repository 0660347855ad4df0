/**
 * The EnCodec encoder + RVQ as one ONNX graph (audio [1, 1, L] → latent, codes, ê), run by onnxruntime.
 * ê = quantizer.decode(quantizer.encode(encoder(wav), frame_rate, bandwidth)), time-major (T × 128).
 */
import { type Matrix, matrix } from "../../common/matrix.ts";
import type { Net } from "../nn/layers.ts";
import { createSession, runSession, type Session } from "../../formats/onnx.ts";
import type { TensorMap } from "../../formats/safetensors.ts";
import { buildSeanetRvqNet } from "../nn/seanet_rvq.ts";
import type { EncodecConfig } from "./config.ts";

export interface EncodeResult {
  latent: Matrix;
  /** n_q × T, row-major (the fixtures' layout). */
  codes: Int32Array;
  ehat: Matrix;
}

/** Builds the graph for `nq` codebooks; outputs "latent" [T, D], "codes" [T, nq] int64, "ehat" [T, D]. */
export function buildEncodecNet(w: TensorMap, cfg: EncodecConfig, nq: number): Net {
  return buildSeanetRvqNet("encodec", w, cfg.encoder, cfg.bins, nq, "EnCodec weights");
}

export class EncodecRunner {
  private constructor(
    private readonly session: Session,
    private readonly net: Net,
    readonly config: EncodecConfig,
    readonly nq: number,
  ) {}

  static async create(
    w: TensorMap,
    cfg: EncodecConfig,
    nq: number,
    threads?: number,
  ): Promise<EncodecRunner> {
    const net = buildEncodecNet(w, cfg, nq);
    return new EncodecRunner(await createSession(net.finish(), { threads }), net, cfg, nq);
  }

  /** Encodes one clip (mono float32 at the model's sample rate). */
  async run(
    audio: Float32Array,
    outputs: ("latent" | "codes" | "ehat")[] = ["latent", "codes", "ehat"],
  ): Promise<Partial<EncodeResult>> {
    if (audio.length < 1) throw new Error("EnCodec: empty audio");
    const r = await runSession(this.session, this.net.feeds(audio), outputs);
    const out: Partial<EncodeResult> = {};
    const D = this.config.encoder.dimension;
    if (r.latent) out.latent = matrix(r.latent.dims[0], D, r.latent.data as Float32Array);
    if (r.ehat) out.ehat = matrix(r.ehat.dims[0], D, r.ehat.data as Float32Array);
    if (r.codes) {
      const T = r.codes.dims[0];
      const src = r.codes.data as BigInt64Array;
      const codes = new Int32Array(this.nq * T);
      for (let t = 0; t < T; t++) {
        for (let q = 0; q < this.nq; q++) codes[q * T + t] = Number(src[t * this.nq + q]);
      }
      out.codes = codes;
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
