/**
 * Lyra extraction at the demo's three bitrates (3.2 / 6 / 9.2 kbps): one `extractFeatures` per bitrate
 * ("separate", three encoder passes per utterance) against `extractFeatureSets` ("shared", one encoder +
 * quantizer pass, three decodes), on Speech Accent Archive recordings (~20 s each, 8 kHz FLAC → 16 kHz),
 * 2 workers, fresh stores, runs interleaved so both see the same load. Reports wall and CPU seconds (all
 * threads) per audio second; the stores of both modes are compared bit for bit.
 *
 *   deno run -A bench/extract_lyra_shared.ts [--n 6] [--reps 2] [--saa DIR]
 */
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { modelsDirFromEnv, sharedDir } from "../lib/cli/settings.ts";
import { extractFeatures, extractFeatureSets } from "../lib/extract/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    n: { type: "string", default: "6" },
    reps: { type: "string", default: "2" },
    workers: { type: "string", default: "2" },
    saa: { type: "string", default: join(sharedDir() ?? "../shared", "data", "saa", "recordings") },
    models: { type: "string", default: modelsDirFromEnv() ?? "../shared/models" },
  },
});
const n = Number(values.n), reps = Number(values.reps), workers = Number(values.workers);
const files: string[] = [];
for (const lang of [...Deno.readDirSync(values.saa!)].map((e) => e.name).sort()) {
  for (const f of [...Deno.readDirSync(join(values.saa!, lang))].map((e) => e.name).sort()) {
    files.push(join(values.saa!, lang, f));
  }
}
const step = Math.max(1, Math.floor(files.length / n));
const subset = files.filter((_, i) => i % step === 0).slice(0, n);
const dir = await Deno.makeTempDir({ prefix: "nac-sae-bench-" });
const manifest = join(dir, "manifest.csv");
await Deno.writeTextFile(
  manifest,
  "utterance_id,path,dataset,speaker_id,accent_narrow,accent_broad,split\n" +
    subset.map((p, i) => `u${i},${p},saa,s${i},Other,Other,train`).join("\n") + "\n",
);
const ids = ["lyra-3.2kbps", "lyra-6kbps", "lyra-9.2kbps"];
const common = { manifestPath: manifest, workers, modelsDir: values.models, offline: true, quiet: true };

const times: Record<string, { wall: number[]; cpu: number[] }> = {
  separate: { wall: [], cpu: [] },
  shared: { wall: [], cpu: [] },
};
let audioSeconds = 0;
for (let r = 0; r < reps; r++) {
  for (const mode of ["separate", "shared"]) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const store = (id: string) => join(dir, `${mode}-${r}`, id);
    const sets = mode === "shared"
      ? await extractFeatureSets({ ...common, codecIds: ids, storeDirs: ids.map(store) })
      : [
        await extractFeatures({ ...common, codecId: ids[0], storeDir: store(ids[0]) }),
        await extractFeatures({ ...common, codecId: ids[1], storeDir: store(ids[1]) }),
        await extractFeatures({ ...common, codecId: ids[2], storeDir: store(ids[2]) }),
      ];
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    audioSeconds = sets[0].summary.audioSeconds;
    times[mode].wall.push(wall / audioSeconds);
    times[mode].cpu.push(cpuSeconds / audioSeconds);
    console.log(
      `rep ${r} ${mode}: ${subset.length} utt × 3 bitrates, ${audioSeconds.toFixed(1)} s audio: ` +
        `${wall.toFixed(1)} s wall, ${cpuSeconds.toFixed(1)} s CPU`,
    );
  }
  for (const id of ids) {
    const a = await Deno.readFile(join(dir, `separate-${r}`, id, "u.npy"));
    const b = await Deno.readFile(join(dir, `shared-${r}`, id, "u.npy"));
    if (a.length !== b.length || a.some((v, i) => v !== b[i])) throw new Error(`${id}: u differs`);
  }
}
const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
console.log(JSON.stringify({
  utterances: subset.length,
  audioSeconds,
  workers,
  loadAverage1m: Deno.loadavg()[0],
  separate: { wallPerAudioS: median(times.separate.wall), cpuPerAudioS: median(times.separate.cpu) },
  shared: { wallPerAudioS: median(times.shared.wall), cpuPerAudioS: median(times.shared.cpu) },
  wallRatio: median(times.separate.wall) / median(times.shared.wall),
  cpuRatio: median(times.separate.cpu) / median(times.shared.cpu),
  identicalU: true,
}));
await Deno.remove(dir, { recursive: true });
