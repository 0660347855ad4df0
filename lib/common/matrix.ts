/** A dense row-major float32 matrix: the currency between pipeline stages (features u, activations z). */
import { type NpyArray, readNpy, writeNpy } from "../formats/npy.ts";

export interface Matrix {
  rows: number;
  cols: number;
  /** rows × cols values, row-major. */
  data: Float32Array;
}

export function matrix(rows: number, cols: number, data?: Float32Array): Matrix {
  const d = data ?? new Float32Array(rows * cols);
  if (d.length !== rows * cols) {
    throw new Error(`matrix: ${rows}×${cols} needs ${rows * cols} values, got ${d.length}`);
  }
  return { rows, cols, data: d };
}

export function row(m: Matrix, i: number): Float32Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** Selects rows by index into a new matrix. */
export function takeRows(m: Matrix, indices: ArrayLike<number>): Matrix {
  const out = new Float32Array(indices.length * m.cols);
  for (let i = 0; i < indices.length; i++) out.set(row(m, indices[i]), i * m.cols);
  return { rows: indices.length, cols: m.cols, data: out };
}

/** Selects columns by index (in the given order) into a new matrix. */
export function takeColumns(m: Matrix, indices: ArrayLike<number>): Matrix {
  const out = new Float32Array(m.rows * indices.length);
  for (let i = 0; i < m.rows; i++) {
    const base = i * m.cols, o = i * indices.length;
    for (let j = 0; j < indices.length; j++) out[o + j] = m.data[base + indices[j]];
  }
  return { rows: m.rows, cols: indices.length, data: out };
}

/** Converts a loaded `.npy` array to a float32 matrix; a 1-D array becomes one row. */
export function npyToMatrix(a: NpyArray, source: string): Matrix {
  if (a.shape.length !== 1 && a.shape.length !== 2) {
    throw new Error(`${source}: expected a 1-D or 2-D array, got shape (${a.shape})`);
  }
  const [rows, cols] = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  let data: Float32Array;
  if (a.data instanceof Float64Array) warnFloat32Loss(a.data, rows, cols, source);
  if (a.data instanceof Float32Array) data = a.data;
  else if (a.data instanceof BigInt64Array || a.data instanceof BigUint64Array) {
    data = Float32Array.from(a.data as BigInt64Array, (v) => Number(v));
  } else data = Float32Array.from(a.data as ArrayLike<number>);
  return { rows, cols, data };
}

/**
 * Float64 features are computed on in float32. Where that rounding is large against a column's spread (values
 * near 1e8 varying by 0.5), the data would change meaning silently, so the loss is measured and reported; a
 * caller that can keep the precision (the probe standardises float64 input in float64 first) does so instead.
 */
export function float32Loss(
  data: Float64Array,
  rows: number,
  cols: number,
): { column: number; relative: number; spread: number } | null {
  let worst: { column: number; relative: number; spread: number } | null = null;
  for (let j = 0; j < cols; j++) {
    let mean = 0;
    for (let i = 0; i < rows; i++) mean += data[i * cols + j];
    mean /= rows;
    let m2 = 0, err = 0;
    for (let i = 0; i < rows; i++) {
      const v = data[i * cols + j];
      m2 += (v - mean) ** 2;
      err = Math.max(err, Math.abs(v - Math.fround(v)));
    }
    const spread = Math.sqrt(m2 / rows);
    if (!(spread > 0) || !Number.isFinite(err)) continue;
    const relative = err / spread;
    if (!worst || relative > worst.relative) worst = { column: j, relative, spread };
  }
  return worst;
}

/** Rounding above this fraction of a column's standard deviation is reported. */
export const FLOAT32_LOSS_WARN = 1e-3;

function warnFloat32Loss(data: Float64Array, rows: number, cols: number, source: string): void {
  const loss = float32Loss(data, rows, cols);
  if (loss && loss.relative > FLOAT32_LOSS_WARN) {
    console.error(
      `warning: ${source}: float64 values are used as float32 and lose precision: column ${loss.column} ` +
        `(standard deviation ${loss.spread.toPrecision(3)}) is rounded by up to ` +
        `${(100 * loss.relative).toPrecision(3)} % of its spread; standardise the features (subtract the ` +
        `mean, divide by the std) in float64 before saving them`,
    );
  }
}

/** Throws naming the first row/column holding NaN or ±inf. */
export function assertFinite(m: Matrix, source: string): void {
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i])) {
      const r = Math.floor(i / m.cols), c = i % m.cols;
      throw new Error(`${source}: non-finite value ${m.data[i]} at row ${r}, column ${c}`);
    }
  }
}

export async function readMatrix(path: string): Promise<Matrix> {
  return npyToMatrix(await readNpy(path), path);
}

export async function writeMatrix(path: string, m: Matrix): Promise<void> {
  await writeNpy(path, m.data, [m.rows, m.cols]);
}
