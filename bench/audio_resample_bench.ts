/**
 * Resampler and loader throughput: 30 s of audio (the paper's crop) at the rate pairs the pipeline meets
 * (FSDD 8 kHz and eSpeak 22.05 kHz to the codecs' 16/24 kHz; 44.1/48 kHz user audio), and a whole FSDD
 * recording through loadAudio. Run: deno task bench bench/audio_resample_bench.ts
 */
import { loadAudio, resample } from "../lib/audio/mod.ts";
import { sharedDir } from "../lib/cli/settings.ts";

function noise(n: number): Float32Array {
  let s = 1;
  return Float32Array.from({ length: n }, () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5);
}

for (
  const [from, to] of [[8000, 16000], [8000, 24000], [22050, 16000], [44100, 24000], [48000, 16000], [
    48000,
    24000,
  ]]
) {
  const x = noise(from * 30);
  resample(x, from, to); // builds and caches the kernel outside the timed runs
  Deno.bench({
    name: `resample 30 s ${from}→${to}`,
    group: "resample",
    fn: () => void resample(x, from, to),
  });
}

const shared = sharedDir();
if (shared) {
  const wav = `${shared}/data/fsdd/recordings/3_theo_7.wav`;
  Deno.bench({
    name: "loadAudio FSDD wav (8 kHz, ~0.5 s) → 16 kHz",
    group: "load",
    fn: async () => void await loadAudio(wav, { sampleRate: 16000 }),
  });
}
