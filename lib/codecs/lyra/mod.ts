/**
 * Lyra v2 (SoundStream), google/lyra v1.3.2, run from its own TFLite files with LiteRT.js.
 *
 * ê = quantizer.decode(quantizer.encode(encoder(frame), nq)) per 20 ms frame: 16 kHz audio is cut into
 * 320-sample frames; the last partial frame is zero-padded to a whole frame, so T = ceil(samples / 320).
 * The encoder (and the lyragan decoder) are streaming models whose state lives in resource variables; each
 * utterance starts from the zero state by recompiling the interpreter (see `TfliteModel.resetState`), so an
 * utterance's ê never depends on what was encoded before it.
 *
 * The three bitrates share the encoder and differ only in how many residual quantizers are used. The RVQ is
 * greedy (stage i quantizes what stages < i left), so the first n codes at depth 46 are the codes at depth n
 * (tests/codecs_lyra_test.ts checks it): `LyraCodec.loadGroup` encodes each utterance once at the deepest
 * bitrate asked for and decodes the codes cut to each depth — ê bit-identical to one codec per bitrate.
 */
import { join } from "node:path";
import { type AssetSpec, resolveAsset } from "../../common/assets.ts";
import type { Matrix } from "../../common/matrix.ts";
import {
  type Codec,
  type CodecEntry,
  type CodecGroup,
  type CodecInfo,
  codecInfo,
  type LoadOptions,
} from "../types.ts";
import { HeapCheckpoint, TfliteModel } from "./litert.ts";
import { log } from "../../common/progress.ts";
import { homesOf } from "../../common/settings.ts";

const RAW = "https://raw.githubusercontent.com/google/lyra/v1.3.2/lyra/model_coeffs";

export const LYRA_ASSET: AssetSpec = {
  name: "lyra-v1.3.2",
  files: [
    {
      path: "soundstream_encoder.tflite",
      url: `${RAW}/soundstream_encoder.tflite`,
      sha256: "237da0b16226fb0a68d49551c81bebf614e42142af72764448359f68581e88f1",
    },
    {
      path: "quantizer.tflite",
      url: `${RAW}/quantizer.tflite`,
      sha256: "841ee05989687d32d1f616a8ad1419fc7eda37599d3c05c7cf5a0d60ccf8ac5c",
    },
    {
      path: "lyragan.tflite",
      url: `${RAW}/lyragan.tflite`,
      sha256: "50e7839cda4f30599a3a34cfaddcd9c98449b049eee884e1a74295780448ad06",
    },
  ],
};

export const LYRA_SAMPLE_RATE = 16000;
export const LYRA_FRAME = 320;
export const LYRA_DIM = 64;
/** Depth of the residual VQ in quantizer.tflite (4-bit codebooks). */
export const LYRA_MAX_QUANTIZERS = 46;

const SOURCE = "google/lyra v1.3.2 model_coeffs (SoundStream TFLite), Apache-2.0";

/** The three operating points of Lyra v2: quantizers × 4 bits × 50 frames/s. */
export const LYRA_BITRATES: { id: string; quantizers: number; bitrateKbps: number }[] = [
  { id: "lyra-3.2kbps", quantizers: 16, bitrateKbps: 3.2 },
  { id: "lyra-6kbps", quantizers: 30, bitrateKbps: 6 },
  { id: "lyra-9.2kbps", quantizers: 46, bitrateKbps: 9.2 },
];

function info(id: string, bitrateKbps: number): CodecInfo {
  return {
    id,
    family: "lyra",
    sampleRate: LYRA_SAMPLE_RATE,
    dCodec: LYRA_DIM,
    frameRate: LYRA_SAMPLE_RATE / LYRA_FRAME,
    bitrateKbps,
    minSamples: 1,
    source: SOURCE,
  };
}

/** Registry entries for the three bitrates (one shared encoder pass when extracted together). */
export const LYRA_CODECS: CodecEntry[] = LYRA_BITRATES.map((b) => ({
  ...info(b.id, b.bitrateKbps),
  load: (opts?: LoadOptions) => LyraCodec.load(b.quantizers, opts),
  shared: { key: "lyra-v2", load: (ids: string[], opts?: LoadOptions) => LyraCodec.loadGroup(ids, opts) },
}));

