/**
 * Plain references for the representations between the codec and the probe, from their definitions (paper
 * Sec. 2.1–2.3), independent of lib/: pooling ê (T × d) over time, the probe features of z, and PCA's explained
 * variance by an independent eigen-solver (power iteration with deflation on the covariance).
 */

/** Rows of a row-major T × d array. */
function frames(e: ArrayLike<number>, t: number, d: number): number[][] {
  return Array.from({ length: t }, (_, r) => Array.from({ length: d }, (_, j) => e[r * d + j]));
}

/** u_j = (1/T) Σ_t ê_tj. */
export function refMean(e: ArrayLike<number>, t: number, d: number): number[] {
  const f = frames(e, t, d);
  return Array.from({ length: d }, (_, j) => f.reduce((a, row) => a + row[j], 0) / t);
}

/** σ_j = √((1/T) Σ_t (ê_tj − u_j)²) (population std over time). */
export function refStd(e: ArrayLike<number>, t: number, d: number): number[] {
  const f = frames(e, t, d), mu = refMean(e, t, d);
  return Array.from(
    { length: d },
    (_, j) => Math.sqrt(f.reduce((a, row) => a + (row[j] - mu[j]) ** 2, 0) / t),
  );
}

/** z_pos: 1 where a latent fires (z > 0). */
export function refPositions(z: number[]): number[] {
  return z.map((v) => (v > 0 ? 1 : 0));
}

/** z_mag: the k largest positive activations, descending, zero-padded to k; positions discarded. */
export function refMagnitudes(z: number[], k: number): number[] {
  const pos = z.filter((v) => v > 0).sort((a, b) => b - a).slice(0, k);
  return [...pos, ...new Array(k - pos.length).fill(0)];
}

/** The top `k` eigenvalues of the (d × d) scatter matrix of X's centred rows, by power iteration + deflation. */
function topEigen(X: number[][], k: number): { values: number[]; vectors: number[][] } {
  const n = X.length, d = X[0].length;
  const mu = Array.from({ length: d }, (_, j) => X.reduce((a, r) => a + r[j], 0) / n);
  const S = Array.from({ length: d }, () => new Array(d).fill(0));
  for (const r of X) {
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) S[i][j] += (r[i] - mu[i]) * (r[j] - mu[j]);
  }
  const values: number[] = [], vectors: number[][] = [];
  for (let c = 0; c < k; c++) {
    let v = Array.from({ length: d }, (_, i) => Math.sin(i + c + 1) + 1.5);
    let lambda = 0;
    for (let it = 0; it < 5000; it++) {
      const w = S.map((row) => row.reduce((a, s, j) => a + s * v[j], 0));
      for (let q = 0; q < vectors.length; q++) {
        const dot = w.reduce((a, x, j) => a + x * vectors[q][j], 0);
        for (let j = 0; j < d; j++) w[j] -= dot * vectors[q][j];
      }
      const norm = Math.sqrt(w.reduce((a, x) => a + x * x, 0));
      const next = w.map((x) => x / norm);
      const change = next.reduce((a, x, j) => a + Math.abs(x - v[j]), 0);
      v = next;
      lambda = norm;
      if (change < 1e-13) break;
    }
    values.push(lambda);
    vectors.push(v);
  }
  return { values, vectors };
}

/**
 * In-sample explained variance of the rank-k PCA reconstruction of X's rows: the top-k eigenvalues of the
 * scatter matrix over its trace (1 − NMSE of the projection onto the top-k principal axes).
 */
export function refPcaExplainedVariance(X: number[][], k: number): number {
  const n = X.length, d = X[0].length;
  const mu = Array.from({ length: d }, (_, j) => X.reduce((a, r) => a + r[j], 0) / n);
  const total = X.reduce((a, r) => a + r.reduce((b, x, j) => b + (x - mu[j]) ** 2, 0), 0);
  return topEigen(X, k).values.reduce((a, b) => a + b, 0) / total;
}

/** Explained variance on other rows Y of the PCA fitted on X: project Y − μ_X onto X's top-k axes. */
export function refPcaHeldout(X: number[][], Y: number[][], k: number): number {
  const n = X.length, d = X[0].length;
  const mu = Array.from({ length: d }, (_, j) => X.reduce((a, r) => a + r[j], 0) / n);
  const { vectors } = topEigen(X, k);
  const muY = Array.from({ length: d }, (_, j) => Y.reduce((a, r) => a + r[j], 0) / Y.length);
  let sse = 0, sst = 0;
  for (const r of Y) {
    const x = r.map((v, j) => v - mu[j]);
    const rec = new Array(d).fill(0);
    for (const v of vectors) {
      const p = x.reduce((a, xi, j) => a + xi * v[j], 0);
      for (let j = 0; j < d; j++) rec[j] += p * v[j];
    }
    for (let j = 0; j < d; j++) {
      sse += (x[j] - rec[j]) ** 2;
      sst += (r[j] - muY[j]) ** 2;
    }
  }
  return 1 - sse / sst;
}
