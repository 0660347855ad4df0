/** The one error type of the audio stage: every message names the file and what is wrong with it. */
export class AudioError extends Error {
  readonly path: string;
  readonly problem: string;

  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = "AudioError";
    this.path = path;
    this.problem = problem;
  }
}

/** Decoded audio: one Float32Array per channel (equal lengths), samples nominally in [-1, 1]. */
export interface DecodedAudio {
  channels: Float32Array[];
  sampleRate: number;
}

/** Sample rates outside this range are treated as corrupt headers, not as audio. */
export const MIN_SAMPLE_RATE = 1000;
export const MAX_SAMPLE_RATE = 1_536_000;
/** More channels than this is an absurd header value (WAVE_FORMAT_EXTENSIBLE allows 18 speaker positions). */
export const MAX_CHANNELS = 256;

/** Throws AudioError unless the decoded audio is non-empty, finite and has a plausible rate/channel count. */
export function checkDecoded(path: string, audio: DecodedAudio): DecodedAudio {
  const { channels, sampleRate } = audio;
  checkHeaderValues(path, sampleRate, channels.length);
  const n = channels[0].length;
  if (n === 0) throw new AudioError(path, "zero-length audio (no samples)");
  for (let c = 0; c < channels.length; c++) {
    const x = channels[c];
    if (x.length !== n) {
      throw new AudioError(path, `channel ${c} has ${x.length} samples but channel 0 has ${n}`);
    }
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(x[i])) {
        throw new AudioError(path, `non-finite sample (${x[i]}) at frame ${i}, channel ${c}`);
      }
    }
  }
  return audio;
}

export function checkHeaderValues(path: string, sampleRate: number, nChannels: number): void {
  if (!Number.isFinite(sampleRate) || sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
    throw new AudioError(
      path,
      `absurd sample rate ${sampleRate} Hz in header (expected ${MIN_SAMPLE_RATE}..${MAX_SAMPLE_RATE} Hz)`,
    );
  }
  if (!Number.isInteger(nChannels) || nChannels < 1 || nChannels > MAX_CHANNELS) {
    throw new AudioError(path, `absurd channel count ${nChannels} in header (expected 1..${MAX_CHANNELS})`);
  }
}
