/**
 * A codec exported to ONNX (`audio (1, 1, samples) → ê (1, T, d)`), run with onnxruntime-node. Its input and
 * output names and shapes are checked against the sidecar on load, with errors that say how to fix them.
 */
import type { Matrix } from "../../common/matrix.ts";
import type { Codec, LoadOptions } from "../types.ts";
import { createSession, runSession, type Session } from "../../formats/onnx.ts";
import type { OnnxSidecar } from "./sidecar.ts";

/** How many frames an exported graph may differ from ceil(samples / hop) (codec look-ahead/padding). */
const FRAME_SLACK = 2;

type Dim = number | string;

export class OnnxCodec implements Codec {
  readonly id: string;
  readonly family = "onnx";
  readonly sampleRate: number;
  readonly dCodec: number;
  readonly frameRate: number;
  readonly bitrateKbps?: number;
  readonly minSamples: number;
  readonly source: string;

  private constructor(readonly sidecar: OnnxSidecar, private readonly session: Session) {
    this.id = sidecar.id;
    this.sampleRate = sidecar.sampleRate;
    this.dCodec = sidecar.dCodec;
    this.frameRate = sidecar.frameRate;
    this.bitrateKbps = sidecar.bitrateKbps;
    this.minSamples = sidecar.minSamples ?? sidecar.hop;
    this.source = sidecar.source;
  }

  static async load(sidecar: OnnxSidecar, opts: LoadOptions = {}): Promise<OnnxCodec> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(sidecar.onnxPath);
    } catch (e) {
      throw new Error(
        `${sidecar.sidecarPath}: cannot read its graph ${sidecar.onnxPath} (${(e as Error).message})`,
      );
    }
    let session: Session;
    try {
      session = await createSession(bytes, { threads: opts.threads, providers: opts.providers });
    } catch (e) {
      throw new Error(`${sidecar.onnxPath}: onnxruntime cannot load the graph (${(e as Error).message})`);
    }
    checkSignature(sidecar, session);
    return new OnnxCodec(sidecar, session);
  }

  /** ê (T × d): audio zero-padded at the end to a whole number of hops, then one graph run. */
  async encode(audio: Float32Array): Promise<Matrix> {
    const { hop, input, output, onnxPath } = this.sidecar;
    if (audio.length < this.minSamples) {
      throw new Error(`${this.id}: ${audio.length} samples is shorter than min_samples ${this.minSamples}`);
    }
    const padded = new Float32Array(Math.ceil(audio.length / hop) * hop);
    padded.set(audio);
    const res = await runSession(this.session, { [input]: { data: padded, dims: [1, 1, padded.length] } }, [
      output,
    ]);
    const { data, dims } = res[output];
    if (!(data instanceof Float32Array)) throw new Error(`${onnxPath}: output '${output}' is not float32`);
    if (dims.length !== 3 || dims[0] !== 1 || dims[2] !== this.dCodec) {
      throw new Error(`${onnxPath}: output '${output}' has shape (${dims}); expected (1, T, ${this.dCodec})`);
    }
    const expected = padded.length / hop;
    if (Math.abs(dims[1] - expected) > FRAME_SLACK) {
      throw new Error(
        `${onnxPath}: ${
          dims[1]
        } frames for ${padded.length} samples (expected about ${expected} at hop ${hop}). ` +
          `The traced audio length is probably baked into the graph: re-export with a dynamic samples axis and no ` +
          `Python arithmetic on tensor shapes (see tools/export_codec_onnx.py).`,
      );
    }
    return { rows: dims[1], cols: dims[2], data };
  }

  dispose(): void {
    void this.session.release();
  }
}

/** Checks the graph's declared input/output against the sidecar, explaining any mismatch. */
function checkSignature(s: OnnxSidecar, session: Session): void {
  const where = `${s.onnxPath} (sidecar ${s.sidecarPath})`;
  if (!session.inputNames.includes(s.input)) {
    throw new Error(
      `${where}: no input named '${s.input}' (graph inputs: ${session.inputNames.join(", ")}); ` +
        `set "input" in the sidecar`,
    );
  }
  if (session.inputNames.length !== 1) {
    throw new Error(
      `${where}: the graph takes ${session.inputNames.length} inputs; a codec graph takes audio only`,
    );
  }
  if (!session.outputNames.includes(s.output)) {
    throw new Error(
      `${where}: no output named '${s.output}' (graph outputs: ${session.outputNames.join(", ")}); ` +
        `set "output" in the sidecar`,
    );
  }
  const inMeta = session.inputMetadata.find((m) => m.name === s.input);
  const outMeta = session.outputMetadata.find((m) => m.name === s.output);
  if (inMeta?.isTensor) {
    const shape = inMeta.shape as Dim[];
    if (inMeta.type !== "float32") {
      throw new Error(`${where}: input '${s.input}' is ${inMeta.type}, expected float32`);
    }
    if (shape.length > 0 && (shape.length !== 3 || !fixed(shape[0], 1) || !fixed(shape[1], 1))) {
      throw new Error(`${where}: input '${s.input}' has shape (${shape}); expected (1, 1, samples)`);
    }
    if (shape.length === 3 && typeof shape[2] === "number") {
      throw new Error(
        `${where}: input '${s.input}' has a fixed length of ${
          shape[2]
        } samples: the traced length was baked into ` +
          `the graph. Re-export with dynamic_axes={"${s.input}": {2: "samples"}} (see tools/export_codec_onnx.py).`,
      );
    }
  }
  if (outMeta?.isTensor) {
    const shape = outMeta.shape as Dim[];
    if (outMeta.type !== "float32") {
      throw new Error(`${where}: output '${s.output}' is ${outMeta.type}, expected float32`);
    }
    if (shape.length > 0 && (shape.length !== 3 || !fixed(shape[0], 1) || !fixed(shape[2], s.dCodec))) {
      throw new Error(
        `${where}: output '${s.output}' has shape (${shape}); expected (1, T, ${s.dCodec}) with d from the sidecar`,
      );
    }
  }
}

/** A declared dimension matches `n` (symbolic dimensions match anything). */
function fixed(dim: Dim, n: number): boolean {
  return typeof dim === "string" || dim === n;
}
