/**
 * L1-regularised logistic regression with an unpenalised intercept, minimising scikit-learn's objective
 * for `penalty='l1', fit_intercept=True`:
 *
 *     F(w, b) = ‖w‖₁ + C · Σᵢ log(1 + exp(−yᵢ (w·xᵢ + b))),   yᵢ ∈ {−1, +1}.
 *
 * Solver: newGLMNET (Yuan, Ho & Lin 2012; liblinear's L1-LR solver). Each outer Newton iteration builds the
 * quadratic model of the loss at (w, b), minimises model + ‖·‖₁ by randomised cyclic coordinate descent
 * (closed-form soft-threshold steps; the intercept is one more coordinate without the threshold), then takes
 * an Armijo backtracking line search along the direction. Outer and inner shrinking skip coordinates that
 * sit at 0 with a gradient safely inside [−1, 1]. Float64 throughout; the coordinate order comes from a
 * seeded generator, so fits are deterministic.
 *
 * Stopping rule (liblinear's, with scikit-learn's tol): stop when the ℓ1 norm of the minimum-norm
 * subgradient of F (the KKT violation, summed over coefficients and intercept) falls to tol × its value
 * at w = 0, b = 0; `maxIter` bounds the Newton iterations. Shrunk coordinates have zero violation by
 * construction (w_j = 0, |∂_j loss| < 1), so the norm covers every coefficient.
 */
import { Rng } from "../common/random.ts";
import type { Design } from "./design.ts";
import { DenseWorkspace } from "./kernels.ts";

export interface L1LogisticOptions {
  /** Inverse regularisation strength (sklearn's C). */
  C?: number;
  /** Relative KKT-violation tolerance. */
  tol?: number;
  /** Maximum Newton iterations. */
  maxIter?: number;
  /** Maximum coordinate-descent cycles per Newton iteration. */
  maxInnerIter?: number;
  /** Seed of the coordinate order. */
  seed?: number;
}

export interface L1LogisticFit {
  coef: Float64Array;
  intercept: number;
  /** Newton iterations taken. */
  nIter: number;
  /** Coordinate-descent cycles over all Newton iterations. */
  cdCycles: number;
  converged: boolean;
  /** F(w, b) at the returned solution. */
  objective: number;
  /** F after each accepted Newton step (non-increasing). */
  history: number[];
  /** Final ℓ1 KKT violation relative to the one at zero. */
  relativeViolation: number;
}

/** Σᵢ rowIndex-addressed vals[k]·a[i]·b[i] over the CSC range [start, end). */
function sparseDot(
  rowIndex: Int32Array,
  vals: Float32Array,
  start: number,
  end: number,
  a: Float64Array,
  b: Float64Array,
): number {
  let s = 0;
  for (let k = start; k < end; k++) {
    const i = rowIndex[k];
    s += vals[k] * a[i] * b[i];
  }
  return s;
}

function sparseAxpy(
  rowIndex: Int32Array,
  vals: Float32Array,
  start: number,
  end: number,
  alpha: number,
  out: Float64Array,
): void {
  for (let k = start; k < end; k++) out[rowIndex[k]] += alpha * vals[k];
}

/** out = [Σ v·g, Σ v·D, Σ v²·D] over a sparse column's stored values. */
function sparseSums(
  rowIndex: Int32Array,
  vals: Float32Array,
  start: number,
  end: number,
  g: Float64Array,
  D: Float64Array,
  out: Float64Array,
) {
  let gs = 0, e = 0, h = 0;
  for (let k = start; k < end; k++) {
    const i = rowIndex[k], v = vals[k];
    const vd = v * D[i];
    gs += v * g[i];
    e += vd;
    h += v * vd;
  }
  out[0] = gs;
  out[1] = e;
  out[2] = h;
}

/**
 * Per-sample p, g, D from margins f (one exp per sample); returns [Σ D, Σ g, C·Σ loss] in out, the loss only
 * `withLoss` (the line search tracks loss changes itself, so most iterations skip the log).
 */
