/**
 * What notebook 01 shows about Sec. 2.1, as tables: the registered codecs, and the extraction examples of
 * lib/extract/example.ts (one utterance through audio preparation to ê and u).
 */
import pl from "nodejs-polars";
import type { CodecInfo } from "../codecs/types.ts";
import type { ExtractionExample } from "../extract/example.ts";

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
