/** Framing helpers shared by the codec runners. */

/** Right zero-padding to a multiple of `hop` (DAC `preprocess`, Mimi `pad_for_conv1d`); no left pad. */
export function padToHop(audio: Float32Array, hop: number): Float32Array {
  const len = Math.ceil(audio.length / hop) * hop;
  if (len === audio.length) return audio;
  const out = new Float32Array(len);
  out.set(audio);
  return out;
}

/** Codes [T, n_q] int64 (graph layout) → n_q × T int32, row-major (the official `(n_q, T)` layout). */
export function codesByLevel(src: BigInt64Array, T: number, nQ: number): Int32Array {
  const out = new Int32Array(nQ * T);
  for (let t = 0; t < T; t++) for (let q = 0; q < nQ; q++) out[q * T + t] = Number(src[t * nQ + q]);
  return out;
}
