/**
 * The SpeechTokenizer encoder + RVQ as one ONNX graph: audio [1, 1, L] at 16 kHz → latent [T, D], codes
 * [T, n_q], ê [T, D] = quantizer.decode(model.encode(x, n_q)) (time-major).
 */
import { type Matrix, matrix } from "../../common/matrix.ts";
import { euclideanRvq, Net, timeMajor } from "../nn/layers.ts";
import { createSession, DType, runSession, type Session } from "../nn/onnx.ts";
import { floatData, getTensor, type TensorMap } from "../nn/safetensors.ts";
import { seanetEncoder } from "../nn/seanet.ts";
import type { SpeechTokenizerConfig } from "./config.ts";

export interface SptResult {
  latent: Matrix;
  /** n_q × T, row-major. */
  codes: Int32Array;
  ehat: Matrix;
}

export function buildSptNet(w: TensorMap, cfg: SpeechTokenizerConfig, nq: number): Net {
  if (nq < 1 || nq > cfg.nQ) throw new Error(`SpeechTokenizer: n_q ${nq} outside 1..${cfg.nQ}`);
  const net = new Net("speechtokenizer");
  const latent = seanetEncoder(net, net.audio(), w, "encoder", cfg.encoder);
  const tm = timeMajor(net, latent);
  const D = cfg.encoder.dimension;
  const codebooks = Array.from({ length: nq }, (_, i) => {
    const name = `quantizer.vq.layers.${i}._codebook.embed`;
    return floatData(getTensor(w, name, [cfg.codebookSize, D], "SpeechTokenizer weights"), name);
  });
  const rvq = euclideanRvq(net, tm, codebooks, D);
  net.g.output(tm, "latent", ["T", D]);
  net.g.output(rvq.codes, "codes", ["T", nq], DType.INT64);
  net.g.output(rvq.ehat, "ehat", ["T", D]);
  return net;
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
