/**
 * Benchmark: full-size ê extraction (encoder + RVQ + dequantize) for 3 s of audio, DAC 24 kHz (32 and 8
 * codebooks) and Mimi (8 and 32 codebooks), our ONNX graphs under onnxruntime-node at 1 and 2 intra-op threads,
 * side by side with a PyTorch CPU run of the same architecture (bench/codecs_dac_mimi_torch.py, when
 * /usr/bin/python3 has torch). Random weights of the official sizes (no download). Each round times ours then
 * PyTorch, so both see the same machine load. Not a test: prints a Markdown table for BENCHMARKS.md.
 *
 *   deno run -A bench/codecs_dac_mimi.ts [--codecs dac,mimi] [--threads 1,2] [--repeats 10] [--no-torch]
 */
import { GraphRunner } from "../lib/codecs/nn/graph_codec.ts";
import { parseArgs } from "node:util";
import { DAC_24KHZ } from "../lib/codecs/dac/config.ts";
import { DAC } from "../lib/codecs/dac/model.ts";
import { randomDacWeights } from "../lib/codecs/dac/random_weights.ts";
import { MIMI_OFFICIAL_CONFIG, mimiConfigFrom } from "../lib/codecs/mimi/config.ts";
import { MIMI } from "../lib/codecs/mimi/model.ts";
import { randomMimiWeights } from "../lib/codecs/mimi/random_weights.ts";

const { values: args } = parseArgs({
  options: {
    codecs: { type: "string", default: "dac,mimi" },
    threads: { type: "string", default: "1,2" },
    repeats: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    "no-torch": { type: "boolean", default: false },
  },
});
const repeats = Number(args.repeats);
const warmup = Number(args.warmup);
const PY = "/usr/bin/python3";
const TORCH_SCRIPT = new URL("./codecs_dac_mimi_torch.py", import.meta.url).pathname;

interface Variant {
  codec: "dac" | "mimi";
  label: string;
  nq: number;
  make: (
    threads: number,
  ) => Promise<{ run: (a: Float32Array) => Promise<unknown>; release: () => Promise<void> }>;
}

const variants: Variant[] = [];
if (args.codecs.includes("dac")) {
  const w = randomDacWeights(DAC_24KHZ, 1);
  for (const [label, nq] of [["dac-24khz", 32], ["dac-24khz-8q", 8]] as const) {
    variants.push({
      codec: "dac",
      label,
      nq,
      make: async (threads) => {
        const r = await GraphRunner.create(DAC, w, DAC_24KHZ, nq, { threads });
        return { run: (a) => r.run(a, ["ehat"]), release: () => r.release() };
      },
    });
  }
}
if (args.codecs.includes("mimi")) {
  const cfg = mimiConfigFrom(MIMI_OFFICIAL_CONFIG, "official");
  const w = randomMimiWeights(cfg, 1);
  for (const [label, nq] of [["mimi", 8], ["mimi-all", 32]] as const) {
    variants.push({
      codec: "mimi",
      label,
      nq,
      make: async (threads) => {
        const r = await GraphRunner.create(MIMI, w, cfg, nq, { threads });
        return { run: (a) => r.run(a, ["ehat"]), release: () => r.release() };
      },
    });
  }
}

function stats(ms: number[]): { median: number; min: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0] };
}

/** The same 3 s signal as the PyTorch script. */
function audio(): Float32Array {
  const a = new Float32Array(72000);
  for (let i = 0; i < a.length; i++) {
    a[i] = 0.3 * Math.sin(i * 0.05) * Math.sin(i * 0.0013) + 0.01 * Math.sin(i * 1.7);
  }
  return a;
}

async function torchTimes(v: Variant, threads: number): Promise<{ median: number; min: number } | undefined> {
  if (args["no-torch"]) return undefined;
  try {
    const out = await new Deno.Command(PY, {
      args: [TORCH_SCRIPT, v.codec, String(v.nq), String(threads), String(repeats), String(warmup)],
      stderr: "inherit",
    }).output();
    if (!out.success) return undefined;
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    return JSON.parse(lines[lines.length - 1]);
  } catch {
    return undefined;
  }
}

const load = () => Deno.loadavg().map((x) => x.toFixed(1)).join(" ");
const rows: string[] = [];
for (const threads of args.threads.split(",").map(Number)) {
  for (const v of variants) {
    const runner = await v.make(threads);
    const a = audio();
    for (let i = 0; i < warmup; i++) await runner.run(a);
    const ms: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      await runner.run(a);
      ms.push(performance.now() - t0);
    }
    await runner.release();
    const ours = stats(ms);
    const torch = await torchTimes(v, threads);
    const ratio = torch ? (torch.median / ours.median).toFixed(2) + "×" : "n/a";
    const row = `| ${v.label} | ${threads} | ${ours.median.toFixed(0)} (${ours.min.toFixed(0)}) | ${
      torch ? `${torch.median.toFixed(0)} (${torch.min.toFixed(0)})` : "n/a"
    } | ${ratio} | ${load()} |`;
    console.error(row);
    rows.push(row);
  }
}
console.log(
  "| codec | threads | ours median (min) ms | PyTorch median (min) ms | PyTorch / ours | load avg |",
);
console.log("| --- | --- | --- | --- | --- | --- |");
for (const r of rows) console.log(r);
