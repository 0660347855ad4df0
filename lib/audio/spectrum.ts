/**
 * Short-time power spectra and the log-spectral distance between two signals: how far an edit moved the
 * audio (lib/experiment/steer.ts compares steered decodes with the unedited decode).
 */

/** In-place iterative radix-2 FFT of (re, im); the length must be a power of two. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if (n & (n - 1)) throw new Error(`fft: length ${n} is not a power of two`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(ang * k), wi = Math.sin(ang * k);
        const a = i + k, b = a + len / 2;
        const xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
    }
  }
}

/** Power spectra (frames × (n/2 + 1)) of Hann-windowed frames of length n, hop n/2; a partial tail is dropped. */
export function powerSpectra(x: Float32Array, n = 512): Float64Array[] {
  const hop = n / 2, out: Float64Array[] = [];
  const win = Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
  for (let start = 0; start + n <= x.length; start += hop) {
    const re = new Float64Array(n), im = new Float64Array(n);
    for (let i = 0; i < n; i++) re[i] = x[start + i] * win[i];
    fft(re, im);
    const p = new Float64Array(n / 2 + 1);
    for (let k = 0; k <= n / 2; k++) p[k] = re[k] * re[k] + im[k] * im[k];
    out.push(p);
  }
  return out;
}

/**
 * Log-spectral distance in dB: the mean over frames of the RMS over frequency bins of
 * 10·log10(P_a + ε) − 10·log10(P_b + ε), on the common length of the two signals (ε = 1e-10 keeps silence finite).
 */
export function logSpectralDistance(a: Float32Array, b: Float32Array, n = 512): number {
  const len = Math.min(a.length, b.length);
  if (len < n) throw new Error(`logSpectralDistance: signals shorter than one ${n}-sample frame`);
  const pa = powerSpectra(a.subarray(0, len), n), pb = powerSpectra(b.subarray(0, len), n);
  let total = 0;
  for (let f = 0; f < pa.length; f++) {
    let ss = 0;
    for (let k = 0; k < pa[f].length; k++) {
      const d = 10 * Math.log10(pa[f][k] + 1e-10) - 10 * Math.log10(pb[f][k] + 1e-10);
      ss += d * d;
    }
    total += Math.sqrt(ss / pa[f].length);
  }
  return total / pa.length;
}