function sampleTerms(
  y: Float64Array,
  f: Float64Array,
  C: number,
  p: Float64Array,
  g: Float64Array,
  D: Float64Array,
  withLoss: boolean,
  out: Float64Array,
) {
  let loss = 0, sumD = 0, sumG = 0;
  for (let i = 0; i < y.length; i++) {
    const t = y[i] * f[i];
    const e = Math.exp(-Math.abs(t)); // no overflow either side
    const pi = t > 0 ? e / (1 + e) : 1 / (1 + e); // σ(−t)
    p[i] = pi;
    const gi = -C * y[i] * pi, di = C * pi * (1 - pi);
    g[i] = gi;
    D[i] = di;
    sumD += di;
    sumG += gi;
    if (withLoss) loss += Math.log1p(e) + (t < 0 ? -t : 0);
  }
  out[0] = sumD;
  out[1] = sumG;
  out[2] = C * loss;
}

/** Σᵢ [loss(tᵢ + δᵢ) − loss(tᵢ)] with δᵢ = yᵢ(rᵢ + c), as log1p(σ(−tᵢ)·expm1(−δᵢ)): no cancellation. */
function lossChange(p: Float64Array, y: Float64Array, r: Float64Array, c: number): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += Math.log1p(p[i] * Math.expm1(-y[i] * (r[i] + c)));
  return s;
}

const NU = 1e-12; // keeps the Hessian diagonal positive (liblinear)
const SIGMA = 0.01; // Armijo constant
const MAX_LINE_SEARCH = 20;
const STEP_CLIP = 10;

/**
 * The KKT violation of a coefficient at value `wj` whose loss gradient is G (the distance of −G from ∂|wj|),
 * or SHRINK when wj = 0 and G sits inside [−1 + bound, 1 − bound]: then it stays 0 for a while and is skipped.
 * The outer (gradient) and inner (coordinate-descent) shrinking use it with their own bounds.
 */
function violationOrShrink(wj: number, G: number, bound: number): number {
  const gp = G + 1, gn = G - 1;
  if (wj === 0) {
    if (gp < 0) return -gp;
    if (gn > 0) return gn;
    return gp > bound && gn < -bound ? SHRINK : 0;
  }
  return wj > 0 ? Math.abs(gp) : Math.abs(gn);
}

const SHRINK = -1;

/**
 * The solver's state over one fit: coefficients w, b; the Newton direction's target wpd, bpd; per-sample
 * vectors in the dense kernels' memory (dense column j starts at byte 4·denseOffset[j]):
 * f (margins w·xᵢ + b), g (∂(C·lossᵢ)/∂fᵢ = −C yᵢ pᵢ), D (∂²(C·lossᵢ)/∂fᵢ² = C pᵢ(1 − pᵢ)) and r (the
 * direction's margin change X·(wpd − w) is r + c·1, c holding the constant part of the implicitly centered
 * columns). The three phases of a Newton iteration are its methods.
 */
class L1Solver {
  readonly w: Float64Array;
  b = 0;
  private readonly wpd: Float64Array;
  private bpd = 0;
  private readonly ws: DenseWorkspace;
  private readonly p: Float64Array; // σ(−yᵢ fᵢ)
  private readonly grad: Float64Array;
  private readonly hdiag: Float64Array;
  private readonly sD: Float64Array; // Σᵢ (s_ij/σ_j) D_i over the stored raw values
  private readonly eD: Float64Array; // Σᵢ x_ij D_i
  /** Coefficient order: the active (unshrunk) set is index[0..activeSize); the intercept is updated apart. */
  private readonly index: Int32Array;
  private readonly terms = new Float64Array(3);
  lossSum = 0;
  private sumD = 0;
  private sumG = 0;
  wNorm = 0;
  /** The direction's constant margin change, and Σᵢ D_i r_i. */
  private c = 0;
  private R = 0;

