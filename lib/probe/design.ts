/**
 * The standardized training matrix in the column-major form the coordinate-descent solver wants.
 *
 * Column j of the standardized matrix is x_j = (s_j − μ_j) / σ_j = s_j·(1/σ_j) − m_j for the raw float32
 * column s_j and m_j = μ_j / σ_j. Only the raw values are stored (exactly, as float32; arithmetic is float64):
 * the solver applies the scale and folds the constant −m_j into a few running sums, so the standardized
 * matrix is never materialised, memory traffic is halved, and a mostly-zero raw column (SAE activations z,
 * z_pos) is stored sparse (CSC) with every operation on it costing O(nnz_j) although its standardized form is
 * dense. Constant training columns (scale 1, standardized to 0) are stored as empty columns.
 */
import type { Matrix } from "../common/matrix.ts";
import type { Scaler } from "./scaler.ts";

export interface Design {
  /** Samples. */
  n: number;
  /** Features. */
  d: number;
  /** Per column: offset of its n raw values in `denseVals`, or −1 for a sparse column. */
  denseOffset: Int32Array;
  /** Raw values of the dense columns, concatenated column after column. */
  denseVals: Float32Array;
  /** CSC pointers (d + 1); dense columns have an empty range. */
  ptr: Int32Array;
  rowIndex: Int32Array;
  /** Raw nonzero values of the sparse columns. */
  vals: Float32Array;
  /** 1/σ_j (0 for constant columns). */
  invScale: Float64Array;
  /** m_j = μ_j/σ_j (0 for constant columns): x_ij = s_ij/σ_j − m_j. */
  shift: Float64Array;
}

/** Columns with at most this fraction of nonzero raw values are stored sparse. */
export const SPARSE_MAX_DENSITY = 0.5;

export function buildDesign(X: Matrix, scaler: Scaler, sparseMaxDensity = SPARSE_MAX_DENSITY): Design {
  const n = X.rows, d = X.cols, data = X.data;
  if (scaler.mean.length !== d) {
    throw new Error(`buildDesign: scaler has ${scaler.mean.length} features, X ${d}`);
  }
  const nnz = new Int32Array(d);
  for (let i = 0; i < n; i++) {
    const base = i * d;
    for (let j = 0; j < d; j++) if (data[base + j] !== 0) nnz[j]++;
  }
  const denseOffset = new Int32Array(d).fill(-1);
  const ptr = new Int32Array(d + 1);
  const invScale = new Float64Array(d), shift = new Float64Array(d);
  let nDense = 0;
  for (let j = 0; j < d; j++) {
    const constant = scaler.constant[j] === 1;
    if (!constant) {
      invScale[j] = 1 / scaler.scale[j];
      shift[j] = scaler.mean[j] / scaler.scale[j];
    }
    if (constant || nnz[j] <= sparseMaxDensity * n) ptr[j + 1] = ptr[j] + (constant ? 0 : nnz[j]);
    else {
      ptr[j + 1] = ptr[j];
      denseOffset[j] = nDense++ * n;
    }
  }
  const denseVals = new Float32Array(nDense * n);
  const rowIndex = new Int32Array(ptr[d]);
  const vals = new Float32Array(ptr[d]);
  const fill = ptr.slice(0, d);
  for (let i = 0; i < n; i++) {
    const base = i * d;
    for (let j = 0; j < d; j++) {
      const raw = data[base + j];
      const off = denseOffset[j];
      if (off >= 0) denseVals[off + i] = raw;
      else if (raw !== 0 && fill[j] < ptr[j + 1]) {
        const k = fill[j]++;
        rowIndex[k] = i;
        vals[k] = raw;
      }
    }
  }
  return { n, d, denseOffset, denseVals, ptr, rowIndex, vals, invScale, shift };
}
