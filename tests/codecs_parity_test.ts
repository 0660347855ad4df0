/**
 * Parity of every graph codec family against the official code's outputs (../shared/fixtures/codecs/<family>):
 * latent, codes and ê for each codebook count the fixture holds, on the long clip (not a multiple of the hop)
 * and the short one. One suite, one case per family: what differs is declared in the case (the fixture's
 * config facts, its variants, how near-ties are marked, DAC's extra output).
 */
import { assertEquals } from "@std/assert";
import { DAC } from "../lib/codecs/dac/model.ts";
import { readDacWeights } from "../lib/codecs/dac/weights.ts";
import { nqForBandwidth } from "../lib/codecs/encodec/config.ts";
import { ENCODEC } from "../lib/codecs/encodec/model.ts";
import { readEncodecWeights } from "../lib/codecs/encodec/weights.ts";
import { MIMI } from "../lib/codecs/mimi/model.ts";
import { readMimiWeights } from "../lib/codecs/mimi/weights.ts";
import { type GraphFamily, GraphRunner, type LoadedWeights } from "../lib/codecs/nn/graph_codec.ts";
import { SPEECHTOKENIZER } from "../lib/codecs/speechtokenizer/model.ts";
import { readSptWeights } from "../lib/codecs/speechtokenizer/weights.ts";
import { assertClose, assertCodes, CODEC_FIXTURES, npyF32, npyInt } from "./codecs_fixture_util.ts";
import { skipWithout } from "./tools.ts";

interface ParityCase<C> {
  name: string;
  family: GraphFamily<C>;
  /** Fixture folder under fixtures/codecs. */
  folder: string;
  read: (kind: "safetensors", files: string[]) => Promise<LoadedWeights<C>>;
  /** Facts of the fixture's config (a scaled-down model), checked before anything runs. */
  facts: (cfg: C) => unknown[];
  expected: unknown[];
  /** File tag of each variant (`codes_<tag>.npy`) and its codebook count. */
  variants: [string, number][];
  /** Samples per ê frame. */
  hop: number;
  /** The reference's near-tie measure per code (n_q × T, first n_q rows used) and the tie threshold. */
  margin?: { file: string; tie: number; skipEhatRows: boolean };
  /** No near-tie may be skipped (the fixture README states every decision's margin). */
  exactCodes: boolean;
  /** DAC: the variant whose `proj_latents_<tag>.npy` is compared with the projLatents output. */
  projLatents?: string;
}

async function parity<C>(c: ParityCase<C>): Promise<void> {
  const dir = `${CODEC_FIXTURES}/${c.folder}`;
  const { weights, config } = await c.read("safetensors", [
    `${dir}/weights.safetensors`,
    `${dir}/config.json`,
  ]);
  assertEquals(c.facts(config), c.expected);
  const errors: string[] = [];
  for (const [tag, nQ] of c.variants) {
    const runner = await GraphRunner.create(c.family, weights, config, nQ, { threads: 1 });
    try {
      for (const suffix of ["", "_short"]) {
        const audio = (await npyF32(`${dir}/input${suffix}.npy`)).data;
        const r = await runner.run(audio, [
          "latent",
          "codes",
          "ehat",
          ...(c.projLatents ? ["projLatents" as const] : []),
        ]);
        const latent = await npyF32(`${dir}/latent${suffix}.npy`);
        assertEquals([r.latent!.rows, r.latent!.cols], latent.shape);
        assertEquals(r.latent!.rows, Math.ceil(audio.length / c.hop));
        const eLat = assertClose(`latent${suffix}`, r.latent!.data, latent.data);
        const T = latent.shape[0];
        const margin = c.margin &&
          (await npyF32(`${dir}/${c.margin.file}${suffix}.npy`)).data.subarray(0, nQ * T);
        const skipped = assertCodes(
          `codes_${tag}${suffix}`,
          r.codes!,
          (await npyInt(`${dir}/codes_${tag}${suffix}.npy`)).data,
          nQ,
          margin,
          c.margin?.tie,
        );
        if (c.exactCodes) assertEquals(skipped.size, 0);
        const eHat = assertClose(
          `ehat_${tag}${suffix}`,
          r.ehat!.data,
          (await npyF32(`${dir}/ehat_${tag}${suffix}.npy`)).data,
          1e-4,
          r.ehat!.cols,
          c.margin?.skipEhatRows ? skipped : undefined,
        );
        let eProj = "";
        if (tag === c.projLatents) {
          // The official `latents` output: stage i's in_proj output in columns 8i … 8i+7.
          const proj = await npyF32(`${dir}/proj_latents_${tag}${suffix}.npy`);
          assertEquals([r.projLatents!.rows, r.projLatents!.cols], proj.shape);
          eProj = `, in_proj latents ${
            assertClose(`proj_latents_${tag}${suffix}`, r.projLatents!.data, proj.data).toExponential(2)
          }`;
        }
        errors.push(
          `${tag}${suffix}: latent ${eLat.toExponential(2)}, ê ${eHat.toExponential(2)}${eProj}` +
            (c.margin ? `, near-tie frames ${skipped.size}` : ""),
        );
      }
    } finally {
      await runner.release();
    }
  }
  console.log(`${c.folder} parity (max|Δ| / max|ref|): ${errors.join("; ")}`);
}

