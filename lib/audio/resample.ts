/**
 * Band-limited sample-rate conversion: a Kaiser-windowed sinc evaluated on the rational grid toRate/fromRate
 * (polyphase: one tap set per output phase, cached). The low-pass keeps everything below 90 % of the lower
 * Nyquist frequency and reaches its 90 dB stopband exactly at that Nyquist, so a downsampler attenuates all
 * content above the new Nyquist (which would alias) by ≥ 90 dB and an upsampler removes the spectral images.
 */

/** Stopband attenuation of the anti-aliasing filter. */
export const STOPBAND_DB = 90;
/** Passband edge as a fraction of the lower of the two Nyquist frequencies; the stopband starts at 1.0. */
export const PASSBAND_FRACTION = 0.9;
/** Phase tables are cached for ratios with at most this many phases (covers all common rate pairs). */
const MAX_CACHED_PHASES = 4096;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for β ≤ 20). */
function besselI0(x: number): number {
  let sum = 1, term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

export interface ResamplerKernel {
  /** Up/down factors of the reduced ratio toRate/fromRate = up/down. */
  up: number;
  down: number;
  /** Taps each side of the output instant, in input samples. */
  halfTaps: number;
  /** Filter tap weights for output phase p (0 ≤ p < up), applied to input samples i0-halfTaps+1 .. i0+halfTaps. */
  phase(p: number): Float64Array;
}

export function resamplerKernel(fromRate: number, toRate: number): ResamplerKernel {
  const g = gcd(fromRate, toRate);
  const up = toRate / g, down = fromRate / g;
  const nyquist = Math.min(fromRate, toRate) / 2;
  const transitionHz = (1 - PASSBAND_FRACTION) * nyquist;
  const cutoffHz = nyquist - transitionHz / 2;
  // Kaiser's design rules: β from the attenuation, window length from attenuation and transition width.
  const beta = 0.1102 * (STOPBAND_DB - 8.7);
  const windowSeconds = (STOPBAND_DB - 7.95) / (2.285 * 2 * Math.PI * transitionHz);
  const halfWidth = 0.5 * windowSeconds * fromRate; // in input samples
  const halfTaps = Math.ceil(halfWidth);
  const gain = (2 * cutoffHz) / fromRate; // normalised cutoff; also the DC gain correction
  const i0Beta = besselI0(beta);
  const kernel = (t: number): number => {
    const r = t / halfWidth;
    if (r <= -1 || r >= 1) return 0;
    const x = Math.PI * gain * t;
    const sinc = x === 0 ? 1 : Math.sin(x) / x;
    return gain * sinc * besselI0(beta * Math.sqrt(1 - r * r)) / i0Beta;
  };
  const cache = new Map<number, Float64Array>();
  const phase = (p: number): Float64Array => {
    let taps = cache.get(p);
    if (taps) return taps;
    taps = new Float64Array(2 * halfTaps);
    const frac = p / up;
    for (let j = 0; j < taps.length; j++) taps[j] = kernel(frac + halfTaps - 1 - j);
    if (up <= MAX_CACHED_PHASES) cache.set(p, taps);
    return taps;
  };
  return { up, down, halfTaps, phase };
}

/** Kernels by rate pair: building one costs more than resampling a short utterance. */
const kernels = new Map<string, ResamplerKernel>();

function cachedKernel(fromRate: number, toRate: number): ResamplerKernel {
  const key = `${fromRate}:${toRate}`;
  let k = kernels.get(key);
  if (!k) {
    if (kernels.size >= 16) kernels.clear();
    k = resamplerKernel(fromRate, toRate);
    kernels.set(key, k);
  }
  return k;
}

/** Resamples `x` from `fromRate` to `toRate` (positive integers, Hz). Returns a new array. */
export function resample(x: Float32Array, fromRate: number, toRate: number): Float32Array {
  for (const [name, r] of [["fromRate", fromRate], ["toRate", toRate]] as const) {
    if (!Number.isInteger(r) || r <= 0) {
      throw new RangeError(`resample: ${name} must be a positive integer, got ${r}`);
    }
  }
  if (fromRate === toRate) return x.slice();
  const k = cachedKernel(fromRate, toRate);
  const { up, down, halfTaps } = k;
  const n = x.length;
  const outLength = Math.ceil((n * up) / down);
  const y = new Float32Array(outLength);
  for (let m = 0; m < outLength; m++) {
    const pos = m * down;
    const i0 = Math.floor(pos / up);
    const taps = k.phase(pos - i0 * up);
    const start = i0 - halfTaps + 1;
    let acc = 0;
    if (start >= 0 && start + taps.length <= n) {
      for (let j = 0; j < taps.length; j++) acc += taps[j] * x[start + j];
    } else {
      // Near the edges the signal is taken as zero outside [0, n).
      const jFrom = Math.max(0, -start), jTo = Math.min(taps.length, n - start);
      for (let j = jFrom; j < jTo; j++) acc += taps[j] * x[start + j];
    }
    y[m] = acc;
  }
  return y;
}
