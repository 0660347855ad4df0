/**
 * The probe's optimisation problem, written from scikit-learn's definition and independent of lib/probe:
 * standardise on the training rows (mean, population std; constant columns scale 1), then
 *
 *     F(w, b) = ‖w‖₁ + C · Σᵢ log(1 + exp(−yᵢ (w·xᵢ + b))),   yᵢ ∈ {−1, +1}, b unpenalised,
 *
 * its optimality (KKT) conditions, and an cyclic coordinate-descent solver (each coordinate minimised exactly) that
 * minimises it to near machine precision on small problems — a different algorithm from the library's
 * newGLMNET (quadratic models, line search, shrinking, random order), so agreement of the coefficients is evidence, not a tautology.
 */

export interface Standardized {
  x: number[][];
  mean: number[];
  scale: number[];
}

/** (X − μ) / σ per column of the training rows, σ the population std (1 for constant columns). */
export function refStandardize(rows: number[][]): Standardized {
  const n = rows.length, d = rows[0].length;
  const mean = Array.from({ length: d }, (_, j) => rows.reduce((a, r) => a + r[j], 0) / n);
  const scale = Array.from({ length: d }, (_, j) => {
    const s = Math.sqrt(rows.reduce((a, r) => a + (r[j] - mean[j]) ** 2, 0) / n);
    return s > 1e-12 * Math.max(1, Math.abs(mean[j])) ? s : 1;
  });
  return { x: rows.map((r) => r.map((v, j) => (v - mean[j]) / scale[j])), mean, scale };
}

/** log(1 + e^t) without overflow. */
function softplus(t: number): number {
  return t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t));
}

/** F(w, b) on standardized rows x with labels y ∈ {−1, +1}. */
export function refObjective(x: number[][], y: number[], w: ArrayLike<number>, b: number, C: number): number {
  let l1 = 0;
  for (let j = 0; j < w.length; j++) l1 += Math.abs(w[j]);
  let loss = 0;
  for (let i = 0; i < x.length; i++) {
    let f = b;
    for (let j = 0; j < w.length; j++) f += w[j] * x[i][j];
    loss += softplus(-y[i] * f);
  }
  return l1 + C * loss;
}

/** Gradient of the smooth part C·Σ log(1 + exp(−y f)) in w and b. */
export function refLossGradient(
  x: number[][],
  y: number[],
  w: ArrayLike<number>,
  b: number,
  C: number,
): { gw: number[]; gb: number } {
  const d = w.length, gw = new Array(d).fill(0);
  let gb = 0;
  for (let i = 0; i < x.length; i++) {
    let f = b;
    for (let j = 0; j < d; j++) f += w[j] * x[i][j];
    const s = (-y[i] * C) / (1 + Math.exp(y[i] * f)); // d/df of C·log(1 + e^{−y f})
    gb += s;
    for (let j = 0; j < d; j++) gw[j] += s * x[i][j];
  }
  return { gw, gb };
}

/**
 * The largest violation of the optimality conditions of F: |∂_b| for the intercept; for w_j ≠ 0,
 * |∂_j + sign(w_j)|; for w_j = 0, max(0, |∂_j| − 1) (∂ the smooth part's gradient).
 */
export function refKktViolation(
  x: number[][],
  y: number[],
  w: ArrayLike<number>,
  b: number,
  C: number,
): number {
  const { gw, gb } = refLossGradient(x, y, w, b, C);
  let worst = Math.abs(gb);
  for (let j = 0; j < w.length; j++) {
    worst = Math.max(
      worst,
      w[j] !== 0 ? Math.abs(gw[j] + Math.sign(w[j])) : Math.max(0, Math.abs(gw[j]) - 1),
    );
  }
  return worst;
}

/**
 * Minimises F by cyclic coordinate descent, each coordinate minimised exactly (1-D proximal Newton steps
 * with backtracking on the 1-D objective), the intercept as one more unpenalised coordinate; stops when the
 * KKT violation is below `tol`.
 */
