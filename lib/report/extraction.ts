/**
 * What notebook 01 shows about Sec. 2.1: the registered codecs, and one utterance taken through audio
 * preparation (decode → first 30 s → mono → resample to the codec's rate) to ê (T × d_codec) and u = mean ê.
 */
import pl from "nodejs-polars";
import { join } from "node:path";
import { type AssetSpec, resolveAsset, sharedDir } from "../common/assets.ts";
import { exists } from "../common/fs.ts";
import { decodeAudio, loadAudio } from "../audio/mod.ts";
import { getCodec } from "../codecs/registry.ts";
import { type CodecInfo, type LoadOptions, meanOverTime } from "../codecs/types.ts";

/** Lyra's own 48 kHz sample speech (Apache-2.0), so the example also exercises resampling. */
export const LYRA_SAMPLE_SPEECH: AssetSpec = {
  name: "lyra-v1.3.2-testdata",
  envVar: "NAC_SAE_MODELS",
  files: [{
    path: "sample1_48kHz.wav",
    url: "https://raw.githubusercontent.com/google/lyra/v1.3.2/lyra/testdata/sample1_48kHz.wav",
    sha256: "36082f99def471d2c72ae9460a823dc8ed7d2667069ede7afa8dc6da988e2b54",
  }],
};

/** Models folder for the examples: NAC_SAE_MODELS, else ../shared/models when present (else cache/download). */
export function exampleModelsDir(): string | undefined {
  return Deno.env.get("NAC_SAE_MODELS") ?? (sharedDir() ? join(sharedDir()!, "models") : undefined);
}

/** Path of the sample speech: next to the Lyra models, else cache/download. */
export async function sampleSpeechPath(): Promise<string> {
  const models = exampleModelsDir();
  const beside = models ? join(models, "lyra-v1.3.2", "testdata") : undefined;
  const dir = await resolveAsset(LYRA_SAMPLE_SPEECH, {
    dir: beside && (await exists(beside)) ? beside : undefined,
    quiet: true,
  });
  return join(dir, LYRA_SAMPLE_SPEECH.files[0].path);
}

export interface ExtractionExample {
  codec: string;
  path: string;
  sourceSampleRate: number;
  sourceChannels: number;
  sourceSeconds: number;
  /** Samples after crop, mono and resampling to the codec's rate. */
  samples: number;
  sampleRate: number;
  /** ê: frames × d_codec. */
  frames: number;
  dCodec: number;
  u: Float32Array;
  encodeSeconds: number;
}

/** Takes one audio file through the paper's preparation and a codec to ê and u. */
export async function extractionExample(
  codecId: string,
  audioPath: string,
  opts: LoadOptions = {},
): Promise<ExtractionExample> {
  opts = { modelsDir: exampleModelsDir(), ...opts };
  const entry = await getCodec(codecId, opts);
  const source = await decodeAudio(audioPath);
  const audio = await loadAudio(audioPath, { sampleRate: entry.sampleRate });
  const codec = await entry.load({ quiet: true, ...opts });
  try {
    const t0 = performance.now();
    const e = await codec.encode(audio);
    return {
      codec: codecId,
      path: audioPath,
      sourceSampleRate: source.sampleRate,
      sourceChannels: source.channels.length,
      sourceSeconds: source.channels[0].length / source.sampleRate,
      samples: audio.length,
      sampleRate: entry.sampleRate,
      frames: e.rows,
      dCodec: e.cols,
      u: meanOverTime(e),
      encodeSeconds: (performance.now() - t0) / 1000,
    };
  } finally {
    codec.dispose();
  }
}

/** Registered codecs as a table (id, family, rate, d_codec, frame rate, bitrate, weights). */
export function codecTable(entries: CodecInfo[]): pl.DataFrame {
  return pl.DataFrame([
    pl.Series("id", entries.map((e) => e.id), pl.Utf8),
    pl.Series("family", entries.map((e) => e.family), pl.Utf8),
    pl.Series("sample_rate", entries.map((e) => e.sampleRate), pl.Int32),
    pl.Series("d_codec", entries.map((e) => e.dCodec), pl.Int32),
    pl.Series("frames_per_s", entries.map((e) => e.frameRate), pl.Float64),
    pl.Series("bitrate_kbps", entries.map((e) => e.bitrateKbps ?? null), pl.Float64),
    pl.Series("source", entries.map((e) => e.source), pl.Utf8),
  ]);
}

/** One row per example: source format → prepared audio → ê shape → summary of u. */
export function extractionTable(examples: ExtractionExample[]): pl.DataFrame {
  const norm = (u: Float32Array) => Math.sqrt(u.reduce((a, b) => a + b * b, 0));
  return pl.DataFrame([
    pl.Series("codec", examples.map((x) => x.codec), pl.Utf8),
    pl.Series(
      "source",
      examples.map((x) =>
        `${x.sourceSampleRate} Hz × ${x.sourceChannels} ch, ${x.sourceSeconds.toFixed(2)} s`
      ),
      pl.Utf8,
    ),
    pl.Series("prepared_samples", examples.map((x) => x.samples), pl.Int32),
    pl.Series("codec_rate", examples.map((x) => x.sampleRate), pl.Int32),
    pl.Series("e_hat_shape", examples.map((x) => `${x.frames} × ${x.dCodec}`), pl.Utf8),
    pl.Series("u_dim", examples.map((x) => x.u.length), pl.Int32),
    pl.Series("u_l2_norm", examples.map((x) => norm(x.u)), pl.Float64),
    pl.Series("encode_seconds", examples.map((x) => x.encodeSeconds), pl.Float64),
  ]);
}