  constructor(
    private readonly X: Design,
    private readonly y: Float64Array,
    private readonly C: number,
    private readonly rng: Rng,
  ) {
    const { n, d, denseVals } = X;
    this.w = new Float64Array(d);
    this.wpd = new Float64Array(d);
    this.ws = new DenseWorkspace(denseVals, n, 4);
    this.p = new Float64Array(n);
    this.grad = new Float64Array(d);
    this.hdiag = new Float64Array(d);
    this.sD = new Float64Array(d);
    this.eD = new Float64Array(d);
    this.index = new Int32Array(d);
    for (let j = 0; j < d; j++) this.index[j] = j;
    this.refresh(true);
  }

  /** p, g, D (and with `withLoss` the loss) from the margins f. */
  refresh(withLoss: boolean): void {
    const [f, g, D] = this.ws.vectors;
    sampleTerms(this.y, f, this.C, this.p, g, D, withLoss, this.terms);
    this.sumD = this.terms[0];
    this.sumG = this.terms[1];
    if (withLoss) this.lossSum = this.terms[2];
  }

  /** f = X·w + b from scratch (the columns' centering applied as one constant). */
  recomputeMargins(): void {
    const { n, d, denseOffset, ptr, rowIndex, vals, invScale, shift } = this.X;
    const f = this.ws.vectors[0], fB = this.ws.vectorBytes[0], { axpy } = this.ws.k;
    const w = this.w;
    let constant = this.b;
    f.fill(0);
    for (let j = 0; j < d; j++) {
      const wj = w[j];
      if (wj === 0) continue;
      const off = denseOffset[j], wsj = wj * invScale[j];
      if (off >= 0) axpy(4 * off, wsj, fB, n);
      else sparseAxpy(rowIndex, vals, ptr[j], ptr[j + 1], wsj, f);
      constant -= wj * shift[j];
    }
    for (let i = 0; i < n; i++) f[i] += constant;
  }

  /**
   * Phase 1: gradient and Hessian diagonal of the loss per coefficient, outer shrinking (bound gmaxOld / n),
   * and the KKT violation (max and ℓ1 norm, the intercept included).
   */
  gradient(gmaxOld: number): { activeSize: number; gmax: number; gnorm1: number } {
    const { n, d, denseOffset, ptr, rowIndex, vals, invScale, shift } = this.X;
    const [, g, D] = this.ws.vectors;
    const [, gB, dB] = this.ws.vectorBytes;
    const { sums: denseSums } = this.ws.k;
    const { w, grad, hdiag, sD, eD, index, sumG, sumD } = this;
    const sums = this.ws.out;
    let activeSize = d;
    let gmax = 0, gnorm1 = 0;
    for (let s = 0; s < activeSize; s++) {
      const j = index[s];
      const off = denseOffset[j];
      if (off >= 0) denseSums(4 * off, gB, dB, n, this.ws.outByte);
      else sparseSums(rowIndex, vals, ptr[j], ptr[j + 1], g, D, sums);
      const gs = sums[0], e = sums[1], h = sums[2];
      // x_ij = inv·s_ij − m: expand the sums over x into sums over the stored raw values.
      const inv = invScale[j], m = shift[j];
      const gj = inv * gs - m * sumG;
      const hj = inv * inv * h - 2 * m * inv * e + m * m * sumD;
      const sd = inv * e;
      grad[j] = gj;
      hdiag[j] = NU + (hj > 0 ? hj : 0);
      sD[j] = sd;
      eD[j] = sd - m * sumD;
      const violation = violationOrShrink(w[j], gj, gmaxOld / n);
      if (violation === SHRINK) {
        activeSize--;
        index[s] = index[activeSize];
        index[activeSize] = j;
        s--;
        continue;
      }
      if (violation > gmax) gmax = violation;
      gnorm1 += violation;
    }
    gnorm1 += Math.abs(sumG);
    if (Math.abs(sumG) > gmax) gmax = Math.abs(sumG);
    return { activeSize, gmax, gnorm1 };
  }