function parityTest<C>(testName: string, c: ParityCase<C>): void {
  Deno.test({
    name: testName,
    ignore: skipWithout(import.meta.url, "../shared/fixtures/codecs", !CODEC_FIXTURES),
    fn: () => parity(c),
  });
}

parityTest("dac: fixture parity (latent, codes, ê; all 32 and 8 codebooks; long and short clip)", {
  name: "dac",
  family: DAC,
  folder: "dac_24khz",
  read: readDacWeights,
  facts: (cfg) => [cfg.encoderDim, cfg.latentDim, cfg.nCodebooks, cfg.codebookDim],
  expected: [4, 64, 32, 8],
  variants: [["all", 32], ["8", 8]],
  hop: 320,
  // No near-ties: the smallest top-1/top-2 gap is 1.7e-5 (README), so every code must match.
  exactCodes: true,
  projLatents: "all",
});

parityTest("mimi: fixture parity (latent, codes, ê; 8 and 32 codebooks; long and short clip)", {
  name: "mimi",
  family: MIMI,
  folder: "mimi",
  read: readMimiWeights,
  facts: (cfg) => [cfg.transformer.context, cfg.quantizer.bins, cfg.quantizer.nQ],
  expected: [16, 64, 32],
  variants: [["8", 8], ["all", 32]],
  hop: 1920,
  // nn_gap is the relative gap (d²₂ − d²₁)/d²₁; below 1e-4 a float32 flip is a legitimate near-tie.
  margin: { file: "nn_gap_all", tie: 1e-4, skipEhatRows: true },
  exactCodes: false,
});

parityTest("encodec: primary fixture parity (1.5/6/12 kbps, long and short clip)", {
  name: "encodec",
  family: ENCODEC,
  folder: "encodec_24khz",
  read: readEncodecWeights,
  facts: (
    cfg,
  ) => [cfg.bins, cfg.nQ, cfg.encoder.nFilters, ...[1.5, 6, 12].map((bw) => nqForBandwidth(cfg, bw))],
  expected: [256, 24, 4, 2, 10, 20],
  variants: [["1.5", 2], ["6", 10], ["12", 20]],
  hop: 320,
  margin: { file: "margin_12", tie: 1e-5, skipEhatRows: false },
  exactCodes: true,
});

parityTest("speechtokenizer: fixture parity (8 and 1 layers, long and short clip)", {
  name: "speechtokenizer",
  family: SPEECHTOKENIZER,
  folder: "speechtokenizer",
  read: readSptWeights,
  facts: (cfg) => [cfg.encoder.dimension, cfg.codebookSize, cfg.nQ],
  expected: [96, 128, 8],
  variants: [["8", 8], ["1", 1]],
  hop: 320,
  // README: every fixture decision has an L2 margin ≥ 5e-3, so codes must match exactly.
  exactCodes: true,
});
