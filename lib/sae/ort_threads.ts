/**
 * How many threads an onnxruntime Gemm may use and still give the single-threaded result bit for bit. This
 * re-derives a private behaviour of onnxruntime's MLAS SGEMM (how it splits a product across threads and how
 * the split changes its K blocking), so it is checked against the onnxruntime version at load: on a version
 * it was not verified with, every Gemm falls back to one thread (deterministic, slower) and says so once.
 * tests/sae_threads_test.ts verifies the engines bit for bit at 1–4 threads on the pinned version; to verify a
 * new version, run it there and add the version to VERIFIED_ORT_VERSIONS.
 */
import * as ort from "onnxruntime-node";

/** onnxruntime versions whose MLAS splitting this module was verified against (tests/sae_threads_test.ts). */
export const VERIFIED_ORT_VERSIONS: readonly string[] = ["1.30.0"];

/** The onnxruntime version loaded. */
export function ortVersion(): string {
  const v = (ort.env as { versions?: { common?: string } }).versions?.common;
  return typeof v === "string" ? v : "unknown";
}

let warned = false;

/** Whether the loaded onnxruntime is one the thread rule was verified with; warns once when not. */
export function threadRuleVerified(version = ortVersion()): boolean {
  const ok = VERIFIED_ORT_VERSIONS.includes(version);
  if (!ok && !warned) {
    warned = true;
    console.error(
      `warning: onnxruntime ${version} is not one the SAE's thread rule was verified with ` +
        `(${
          VERIFIED_ORT_VERSIONS.join(", ")
        }); every SAE Gemm runs on one thread so results stay identical ` +
        `at any thread count (lib/sae/ort_threads.ts says how to verify a new version)`,
    );
  }
  return ok;
}

/** MLAS's SGEMM default slices (MLAS_SGEMM_STRIDEN/K) and the column alignment of its per-thread N slices. */
const MLAS_STRIDE = 128;
const MLAS_THREAD_ALIGN_N = 16;

/**
 * The K slice width MlasSgemmOperation uses for an N × K (not transposed A) problem, as `min(width, K)` so
 * that "one slice" compares equal: it shrinks toward K when N ≥ K and doubles while N ≤ StrideN / 2.
 */
function mlasSliceK(n: number, k: number): number {
  let strideN = MLAS_STRIDE, strideK = MLAS_STRIDE;
  if (n >= k) {
    while (strideK / 2 >= k) strideK /= 2;
  } else {
    while (strideN > 16 && strideN / 2 >= n) {
      strideK *= 2;
      strideN /= 2;
    }
  }
  return Math.min(strideK, k);
}

/**
 * The most threads (≤ `threads`) for an ORT Gemm C = A·B (A: M × K, not transposed; output width N) whose
 * result is bit-identical to the single-threaded one, for any M.
 *
 * Why (onnxruntime 1.30, mlas/lib/sgemm.cpp): MlasGemmBatch splits the output along N when N > M (else along
 * M), in 16-column blocks, and each thread runs MlasSgemmOperation on its slice. Every output element is one
 * FMA chain per K slice, the slices summed in order, and the K slice width depends on the thread's N (see
 * mlasSliceK). So the arithmetic is the single-threaded one exactly when every thread's N slice gets the K
 * slicing of the whole N. Splits along M never change it, nor do TransA Gemms (MLAS never widens their K
 * slice). tests/sae_threads_test.ts checks the engines bit for bit at 1–4 threads.
 */
export function gemmThreads(n: number, k: number, threads: number): number {
  if (!threadRuleVerified()) return 1;
  const whole = mlasSliceK(n, k);
  const blocks = Math.ceil(n / MLAS_THREAD_ALIGN_N);
  let ok = 1;
  for (let t = 2; t <= Math.min(threads, blocks); t++) {
    // MlasPartitionWork: the first `extra` threads get one block more; the last slice is cut at N.
    const per = Math.floor(blocks / t), extra = blocks % t;
    let same = true;
    for (let i = 0, start = 0; i < t; i++) {
      const count = per + (i < extra ? 1 : 0);
      const width = Math.min(n - start * MLAS_THREAD_ALIGN_N, count * MLAS_THREAD_ALIGN_N);
      if (width > 0 && mlasSliceK(width, k) !== whole) same = false;
      start += count;
    }
    if (!same) break;
    ok = t;
  }
  return ok;
}

/**
 * Threads for the dense graph that keep it bit-identical to one thread for any batch of up to `batchSize` rows.
 * gemmThreads(N, K) holds whatever the rows, so each Gemm needs it for its output width N and inner K: the
 * ones with output rows × d_z have K = d, those with output rows × d have K = d_z, and the two d × d_z gradient
 * products have K = rows, which varies (the last batch, a smaller corpus), so every row count is checked.
 */
export function denseThreads(d: number, dZ: number, batchSize: number, threads: number): number {
  let t = Math.min(gemmThreads(dZ, d, threads), gemmThreads(d, dZ, threads));
  for (let rows = 1; rows <= batchSize && t > 1; rows++) t = Math.min(t, gemmThreads(dZ, rows, t));
  return t;
}
