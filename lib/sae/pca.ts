/**
 * The PCA-k yardstick of an SAE (issue 11): PCA with k components fitted on the SAE's training rows. A TopK
 * SAE with d_z ≥ 2k can represent PCA-k exactly (one ± pair of latents per component), so a trained one
 * explains at least as much variance in-sample. Explained variance uses the SAE's formula (metrics.ts):
 * 1 − Σ‖u − û‖² / Σ‖u − ū‖², ū the mean of the rows evaluated; û = μ + P Pᵀ (u − μ) with μ and P from the
 * training rows.
 */
import type { Matrix } from "../common/matrix.ts";
import { totalSumSquares } from "./metrics.ts";

export interface PcaFit {
  /** Training-row mean μ (d). */
  mean: Float64Array;
  /** Principal axes, rank × d row-major, by decreasing variance (unit norm). */
  components: Float64Array;
  /** Σ over training rows of the squared projection on each axis (the scatter matrix's eigenvalues). */
  variances: Float64Array;
  rank: number;
  d: number;
}

/**
 * Eigen-decomposition of a symmetric n × n matrix (row-major, float64): Householder tridiagonalisation and
 * the implicit QL algorithm (EISPACK tred2/tql2, as in JAMA). Returns eigenvalues in decreasing order and the
 * matching eigenvectors as rows.
 */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  if (a.length !== n * n) throw new Error(`symmetricEigen: expected ${n}×${n} values, got ${a.length}`);
  const V: Float64Array[] = [];
  for (let i = 0; i < n; i++) V.push(Float64Array.from(a.subarray(i * n, (i + 1) * n)));
  const d = new Float64Array(n), e = new Float64Array(n);
  tred2(V, d, e, n);
  tql2(V, d, e, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y] - d[x]);
  const values = new Float64Array(n), vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = d[src];
    for (let r = 0; r < n; r++) vectors[dst * n + r] = V[r][src];
  });
  return { values, vectors };
}

function tred2(V: Float64Array[], d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = V[n - 1][j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0, h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[i - 1][j];
        V[i][j] = 0;
        V[j][i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j][i] = f;
        g = e[j] + V[j][j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k][j] * d[k];
          e[k] += V[k][j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k][j] -= f * e[k] + g * d[k];
        d[j] = V[i - 1][j];
        V[i][j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[n - 1][i] = V[i][i];
    V[i][i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k][i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k][i + 1] * V[k][j];
        for (let k = 0; k <= i; k++) V[k][j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k][i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[n - 1][j];
    V[n - 1][j] = 0;
  }
  V[n - 1][n - 1] = 1;
  e[0] = 0;
}

function tql2(V: Float64Array[], d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0, tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      for (let iter = 0;; iter++) {
        if (iter > 100) throw new Error("symmetricEigen: QL iteration did not converge");
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1, c2 = c, c3 = c, s = 0, s2 = 0;
        const el1 = e[l + 1];
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          for (let k = 0; k < n; k++) {
            h = V[k][i + 1];
            V[k][i + 1] = s * V[k][i] + c * h;
            V[k][i] = c * V[k][i] - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
        if (!(Math.abs(e[l]) > eps * tst1)) break;
      }
    }
    d[l] += f;
    e[l] = 0;
  }
}

/**
 * PCA of X's rows (float64). With fewer rows than columns the N × N Gram matrix is decomposed instead of the
 * d × d scatter matrix (same nonzero spectrum, axes Xcᵀv/√λ), so wide codecs (d = 1024) on small corpora stay
 * cheap. Axes with zero variance are dropped (rank ≤ min(N − 1, d)).
 */
export function fitPca(X: Matrix): PcaFit {
  const { rows: n, cols: d, data } = X;
  if (n === 0) throw new Error("PCA of zero rows");
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) mean[i] += data[r * d + i];
  for (let i = 0; i < d; i++) mean[i] /= n;
  const xc = new Float64Array(n * d);
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) xc[r * d + i] = data[r * d + i] - mean[i];
  const gram = n < d;
  const m = gram ? n : d;
  const s = new Float64Array(m * m);
  if (gram) {
    for (let a = 0; a < n; a++) {
      for (let b = a; b < n; b++) {
        let t = 0;
        for (let i = 0; i < d; i++) t += xc[a * d + i] * xc[b * d + i];
        s[a * n + b] = s[b * n + a] = t;
      }
    }
  } else {
    for (let r = 0; r < n; r++) {
      const o = r * d;
      for (let i = 0; i < d; i++) {
        const xi = xc[o + i];
        if (xi === 0) continue;
        for (let j = i; j < d; j++) s[i * d + j] += xi * xc[o + j];
      }
    }
    for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) s[i * d + j] = s[j * d + i];
  }
  const { values, vectors } = symmetricEigen(s, m);
  const tol = Math.max(values[0], 0) * m * 2 ** -52 * 16;
  let rank = 0;
  while (rank < m && values[rank] > tol) rank++;
  const components = new Float64Array(rank * d);
  if (gram) {
    for (let c = 0; c < rank; c++) {
      const inv = 1 / Math.sqrt(values[c]);
      for (let r = 0; r < n; r++) {
        const v = vectors[c * n + r] * inv;
        for (let i = 0; i < d; i++) components[c * d + i] += v * xc[r * d + i];
      }
    }
  } else components.set(vectors.subarray(0, rank * d));
  return { mean, components, variances: values.slice(0, rank), rank, d };
}

/**
 * Explained variance of the rank-k PCA reconstruction μ + P_k P_kᵀ(u − μ) on X's rows (k is capped at the
 * fit's rank), with the SAE's formula: 1 − Σ‖u − û‖² / Σ‖u − ū‖², ū the mean of X's rows.
 */
export function pcaExplainedVariance(fit: PcaFit, X: Matrix, k: number): number {
  if (X.cols !== fit.d) throw new Error(`PCA: rows have ${X.cols} columns, the fit ${fit.d}`);
  if (!Number.isInteger(k) || k < 0) throw new Error(`PCA: k must be a non-negative integer, got ${k}`);
  const kk = Math.min(k, fit.rank), d = fit.d;
  const x = new Float64Array(d);
  let sse = 0;
  for (let r = 0; r < X.rows; r++) {
    let norm = 0;
    for (let i = 0; i < d; i++) {
      x[i] = X.data[r * d + i] - fit.mean[i];
      norm += x[i] * x[i];
    }
    let captured = 0;
    for (let c = 0; c < kk; c++) {
      let p = 0;
      for (let i = 0; i < d; i++) p += fit.components[c * d + i] * x[i];
      captured += p * p;
    }
    sse += Math.max(0, norm - captured);
  }
  return 1 - sse / totalSumSquares(X);
}

/** How far below PCA-k's in-sample explained variance a trained SAE may stay (issue 11). */
export const SAE_TRAINED_TOLERANCE = 0.02;

/**
 * Whether an SAE's explained variance reaches PCA-k's on the same rows within SAE_TRAINED_TOLERANCE:
 * in-sample, that the optimiser got there ("sae_trained"); held-out, that it generalises like PCA-k.
 */
export function saeTrained(evSae: number, evPcaK: number): boolean {
  return evSae >= evPcaK - SAE_TRAINED_TOLERANCE;
}