  /**
   * Phase 2: the Newton direction — randomised cyclic coordinate descent on the quadratic model + ‖·‖₁ over
   * the active set (inner shrinking), then an unthresholded step for the intercept, until the model's ℓ1 KKT
   * violation falls to `stop`. Returns the cycles taken.
   */
  direction(activeSize: number, maxInner: number, stop: number): number {
    const { n, denseOffset, ptr, rowIndex, vals, invScale, shift } = this.X;
    const [, , D, r] = this.ws.vectors;
    const [, , dB, rB] = this.ws.vectorBytes;
    const { dot3, axpy } = this.ws.k;
    const { w, wpd, grad, hdiag, sD, eD, index, rng } = this;
    const gradB = this.sumG, hB = this.sumD + NU, b = this.b;
    r.fill(0);
    let c = 0, R = 0;
    let qpActive = activeSize;
    let qpGmaxOld = Infinity;
    let inner = 0;
    while (inner < maxInner) {
      let qpGnorm1 = 0, qpGmax = 0;
      for (let s = 0; s < qpActive; s++) {
        const t = s + rng.int(qpActive - s);
        const tmp = index[t];
        index[t] = index[s];
        index[s] = tmp;
      }
      for (let s = 0; s < qpActive; s++) {
        const j = index[s];
        const off = denseOffset[j];
        const m = shift[j];
        const inv = invScale[j];
        let dot = off >= 0 ? dot3(4 * off, dB, rB, n) : sparseDot(rowIndex, vals, ptr[j], ptr[j + 1], D, r);
        dot = inv * dot - m * R;
        const G = grad[j] + (wpd[j] - w[j]) * NU + dot + c * eD[j];
        const H = hdiag[j];
        const wj = wpd[j];
        const violation = violationOrShrink(wj, G, qpGmaxOld / n);
        if (violation === SHRINK) {
          qpActive--;
          index[s] = index[qpActive];
          index[qpActive] = j;
          s--;
          continue;
        }
        if (violation > qpGmax) qpGmax = violation;
        qpGnorm1 += violation;

        const gp = G + 1, gn = G - 1;
        let z: number;
        if (gp < H * wj) z = -gp / H;
        else if (gn > H * wj) z = -gn / H;
        else z = -wj;
        if (Math.abs(z) < 1e-12) continue;
        z = Math.min(Math.max(z, -STEP_CLIP), STEP_CLIP);
        wpd[j] = wj + z;
        const zs = z * inv;
        if (off >= 0) axpy(4 * off, zs, rB, n);
        else sparseAxpy(rowIndex, vals, ptr[j], ptr[j + 1], zs, r);
        c -= z * m;
        R += z * sD[j];
      }
      // The intercept: an unthresholded Newton step on the model.
      {
        const G = gradB + (this.bpd - b) * NU + R + c * this.sumD;
        qpGnorm1 += Math.abs(G);
        if (Math.abs(G) > qpGmax) qpGmax = Math.abs(G);
        let z = -G / hB;
        if (Math.abs(z) >= 1e-12) {
          z = Math.min(Math.max(z, -STEP_CLIP), STEP_CLIP);
          this.bpd += z;
          c += z;
        }
      }
      inner++;
      if (qpGnorm1 <= stop) {
        if (qpActive === activeSize) break;
        qpActive = activeSize; // reactivate the inner-shrunk coordinates and check them once more
        qpGmaxOld = Infinity;
        continue;
      }
      qpGmaxOld = qpGmax;
    }
    this.c = c;
    this.R = R;
    return inner;
  }

