/**
 * The SpeechTokenizer encoder + RVQ as one ONNX graph: audio [1, 1, L] at 16 kHz → latent [T, D], codes
 * [T, n_q], ê [T, D] = quantizer.decode(model.encode(x, n_q)) (time-major).
 */
import { type Matrix, matrix } from "../../common/matrix.ts";
import type { Net } from "../nn/layers.ts";
import { createSession, runSession, type Session } from "../../formats/onnx.ts";
import type { TensorMap } from "../../formats/safetensors.ts";
import { buildSeanetRvqNet } from "../nn/seanet_rvq.ts";
import type { SpeechTokenizerConfig } from "./config.ts";

export interface SptResult {
  latent: Matrix;
  /** n_q × T, row-major. */
  codes: Int32Array;
  ehat: Matrix;
}

export function buildSptNet(w: TensorMap, cfg: SpeechTokenizerConfig, nq: number): Net {
  if (nq < 1 || nq > cfg.nQ) throw new Error(`SpeechTokenizer: n_q ${nq} outside 1..${cfg.nQ}`);
  return buildSeanetRvqNet(
    "speechtokenizer",
    w,
    cfg.encoder,
    cfg.codebookSize,
    nq,
    "SpeechTokenizer weights",
  );
}

export class SptRunner {
  private constructor(
    private readonly session: Session,
    private readonly net: Net,
    readonly config: SpeechTokenizerConfig,
    readonly nq: number,
  ) {}

  static async create(
    w: TensorMap,
    cfg: SpeechTokenizerConfig,
    nq: number,
    threads?: number,
  ): Promise<SptRunner> {
    const net = buildSptNet(w, cfg, nq);
    return new SptRunner(await createSession(net.finish(), { threads }), net, cfg, nq);
  }

  async run(
    audio: Float32Array,
    outputs: ("latent" | "codes" | "ehat")[] = ["latent", "codes", "ehat"],
  ): Promise<Partial<SptResult>> {
    if (audio.length < 1) throw new Error("SpeechTokenizer: empty audio");
    const r = await runSession(this.session, this.net.feeds(audio), outputs);
    const D = this.config.encoder.dimension;
    const out: Partial<SptResult> = {};
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
