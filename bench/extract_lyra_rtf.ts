/**
 * Lyra extraction speed: real-time factor (audio seconds per wall-clock second) of `extractFeatures` on real
 * speech (FSDD recordings, 8 kHz → resampled to 16 kHz) at 1 and 2 workers, runs interleaved so both see the
 * same machine load. Also reports CPU time (all threads), since a shared machine inflates wall-clock time.
 *
 *   deno run -A bench/extract_lyra_rtf.ts [--codec lyra-6kbps] [--n 600] [--reps 2] [--fsdd DIR]
 *
 * Every run encodes into a fresh temporary store (nothing cached) and includes worker start-up.
 */
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { modelsDirFromEnv, sharedDir } from "../lib/cli/settings.ts";
import { extractFeatures } from "../lib/extract/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    codec: { type: "string", default: "lyra-6kbps" },
    n: { type: "string", default: "600" },
    reps: { type: "string", default: "2" },
    fsdd: { type: "string", default: join(sharedDir() ?? "../shared", "data", "fsdd") },
    models: { type: "string", default: modelsDirFromEnv() ?? "../shared/models" },
  },
});
const n = Number(values.n), reps = Number(values.reps);
const rec = join(values.fsdd!, "recordings");
const files = [...Deno.readDirSync(rec)].map((e) => e.name).filter((f) => f.endsWith(".wav")).sort();
if (files.length === 0) throw new Error(`${rec}: no FSDD recordings`);
// Spread the subset over all speakers and digits (every k-th file in sorted order).
const step = Math.max(1, Math.floor(files.length / n));
const subset = files.filter((_, i) => i % step === 0).slice(0, n);
const dir = await Deno.makeTempDir({ prefix: "nac-sae-bench-" });
const manifest = join(dir, "manifest.csv");
await Deno.writeTextFile(
  manifest,
  "utterance_id,path,dataset,speaker_id,accent_narrow,accent_broad,split\n" +
    subset.map((f) => `${f.slice(0, -4)},${join(rec, f)},fsdd,${f.split("_")[1]},Other,Other,train`).join(
      "\n",
    ) + "\n",
);

const results: Record<number, { rtf: number[]; cpuRtf: number[]; uttPerS: number[] }> = {
  1: { rtf: [], cpuRtf: [], uttPerS: [] },
  2: { rtf: [], cpuRtf: [], uttPerS: [] },
};
let audioSeconds = 0;
for (let r = 0; r < reps; r++) {
  for (const workers of [1, 2]) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const fs = await extractFeatures({
      manifestPath: manifest,
      codecId: values.codec!,
      storeDir: join(dir, `store-${r}-${workers}`),
      workers,
      modelsDir: values.models,
      offline: true,
      quiet: true,
    });
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    audioSeconds = fs.summary.audioSeconds;
    results[workers].rtf.push(audioSeconds / wall);
    results[workers].cpuRtf.push(audioSeconds / cpuSeconds);
    results[workers].uttPerS.push(fs.summary.total / wall);
    console.log(
      `rep ${r} workers ${workers}: ${fs.summary.total} utt, ${audioSeconds.toFixed(1)} s audio in ${
        wall.toFixed(1)
      } s ` +
        `wall (${(audioSeconds / wall).toFixed(1)}× real time, ${
          (fs.summary.total / wall).toFixed(1)
        } utt/s), ` +
        `CPU ${cpuSeconds.toFixed(1)} s (${(audioSeconds / cpuSeconds).toFixed(1)}× real time per core)`,
    );
  }
}
const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
const load = Deno.loadavg();
const summary = {
  codec: values.codec,
  utterances: subset.length,
  audioSeconds,
  loadAverage1m: load[0],
  workers1: {
    rtf: median(results[1].rtf),
    uttPerS: median(results[1].uttPerS),
    rtfPerCpuSecond: median(results[1].cpuRtf),
  },
  workers2: {
    rtf: median(results[2].rtf),
    uttPerS: median(results[2].uttPerS),
    rtfPerCpuSecond: median(results[2].cpuRtf),
  },
  speedup2vs1: median(results[2].rtf) / median(results[1].rtf),
};
console.log(JSON.stringify(summary));
await Deno.remove(dir, { recursive: true });
