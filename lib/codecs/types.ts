/**
 * The codec interface of the extraction stage. A codec turns mono audio at its own sample rate into ê, the
 * *dequantized* continuous representation (codes mapped back through the codebooks), T × d_codec.
 */
import type { Matrix } from "../common/matrix.ts";
import type { Locations } from "../common/settings.ts";

export interface CodecInfo {
  /** Registry id, e.g. "lyra-6kbps", "encodec-6kbps". */
  id: string;
  /** Architecture family, e.g. "lyra", "encodec", "onnx". */
  family: string;
  sampleRate: number;
  /** Dimension of ê. */
  dCodec: number;
  /** ê frames per second. */
  frameRate: number;
  /** Nominal bitrate in kbit/s of the codes behind ê, when meaningful. */
  bitrateKbps?: number;
  /** Shortest input (samples at `sampleRate`) the codec accepts; shorter audio is an error. */
  minSamples?: number;
  /** Where the weights come from and their licence, for listings and reports. */
  source: string;
}

export interface Codec extends CodecInfo {
  /** Encodes one utterance (mono, at `sampleRate`, independent of anything encoded before) to ê (T × d). */
  encode(audio: Float32Array): Promise<Matrix>;
  /**
   * Codecs with a decoder: ê (T × d, as `encode` returns it) → mono audio at `sampleRate`, from the decoder's
   * initial state (steering edits ê and listens to the result).
   */
  decode?(eHat: Matrix): Promise<Float32Array>;
  /** Frees native resources. */
  dispose(): void;
}

/** Where weights are found (see `resolveCodecWeights`): `modelsDir`, then the `Locations` folders, download. */
export interface LoadOptions extends Locations {
  /** Explicit models directory (`--models DIR`). */
  modelsDir?: string;
  offline?: boolean;
  quiet?: boolean;
  /** Compute threads for engines that take a setting. */
  threads?: number;
  /** onnxruntime execution providers for the ONNX codecs, e.g. ["cuda", "cpu"] (default: CPU). */
  providers?: string[];
}

/** A registry entry: metadata known without loading, plus the loader. */
export interface CodecEntry extends CodecInfo {
  load(opts?: LoadOptions): Promise<Codec>;
  /**
   * Entries with the same `key` are operating points of one model whose encoder pass can be shared (Lyra's
   * bitrates: one encoder, only the quantizer depth differs); `load` gives them all as one CodecGroup.
   */
  shared?: { key: string; load(ids: string[], opts?: LoadOptions): Promise<CodecGroup> };
}

/** Several codecs encoding each utterance together: ê of every one of them, from one shared pass if any. */
export interface CodecGroup {
  /** In the order asked for; all at one sample rate. */
  readonly codecs: CodecInfo[];
  readonly sampleRate: number;
  /** The longest of the members' minimum inputs. */
  readonly minSamples?: number;
  /** ê of each member for one utterance (mono, at `sampleRate`), in `codecs` order. */
  encode(audio: Float32Array): Promise<Matrix[]>;
  dispose(): void;
}

/**
 * The shortest input (samples at `sampleRate`) an utterance may have: the codec's own minimum, and at least one
 * ê frame's worth of audio — shorter audio yields a frame made mostly of padding, and its u describes no speech.
 */
export function shortestInput(c: Pick<CodecInfo, "sampleRate" | "frameRate" | "minSamples">): number {
  return Math.max(c.minSamples ?? 1, Math.ceil(c.sampleRate / c.frameRate));
}

/** A codec's metadata alone (no engines). */
export function codecInfo(c: CodecInfo): CodecInfo {
  const { id, family, sampleRate, dCodec, frameRate, bitrateKbps, minSamples, source } = c;
  return { id, family, sampleRate, dCodec, frameRate, bitrateKbps, minSamples, source };
}

/** One codec as a group of one. */
export function singleCodecGroup(codec: Codec): CodecGroup {
  return {
    codecs: [codecInfo(codec)],
    sampleRate: codec.sampleRate,
    minSamples: codec.minSamples,
    encode: async (audio) => [await codec.encode(audio)],
    dispose: () => codec.dispose(),
  };
}

/** onnxruntime-node's execution provider names. */
export const ONNX_PROVIDERS = ["cpu", "cuda", "tensorrt", "dml", "coreml", "webgpu", "qnn"];

/** "cuda,cpu" → ["cuda", "cpu"], every name checked; `what` names the flag or variable in the error. */
export function parseProviders(text: string, what: string): string[] {
  const names = text.split(",").map((p) => p.trim().toLowerCase()).filter((p) => p !== "");
  for (const n of names) {
    if (!ONNX_PROVIDERS.includes(n)) {
      throw new Error(
        `${what}: unknown onnxruntime execution provider '${n}' (known: ${ONNX_PROVIDERS.join(", ")})`,
      );
    }
  }
  if (names.length === 0) throw new Error(`${what}: no execution provider named`);
  return names;
}
