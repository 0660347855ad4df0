/**
 * Benchmark: full-size ê extraction (encoder + RVQ + dequantize) for 3 s of audio, EnCodec 24 kHz and
 * SpeechTokenizer, our ONNX graphs under onnxruntime-node at 1 and 2 intra-op threads, side by side with a
 * PyTorch CPU run of the same architecture (bench/codecs_seanet_torch.py, when /usr/bin/python3 has torch);
 * our runs and PyTorch's alternate one by one, so both see the same machine load.
 * Random weights of the official sizes (no download). Not a test: prints a Markdown table for BENCHMARKS.md.
 *
 *   deno run -A bench/codecs_seanet.ts [--codecs encodec,speechtokenizer] [--threads 1,2] [--repeats 15] [--no-torch]
 */
import { GraphRunner } from "../lib/codecs/nn/graph_codec.ts";
import { parseArgs } from "node:util";
import { nqForBandwidth, OFFICIAL_24KHZ } from "../lib/codecs/encodec/config.ts";
import { ENCODEC } from "../lib/codecs/encodec/model.ts";
import { randomSeanetWeights } from "../lib/codecs/nn/seanet.ts";
import { OFFICIAL_CONFIG } from "../lib/codecs/speechtokenizer/config.ts";
import { SPEECHTOKENIZER } from "../lib/codecs/speechtokenizer/model.ts";

const { values: args } = parseArgs({
  options: {
    codecs: { type: "string", default: "encodec,speechtokenizer" },
    threads: { type: "string", default: "1,2" },
    repeats: { type: "string", default: "15" },
    warmup: { type: "string", default: "3" },
    "no-torch": { type: "boolean", default: false },
  },
});
const repeats = Number(args.repeats);
const warmup = Number(args.warmup);
const PY = "/usr/bin/python3";
const TORCH_SCRIPT = new URL("./codecs_seanet_torch.py", import.meta.url).pathname;

interface Variant {
  codec: string;
  label: string;
  nq: number;
  sampleRate: number;
  make: (
    threads: number,
  ) => Promise<{ run: (a: Float32Array) => Promise<unknown>; release: () => Promise<void> }>;
}

const variants: Variant[] = [];
if (args.codecs.includes("encodec")) {
  const w = randomSeanetWeights(OFFICIAL_24KHZ.encoder, OFFICIAL_24KHZ.nQ, OFFICIAL_24KHZ.bins);
  for (const kbps of [1.5, 6, 12]) {
    const nq = nqForBandwidth(OFFICIAL_24KHZ, kbps);
    variants.push({
      codec: "encodec",
      label: `encodec-${kbps}kbps`,
      nq,
      sampleRate: 24000,
      make: async (threads) => {
        const r = await GraphRunner.create(ENCODEC, w, OFFICIAL_24KHZ, nq, { threads });
        return { run: (a) => r.run(a, ["ehat"]), release: () => r.release() };
      },
    });
  }
}
if (args.codecs.includes("speechtokenizer")) {
  const cfg = OFFICIAL_CONFIG;
  const w = randomSeanetWeights(cfg.encoder, cfg.nQ, cfg.codebookSize);
  for (const nq of [8, 1]) {
    variants.push({
      codec: "speechtokenizer",
      label: nq === 8 ? "speechtokenizer" : "speechtokenizer-1q",
      nq,
      sampleRate: 16000,
      make: async (threads) => {
        const r = await GraphRunner.create(SPEECHTOKENIZER, w, cfg, nq, { threads });
        return { run: (a) => r.run(a, ["ehat"]), release: () => r.release() };
      },
    });
  }
}

function stats(ms: number[]): { median: number; min: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0] };
}

function audio(sampleRate: number): Float32Array {
  const a = new Float32Array(3 * sampleRate);
  for (let i = 0; i < a.length; i++) {
    a[i] = 0.3 * Math.sin(i * 0.05) * Math.sin(i * 0.0013) + 0.01 * Math.sin(i * 1.7);
  }
  return a;
}

/** A PyTorch process in serve mode: each `run()` times one ê extraction there. */
async function startTorch(
  v: Variant,
  threads: number,
): Promise<{ run: () => Promise<number>; stop: () => Promise<void> } | undefined> {
  if (args["no-torch"]) return undefined;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(PY, {
      args: [TORCH_SCRIPT, v.codec, String(v.nq), String(threads), "0", String(warmup)],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  } catch {
    return undefined;
  }
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const writer = child.stdin.getWriter();
  let buf = "";
  const nextLine = async (): Promise<string> => {
    while (!buf.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("PyTorch process ended");
      buf += value;
    }
    const i = buf.indexOf("\n");
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    return line;
  };
  try {
    if ((await nextLine()).trim() !== "ready") return undefined;
  } catch {
    return undefined;
  }
  return {
    run: async () => {
      await writer.write(new TextEncoder().encode("run\n"));
      return Number(await nextLine());
    },
    stop: async () => {
      await writer.close();
      await child.status;
    },
  };
}

const rows: string[] = [];
for (const threads of args.threads.split(",").map(Number)) {
  for (const v of variants) {
    const runner = await v.make(threads);
    const a = audio(v.sampleRate);
    for (let i = 0; i < warmup; i++) await runner.run(a);
    const torchProc = await startTorch(v, threads);
    // Our runs and PyTorch's alternate, so both see the same load on this shared machine.
    const ms: number[] = [];
    const torchMs: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      await runner.run(a);
      ms.push(performance.now() - t0);
      if (torchProc) torchMs.push(await torchProc.run());
    }
    await runner.release();
    await torchProc?.stop();
    const ours = stats(ms);
    const torch = torchProc ? stats(torchMs) : undefined;
    const ratio = torch ? (torch.median / ours.median).toFixed(2) + "×" : "n/a";
    const row = `| ${v.label} | ${threads} | ${ours.median.toFixed(0)} (${ours.min.toFixed(0)}) | ${
      torch ? `${torch.median.toFixed(0)} (${torch.min.toFixed(0)})` : "n/a"
    } | ${ratio} |`;
    console.error(row);
    rows.push(row);
  }
}
console.log("| codec | threads | ours ms, median (min) | PyTorch ms, median (min) | PyTorch / ours |");
console.log("|---|---|---|---|---|");
for (const r of rows) console.log(r);