export class LyraCodec implements Codec {
  readonly id: string;
  readonly family = "lyra";
  readonly sampleRate = LYRA_SAMPLE_RATE;
  readonly dCodec = LYRA_DIM;
  readonly frameRate = LYRA_SAMPLE_RATE / LYRA_FRAME;
  readonly bitrateKbps: number;
  readonly minSamples = 1;
  readonly source = SOURCE;
  private decoder?: TfliteModel;
  private readonly codesOutput: number;
  /** Identifies this codec's runs to the heap checkpoint (see litert.ts). */
  private readonly owner = {};
  private checkpoint?: HeapCheckpoint;
  private lastFrames = 0;
  private useSnapshots = true;
  private busy: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly quantizers: number,
    private readonly modelDir: string,
    private readonly encoder: TfliteModel,
    private readonly quantizer: TfliteModel,
  ) {
    const b = LYRA_BITRATES.find((x) => x.quantizers === quantizers);
    this.id = b?.id ?? `lyra-${quantizers}q`;
    this.bitrateKbps = (quantizers * 4 * 50) / 1000;
    this.codesOutput = quantizer.outputNames("encode").indexOf("output_0");
    if (this.codesOutput < 0) throw new Error(`${quantizer.source}: 'encode' has no output_0 (codes)`);
  }

  /** Loads the encoder and quantizer (the decoder lazily, on first `decode`). */
  static async load(quantizers: number, opts: LoadOptions = {}): Promise<LyraCodec> {
    if (!Number.isInteger(quantizers) || quantizers < 1 || quantizers > LYRA_MAX_QUANTIZERS) {
      throw new Error(`Lyra: quantizers must be an integer in 1..${LYRA_MAX_QUANTIZERS}, got ${quantizers}`);
    }
    const dir = await resolveAsset(LYRA_ASSET, {
      dir: opts.modelsDir,
      homes: homesOf(opts, "models"),
      cacheDir: opts.cacheDir,
      offline: opts.offline,
      quiet: opts.quiet,
    });
    const load = async (f: string) => TfliteModel.load(await Deno.readFile(join(dir, f)), join(dir, f));
    const encoder = await load("soundstream_encoder.tflite");
    const quantizer = await load("quantizer.tflite");
    return new LyraCodec(quantizers, dir, encoder, quantizer);
  }

  /**
   * Several bitrates as one group: one encoder + quantizer pass per utterance at the deepest of them, then
   * each bitrate's ê decoded from the codes cut to its depth.
   */
  static async loadGroup(ids: string[], opts: LoadOptions = {}): Promise<CodecGroup> {
    const depths = ids.map((id) => {
      const b = LYRA_BITRATES.find((x) => x.id === id);
      if (!b) throw new Error(`Lyra: unknown bitrate id '${id}' (known: ${LYRA_BITRATES.map((x) => x.id)})`);
      return b.quantizers;
    });
    const codec = await LyraCodec.load(Math.max(...depths), opts);
    return {
      codecs: ids.map((id, i) => codecInfo(info(id, (depths[i] * 4 * 50) / 1000))),
      sampleRate: LYRA_SAMPLE_RATE,
      minSamples: 1,
      encode: (audio) => codec.encodeDepths(audio, depths),
      dispose: () => codec.dispose(),
    };
  }

  /** Runs `fn` after every earlier call on this codec finished: the models hold one stream's state. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.then(fn, fn);
    this.busy = run.catch(() => {});
    return run;
  }

  /** ê (T × 64) of one utterance (mono, 16 kHz), from the zero streaming state. */
  async encode(audio: Float32Array): Promise<Matrix> {
    return (await this.encodeDepths(audio, [this.quantizers]))[0];
  }

  /**
   * ê at several quantizer depths (each ≤ this codec's) from one encoder + quantizer pass: the codes of the
   * deepest, with those beyond each depth marked unused (-1), which is what quantizing at that depth gives.
   */
  encodeDepths(audio: Float32Array, depths: number[]): Promise<Matrix[]> {
    for (const n of depths) {
      if (!Number.isInteger(n) || n < 1 || n > this.quantizers) {
        throw new Error(`${this.id}: quantizer depth must be an integer in 1..${this.quantizers}, got ${n}`);
      }
    }
    return this.exclusive(() => this.encodeDepthsNow(audio, depths));
  }

  private async encodeDepthsNow(audio: Float32Array, depths: number[]): Promise<Matrix[]> {
    const outs = depths.map(() => new Float32Array(Math.ceil(audio.length / LYRA_FRAME) * LYRA_DIM));
    const cut = new Int32Array(LYRA_MAX_QUANTIZERS);
    const frames = await this.quantize(audio, Math.max(...depths), (t, codes) => {
      depths.forEach((n, i) => {
        cut.set(codes);
        cut.fill(-1, n);
        const [eHat] = this.quantizer.run(
          "decode",
          [{ data: cut, shape: [LYRA_MAX_QUANTIZERS, 1, 1] }],
          this.owner,
        );
        outs[i].set(eHat, t * LYRA_DIM);
      });
    });
    return outs.map((data) => ({ rows: frames, cols: LYRA_DIM, data }));
  }

  /** The codes (T × 46, int32; -1 marks quantizers beyond this bitrate) behind ê, for inspection. */
  codes(audio: Float32Array): Promise<{ rows: number; cols: number; data: Int32Array }> {
    return this.exclusive(() => this.codesNow(audio));
  }

  private async codesNow(audio: Float32Array): Promise<{ rows: number; cols: number; data: Int32Array }> {
    const out = new Int32Array(Math.ceil(audio.length / LYRA_FRAME) * LYRA_MAX_QUANTIZERS);
    const frames = await this.quantize(
      audio,
      this.quantizers,
      (t, codes) => out.set(codes, t * LYRA_MAX_QUANTIZERS),
    );
    return { rows: frames, cols: LYRA_MAX_QUANTIZERS, data: out };
  }

  /**
   * Encoder + RVQ encode at `depth` quantizers over whole (zero-padded) frames from the zero state; returns
   * the frame count.
   */
  private async quantize(
    audio: Float32Array,
    depth: number,
    onFrame: (t: number, codes: Int32Array) => void,
  ): Promise<number> {
    const frames = frameCount(audio, this.id);
    await this.zeroState();
    this.lastFrames = frames;
    const nq = new Int32Array([depth]);
    const frame = new Float32Array(LYRA_FRAME);
    for (let t = 0; t < frames; t++) {
      frame.fill(0);
      frame.set(audio.subarray(t * LYRA_FRAME, Math.min(audio.length, (t + 1) * LYRA_FRAME)));
      const [e] = this.encoder.run("serving_default", [{ data: frame, shape: [1, LYRA_FRAME] }], this.owner);
      const codes = this.quantizer.run("encode", [
        { data: nq, shape: [] },
        { data: e, shape: [1, 1, LYRA_DIM] },
      ], this.owner)[this.codesOutput];
      onFrame(t, codes as Int32Array);
    }
    return frames;
  }

  /**
   * Puts the encoder in its zero streaming state: by restoring the WASM heap to the snapshot taken after
   * the last recompile when that snapshot is still valid (exact, ~0.05 ms), else by recompiling (~5 ms).
   */
  private async zeroState(): Promise<void> {
    const cp = this.checkpoint;
    if (cp?.restore(this.lastFrames)) return;
    if (cp?.broken && this.useSnapshots) {
      this.useSnapshots = false;
      log(`warning: ${this.id}: heap checkpoint missed a page; resetting by recompiling from now on`);
    }
    this.checkpoint = undefined;
    await this.encoder.resetState();
    if (!this.useSnapshots) return;
    this.encoder.prepare("serving_default", [{ data: new Float32Array(LYRA_FRAME), shape: [1, LYRA_FRAME] }]);
    this.quantizer.prepare("encode", [
      { data: new Int32Array(1), shape: [] },
      { data: new Float32Array(LYRA_DIM), shape: [1, 1, LYRA_DIM] },
    ]);
    this.quantizer.prepare("decode", [{
      data: new Int32Array(LYRA_MAX_QUANTIZERS),
      shape: [LYRA_MAX_QUANTIZERS, 1, 1],
    }]);
    this.checkpoint = await HeapCheckpoint.take(this.owner);
  }

  /** Lyra's lyragan decoder: ê (T × 64) → 16 kHz audio (T × 320 samples), from the zero state. */
  decode(eHat: Matrix): Promise<Float32Array> {
    return this.exclusive(() => this.decodeNow(eHat));
  }

  private async decodeNow(eHat: Matrix): Promise<Float32Array> {
    if (eHat.cols !== LYRA_DIM) {
      throw new Error(`${this.id} decode: ê must have ${LYRA_DIM} columns, got ${eHat.cols}`);
    }
    if (!this.decoder) {
      const p = join(this.modelDir, "lyragan.tflite");
      this.decoder = await TfliteModel.load(await Deno.readFile(p), p);
    } else {
      await this.decoder.resetState();
    }
    const audio = new Float32Array(eHat.rows * LYRA_FRAME);
    for (let t = 0; t < eHat.rows; t++) {
      const x = eHat.data.subarray(t * LYRA_DIM, (t + 1) * LYRA_DIM);
      const [y] = this.decoder.run("serving_default", [{ data: x, shape: [1, 1, LYRA_DIM] }]);
      audio.set(y, t * LYRA_FRAME);
    }
    return audio;
  }

  dispose(): void {
    this.encoder.delete();
    this.quantizer.delete();
    this.decoder?.delete();
  }
}

function frameCount(audio: Float32Array, id: string): number {
  if (audio.length === 0) throw new Error(`${id}: empty audio`);
  for (let i = 0; i < audio.length; i++) {
    if (!Number.isFinite(audio[i])) throw new Error(`${id}: non-finite sample ${audio[i]} at index ${i}`);
  }
  return Math.ceil(audio.length / LYRA_FRAME);
}
