/**
 * Full-size official architectures (random weights, no download) on 30 s of audio: DAC 24 kHz, Mimi, EnCodec
 * 24 kHz at 6 kbps and SpeechTokenizer — the longest utterance the pipeline feeds a codec. Each run checks the
 * output shapes and frame count and fails when the process RSS grows past the codec's bound (what a 16 GB
 * laptop must hold beside the rest). Moved here from the tests (about 30 s each); run with `deno task bench`:
 *
 *   deno bench --allow-read --allow-env --allow-ffi --allow-sys bench/codecs_full_size_bench.ts
 */
import { GraphRunner } from "../lib/codecs/nn/graph_codec.ts";
import { DAC_24KHZ } from "../lib/codecs/dac/config.ts";
import { DAC } from "../lib/codecs/dac/model.ts";
import { randomDacWeights } from "../lib/codecs/dac/random_weights.ts";
import { MIMI_OFFICIAL_CONFIG, mimiConfigFrom } from "../lib/codecs/mimi/config.ts";
import { MIMI } from "../lib/codecs/mimi/model.ts";
import { randomMimiWeights } from "../lib/codecs/mimi/random_weights.ts";
import { nqForBandwidth, OFFICIAL_24KHZ } from "../lib/codecs/encodec/config.ts";
import { ENCODEC } from "../lib/codecs/encodec/model.ts";
import { randomSeanetWeights } from "../lib/codecs/nn/seanet.ts";
import { OFFICIAL_CONFIG } from "../lib/codecs/speechtokenizer/config.ts";
import { SPEECHTOKENIZER } from "../lib/codecs/speechtokenizer/model.ts";

function audio(seconds: number, rate: number): Float32Array {
  const a = new Float32Array(seconds * rate + 17);
  for (let i = 0; i < a.length; i++) a[i] = 0.3 * Math.sin(i * 0.031) * Math.sin(i * 0.0007);
  return a;
}

function check(what: string, ok: boolean): void {
  if (!ok) throw new Error(`${what}: check failed`);
}

interface Case {
  name: string;
  // deno-lint-ignore no-explicit-any
  runner: () => Promise<GraphRunner<any>>;
  rate: number;
  hop: number;
  dim: number;
  codebooks: number;
  bins: number;
  maxGrowth: number;
}

const CASES: Case[] = [
  {
    name: "dac-24khz",
    runner: () => GraphRunner.create(DAC, randomDacWeights(DAC_24KHZ, 7), DAC_24KHZ, 32),
    rate: 24000,
    hop: 320,
    dim: 1024,
    codebooks: 32,
    bins: 1024,
    maxGrowth: 2e9,
  },
  {
    name: "mimi",
    runner: () => {
      const config = mimiConfigFrom(MIMI_OFFICIAL_CONFIG, "official");
      return GraphRunner.create(MIMI, randomMimiWeights(config, 7), config, 32);
    },
    rate: 24000,
    hop: 1920,
    dim: 512,
    codebooks: 32,
    bins: 2048,
    maxGrowth: 1.2e9,
  },
  {
    name: "encodec-6kbps",
    runner: () =>
      GraphRunner.create(
        ENCODEC,
        randomSeanetWeights(OFFICIAL_24KHZ.encoder, OFFICIAL_24KHZ.nQ, OFFICIAL_24KHZ.bins),
        OFFICIAL_24KHZ,
        nqForBandwidth(OFFICIAL_24KHZ, 6),
      ),
    rate: 24000,
    hop: 320,
    dim: 128,
    codebooks: 8,
    bins: 1024,
    maxGrowth: 1.5e9,
  },
  {
    name: "speechtokenizer",
    runner: () =>
      GraphRunner.create(
        SPEECHTOKENIZER,
        randomSeanetWeights(OFFICIAL_CONFIG.encoder, OFFICIAL_CONFIG.nQ, OFFICIAL_CONFIG.codebookSize),
        OFFICIAL_CONFIG,
        8,
      ),
    rate: 16000,
    hop: 320,
    dim: 1024,
    codebooks: 8,
    bins: 1024,
    maxGrowth: 2e9,
  },
];

for (const c of CASES) {
  Deno.bench({
    name: `${c.name}: full-size architecture, 30 s of audio (shapes, RSS growth ≤ ${c.maxGrowth / 1e9} GB)`,
    n: 1,
    warmup: 0,
    async fn() {
      const runner = await c.runner();
      try {
        const a = audio(30, c.rate);
        const before = Deno.memoryUsage().rss;
        const r = await runner.run(a, ["ehat", "codes"]);
        const grown = Deno.memoryUsage().rss - before;
        const T = Math.ceil(a.length / c.hop);
        check(`${c.name} ê shape`, r.ehat!.rows === T && r.ehat!.cols === c.dim);
        check(
          `${c.name} codes`,
          r.codes!.length === c.codebooks * T && r.codes!.every((v) => v >= 0 && v < c.bins),
        );
        check(`${c.name} finite ê`, r.ehat!.data.every(Number.isFinite));
        console.log(`${c.name} full-size 30 s: RSS grew by ${(grown / 1e6).toFixed(0)} MB`);
        check(`${c.name} RSS grew by ${(grown / 1e6).toFixed(0)} MB`, grown < c.maxGrowth);
      } finally {
        await runner.release();
      }
    },
  });
}
