/**
 * One runner for the codecs whose encoder + quantizer is built as one ONNX graph from config + weights (DAC,
 * Mimi, EnCodec, SpeechTokenizer). A family fills in a `GraphFamily` — how to read its config, load its
 * weights and build its graph — and gets registry entries, a `Codec` and a runner for tests and benchmarks.
 *
 * Every graph has the outputs "latent" [T, D] (encoder output before quantization), "codes" [T, n_q] int64
 * and "ehat" [T, D] (the dequantized ê); DAC's also "projLatents".
 */
import { type Matrix, matrix } from "../../common/matrix.ts";
import {
  createSession,
  type FeedValue,
  runSession,
  type Session,
  type SessionOptions,
} from "../../formats/onnx.ts";
import type { TensorMap } from "../../formats/safetensors.ts";
import type { Codec, CodecEntry, CodecInfo, LoadOptions } from "../types.ts";
import { codesByLevel, padToHop } from "./frames.ts";
import type { Net } from "./layers.ts";

/** Weights as a family's loader returns them. */
export interface LoadedWeights<C> {
  weights: TensorMap;
  config: C;
  /** The file the weights came from, for messages and listings. */
  source: string;
}

/** The numbers of a config the runner and the registry need. */
export interface GraphShape {
  sampleRate: number;
  /** Dimension of ê. */
  dCodec: number;
  /** ê frames per second. */
  frameRate: number;
  /** Codebooks in the model, and entries per codebook. */
  nQ: number;
  codebookSize: number;
  /** The input is right zero-padded to a multiple of this many samples (1: no padding). */
  padTo: number;
}

export interface GraphFamily<C> {
  /** Registry family, e.g. "dac". */
  family: string;
  /** Display name for messages, e.g. "DAC". */
  label: string;
  /** Where the weights come from and their licence. */
  source: string;
  /** The official configuration (what the registry lists before any weights are read). */
  official: C;
  shape(cfg: C): GraphShape;
  loadWeights(opts: LoadOptions): Promise<LoadedWeights<C>>;
  buildGraph(w: TensorMap, cfg: C, nQ: number): Net;
  /** Feeds besides the audio, for a padded input of `samples` samples (Mimi's position tables). */
  auxFeeds?(cfg: C, samples: number): Record<string, { data: FeedValue; dims: number[] }>;
}

/** A registry variant: an id and how many codebooks it uses (a function of the loaded config when it varies). */
export interface GraphVariant<C> {
  id: string;
  nQ: number | ((cfg: C) => number);
  /** The nominal bitrate when it names the variant (EnCodec); otherwise frame rate × n_q × log2(codebook size). */
  bitrateKbps?: number;
}

export interface GraphOutputs {
  latent: Matrix;
  /** n_q × T codebook indices, row-major (the official `(n_q, T)` layout). */
  codes: Int32Array;
  ehat: Matrix;
  /** DAC only: the per-stage in_proj outputs side by side, T × (n_q · codebook_dim). */
  projLatents: Matrix;
}

export type GraphOutputName = keyof GraphOutputs;

export class GraphRunner<C> {
  private constructor(
    private readonly family: GraphFamily<C>,
    private readonly session: Session,
    private readonly net: Net,
    readonly config: C,
    readonly nQ: number,
  ) {}

  static async create<C>(
    family: GraphFamily<C>,
    w: TensorMap,
    config: C,
    nQ: number,
    session: SessionOptions = {},
  ): Promise<GraphRunner<C>> {
    const net = family.buildGraph(w, config, nQ);
    return new GraphRunner(family, await createSession(net.finish(), session), net, config, nQ);
  }

  /** Encodes one mono clip at the model's sample rate. */
  async run(
    audio: Float32Array,
    outputs: GraphOutputName[] = ["latent", "codes", "ehat"],
  ): Promise<Partial<GraphOutputs>> {
    if (audio.length === 0) throw new Error(`${this.family.label}: empty audio`);
    const x = padToHop(audio, this.family.shape(this.config).padTo);
    const feeds = { ...this.net.feeds(x), ...this.family.auxFeeds?.(this.config, x.length) };
    const r = await runSession(this.session, feeds, outputs);
    const out: Record<string, Matrix | Int32Array> = {};
    for (const [name, t] of Object.entries(r)) {
      out[name] = name === "codes"
        ? codesByLevel(t.data as BigInt64Array, t.dims[0], this.nQ)
        : matrix(t.dims[0], t.dims[1], t.data as Float32Array);
    }
    return out as Partial<GraphOutputs>;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function bitrate(s: GraphShape, nQ: number): number {
  return (s.frameRate * nQ * Math.log2(s.codebookSize)) / 1000;
}

function infoOf<C>(family: GraphFamily<C>, id: string, cfg: C, nQ: number, kbps?: number): CodecInfo {
  const s = family.shape(cfg);
  return {
    id,
    family: family.family,
    sampleRate: s.sampleRate,
    dCodec: s.dCodec,
    frameRate: s.frameRate,
    bitrateKbps: kbps ?? bitrate(s, nQ),
    minSamples: 1,
    source: family.source,
  };
}

/** Loads a variant: weights, the codebook count checked against the model, the graph session. */
export async function loadGraphCodec<C>(
  family: GraphFamily<C>,
  variant: GraphVariant<C>,
  opts: LoadOptions = {},
): Promise<Codec> {
  const { weights, config, source } = await family.loadWeights(opts);
  const nQ = typeof variant.nQ === "number" ? variant.nQ : variant.nQ(config);
  const s = family.shape(config);
  if (nQ < 1 || nQ > s.nQ) {
    throw new Error(`${source}: ${variant.id} needs ${nQ} codebooks, the model has ${s.nQ}`);
  }
  const runner = await GraphRunner.create(family, weights, config, nQ, {
    threads: opts.threads,
    providers: opts.providers,
  });
  const info = infoOf(family, variant.id, config, nQ, variant.bitrateKbps);
  return {
    ...info,
    source: `${family.source}; loaded from ${source} (${nQ} of ${s.nQ} codebooks × ${s.codebookSize})`,
    encode: async (audio: Float32Array) => (await runner.run(audio, ["ehat"])).ehat!,
    dispose: () => void runner.release(),
  };
}

/** The registry entries of a family's variants, described from its official config. */
export function graphCodecEntries<C>(family: GraphFamily<C>, variants: GraphVariant<C>[]): CodecEntry[] {
  return variants.map((v) => {
    const nQ = typeof v.nQ === "number" ? v.nQ : v.nQ(family.official);
    return {
      ...infoOf(family, v.id, family.official, nQ, v.bitrateKbps),
      load: (opts?: LoadOptions) => loadGraphCodec(family, v, opts),
    };
  });
}
