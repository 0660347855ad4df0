/**
 * SEANet encoder followed by a Euclidean RVQ (EnCodec, SpeechTokenizer): one graph with outputs "latent" [T, D],
 * "codes" [T, nq] int64 and "ehat" [T, D] (ê = sum of the chosen codebook entries).
 */
import { euclideanRvq, Net, timeMajor } from "./layers.ts";
import { DType } from "../../formats/onnx.ts";
import { floatData, getTensor, type TensorMap } from "../../formats/safetensors.ts";
import { seanetEncoder, type SeanetEncoderConfig } from "./seanet.ts";

export function buildSeanetRvqNet(
  name: string,
  w: TensorMap,
  encoder: SeanetEncoderConfig,
  codebookSize: number,
  nq: number,
  what: string,
): Net {
  const net = new Net(name);
  const latent = seanetEncoder(net, net.audio(), w, "encoder", encoder);
  const tm = timeMajor(net, latent);
  const D = encoder.dimension;
  const codebooks = Array.from({ length: nq }, (_, i) => {
    const t = `quantizer.vq.layers.${i}._codebook.embed`;
    return floatData(getTensor(w, t, [codebookSize, D], what), t);
  });
  const rvq = euclideanRvq(net, tm, codebooks, D);
  net.g.output(tm, "latent", ["T", D]);
  net.g.output(rvq.codes, "codes", ["T", nq], DType.INT64);
  net.g.output(rvq.ehat, "ehat", ["T", D]);
  return net;
}
