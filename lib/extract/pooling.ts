/**
 * Pooling ê (T × d) over time into one vector per utterance: u = the mean (the paper's utterance-level
 * representation, Sec. 2.1) and the standard deviation (statistics pooling). The extraction stage owns this;
 * a codec only produces ê.
 */
import type { Matrix } from "../common/matrix.ts";

/** u: the mean of ê over time (the paper's utterance-level representation). */
export function meanOverTime(e: Matrix): Float32Array {
  if (e.rows === 0) throw new Error("meanOverTime: ê has no frames");
  const u = new Float64Array(e.cols);
  for (let t = 0; t < e.rows; t++) {
    const o = t * e.cols;
    for (let j = 0; j < e.cols; j++) u[j] += e.data[o + j];
  }
  const out = new Float32Array(e.cols);
  for (let j = 0; j < e.cols; j++) out[j] = u[j] / e.rows;
  return out;
}

/**
 * The population standard deviation of ê over time per dimension (statistics pooling, as x-vectors do),
 * two-pass around the float64 mean so it stays exact for large offsets; one frame gives 0.
 */
export function stdOverTime(e: Matrix): Float32Array {
  if (e.rows === 0) throw new Error("stdOverTime: ê has no frames");
  const mean = new Float64Array(e.cols), ss = new Float64Array(e.cols);
  for (let t = 0; t < e.rows; t++) {
    const o = t * e.cols;
    for (let j = 0; j < e.cols; j++) mean[j] += e.data[o + j];
  }
  for (let j = 0; j < e.cols; j++) mean[j] /= e.rows;
  for (let t = 0; t < e.rows; t++) {
    const o = t * e.cols;
    for (let j = 0; j < e.cols; j++) ss[j] += (e.data[o + j] - mean[j]) ** 2;
  }
  return Float32Array.from(ss, (v) => Math.sqrt(v / e.rows));
}