function coordinateDescent(x: number[][], y: number[], C: number, sweeps: number, tol: number) {
  const n = x.length, d = x[0].length;
  const w = new Array(d).fill(0);
  let b = 0;
  const f = new Array(n).fill(0); // margins b + w·x_i
  const col = (j: number) => (j < d ? x.map((r) => r[j]) : new Array(n).fill(1));
  const cols = Array.from({ length: d + 1 }, (_, j) => col(j));
  const phi = (j: number, t: number, cur: number) => {
    let s = j < d ? Math.abs(t) : 0;
    for (let i = 0; i < n; i++) s += C * softplus(-y[i] * (f[i] + (t - cur) * cols[j][i]));
    return s;
  };
  for (let sweep = 0; sweep < sweeps; sweep++) {
    for (let j = 0; j <= d; j++) {
      const xj = cols[j];
      for (let inner = 0; inner < 50; inner++) {
        const cur = j < d ? w[j] : b;
        let g = 0, h = 0;
        for (let i = 0; i < n; i++) {
          const p = 1 / (1 + Math.exp(-y[i] * f[i])); // P(correct side)
          g += -C * y[i] * (1 - p) * xj[i];
          h += C * p * (1 - p) * xj[i] * xj[i];
        }
        h = Math.max(h, 1e-12);
        const z = cur - g / h;
        let next = j < d ? Math.sign(z) * Math.max(0, Math.abs(z) - 1 / h) : z;
        const before = phi(j, cur, cur);
        for (let halve = 0; phi(j, next, cur) > before; halve++) next = halve < 60 ? (next + cur) / 2 : cur;
        const delta = next - cur;
        if (delta === 0) break;
        for (let i = 0; i < n; i++) f[i] += delta * xj[i];
        if (j < d) w[j] = next;
        else b = next;
        if (Math.abs(delta) < 1e-16 * Math.max(1, Math.abs(next))) break;
      }
    }
    if (refKktViolation(x, y, w, b, C) < tol) break;
  }
  return { w, b };
}

/** Solves A v = r (small, dense) by Gaussian elimination with partial pivoting. */
function solve(A: number[][], r: number[]): number[] {
  const m = r.length, M = A.map((row, i) => [...row, r[i]]);
  for (let c = 0; c < m; c++) {
    let piv = c;
    for (let i = c + 1; i < m; i++) if (Math.abs(M[i][c]) > Math.abs(M[piv][c])) piv = i;
    [M[c], M[piv]] = [M[piv], M[c]];
    for (let i = c + 1; i < m; i++) {
      const t = M[i][c] / M[c][c];
      for (let k = c; k <= m; k++) M[i][k] -= t * M[c][k];
    }
  }
  const v = new Array(m).fill(0);
  for (let i = m - 1; i >= 0; i--) {
    let s = M[i][m];
    for (let k = i + 1; k < m; k++) s -= M[i][k] * v[k];
    v[i] = s / M[i][i];
  }
  return v;
}

/**
 * The minimiser of F: coordinate descent finds the support S and the signs σ of the solution, then Newton's
 * method solves the smooth problem C·loss(w_S, b) + σ·w_S on that support to machine precision. The result is
 * the unique minimiser when its KKT violation (returned) is ~0: the signs hold and |∂_j| ≤ 1 off the support.
 */
export function refSolveL1Logistic(x: number[][], y: number[], C: number) {
  const d = x[0].length;
  const { w, b: b0 } = coordinateDescent(x, y, C, 30, 1e-12);
  let b = b0;
  const S = w.map((v, j) => (v !== 0 ? j : -1)).filter((j) => j >= 0);
  const sign = S.map((j) => Math.sign(w[j]));
  const smoothPlusLinear = (ww: number[], bb: number) =>
    refObjective(x, y, ww, bb, C) - ww.reduce((a, v) => a + Math.abs(v), 0) +
    S.reduce((a, j, q) => a + sign[q] * ww[j], 0);
  for (let it = 0; it < 50; it++) {
    const { gw, gb } = refLossGradient(x, y, w, b, C);
    const grad = [...S.map((j, q) => gw[j] + sign[q]), gb];
    if (Math.max(...grad.map(Math.abs)) < 1e-14) break;
    const m = S.length + 1;
    const H = Array.from({ length: m }, () => new Array(m).fill(0));
    for (const row of x) {
      let f = b;
      for (let j = 0; j < d; j++) f += w[j] * row[j];
      const p = 1 / (1 + Math.exp(-f));
      const c = C * p * (1 - p);
      const v = [...S.map((j) => row[j]), 1];
      for (let a = 0; a < m; a++) for (let e = 0; e < m; e++) H[a][e] += c * v[a] * v[e];
    }
    const step = solve(H, grad);
    const f0 = smoothPlusLinear(w, b);
    let t = 1;
    for (let k = 0; k < 40; k++, t /= 2) {
      const nw = w.slice();
      S.forEach((j, q) => (nw[j] -= t * step[q]));
      if (smoothPlusLinear(nw, b - t * step[m - 1]) <= f0) break;
    }
    S.forEach((j, q) => (w[j] -= t * step[q]));
    b -= t * step[m - 1];
  }
  return {
    coef: w,
    intercept: b,
    objective: refObjective(x, y, w, b, C),
    violation: refKktViolation(x, y, w, b, C),
  };
}