  /**
   * Phase 3: Armijo line search along (wpd − w, bpd − b), halving the step. On success the step is taken; on
   * failure (no decrease at float64 precision) the direction is dropped and the margins recomputed exactly.
   */
  lineSearch(): boolean {
    const { n, d } = this.X;
    const [f, , , r] = this.ws.vectors;
    const { w, wpd, grad, p, y, C } = this;
    let c = this.c;
    let delta = this.sumG * (this.bpd - this.b);
    let wNormNew = 0;
    for (let j = 0; j < d; j++) {
      delta += grad[j] * (wpd[j] - w[j]);
      wNormNew += Math.abs(wpd[j]);
    }
    delta += wNormNew - this.wNorm;
    for (let ls = 0; ls < MAX_LINE_SEARCH; ls++) {
      const dLoss = lossChange(p, y, r, c);
      if (wNormNew - this.wNorm + C * dLoss - SIGMA * delta <= 0) {
        for (let i = 0; i < n; i++) f[i] += r[i] + c;
        w.set(wpd);
        this.b = this.bpd;
        this.wNorm = wNormNew;
        this.lossSum += C * dLoss;
        return true;
      }
      wNormNew = 0;
      for (let j = 0; j < d; j++) {
        wpd[j] = (w[j] + wpd[j]) * 0.5;
        wNormNew += Math.abs(wpd[j]);
      }
      this.bpd = (this.b + this.bpd) * 0.5;
      delta *= 0.5;
      c *= 0.5;
      for (let i = 0; i < n; i++) r[i] *= 0.5;
    }
    wpd.set(w);
    this.bpd = this.b;
    this.recomputeMargins();
    return false;
  }
}

export function fitL1Logistic(X: Design, y: Float64Array, opts: L1LogisticOptions = {}): L1LogisticFit {
  const C = opts.C ?? 1, tol = opts.tol ?? 1e-4, maxIter = opts.maxIter ?? 3000;
  const maxInner = opts.maxInnerIter ?? 1000;
  if (y.length !== X.n) throw new Error(`fitL1Logistic: ${y.length} labels for ${X.n} samples`);
  if (!(C > 0)) throw new Error(`probe: C must be a number > 0, got ${C}; the paper uses C = 1`);
  if (!(tol > 0 && tol < 1)) {
    // The violation is measured relative to its value at w = 0, so tol ≥ 1 "converges" with no iteration.
    throw new Error(
      `probe: tol must be in (0, 1), got ${tol}: tol ≥ 1 stops before the first iteration (nothing fitted); ` +
        `use e.g. 1e-4`,
    );
  }
  if (!(Number.isInteger(maxIter) && maxIter >= 1)) {
    throw new Error(`probe: maxIter must be an integer ≥ 1, got ${maxIter}`);
  }
  const solver = new L1Solver(X, y, C, new Rng(opts.seed ?? 0));

  let gmaxOld = Infinity;
  let gnorm1Init = -1;
  let innerEps = 1;
  let nIter = 0, cdCycles = 0, converged = false, relativeViolation = Infinity;
  let failedLineSearches = 0;
  const history: number[] = [];
  while (nIter < maxIter) {
    const { activeSize, gmax, gnorm1 } = solver.gradient(gmaxOld);
    if (nIter === 0) gnorm1Init = gnorm1;
    relativeViolation = gnorm1Init > 0 ? gnorm1 / gnorm1Init : 0;
    if (gnorm1 <= tol * gnorm1Init) {
      converged = true;
      break;
    }
    const inner = solver.direction(activeSize, maxInner, innerEps * gnorm1Init);
    cdCycles += inner;
    const accepted = solver.lineSearch();
    failedLineSearches = accepted ? 0 : failedLineSearches + 1;
    solver.refresh(!accepted);
    if (inner === 1) innerEps *= 0.25;
    nIter++;
    gmaxOld = gmax;
    history.push(solver.wNorm + solver.lossSum);
    if (failedLineSearches >= 2) break;
  }

  solver.recomputeMargins();
  solver.refresh(true);
  let norm = 0;
  for (let j = 0; j < X.d; j++) norm += Math.abs(solver.w[j]);
  return {
    coef: solver.w,
    intercept: solver.b,
    nIter,
    cdCycles,
    converged,
    objective: norm + solver.lossSum,
    history,
    relativeViolation,
  };
}
