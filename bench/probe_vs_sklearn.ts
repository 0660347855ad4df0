/**
 * Benchmark: the L1 logistic-regression probe (lib/probe) vs scikit-learn's saga (shared checks/ref/lr_ref.py)
 * on the same data, side by side. Not a test: prints a Markdown table (and --json rows) for BENCHMARKS.md.
 *
 *   deno run -A bench/probe_vs_sklearn.ts [--cases d64,d1024,d20480,sae4096,sae20480] [--repeats 3]
 *                                         [--sklearn-timeout 900] [--json]
 *
 * Cases: `dN` are gen_data.py's planted sparse-logistic data (Gaussian; d20480 with 5 % nonzeros); `saeN`
 * are SAE-like: d_z = N nonnegative TopK activations, k = 2.5 % of N active latents per row drawn by
 * Zipf-like latent popularity (∝ (rank + 10)^−0.8), exponential magnitudes, labels from a planted logistic model on 200 latents.
 * Our time is the in-process runProbe (standardize + fit + predict; median of --repeats) and, end to end, one
 * `deno task cli probe` process; scikit-learn's is lr_ref.py's fit_s (fit only) and its whole process. When
 * scikit-learn exceeds the timeout the ratio is reported as a lower bound.
 */
import { parseArgs } from "node:util";
import { sharedDir } from "../lib/cli/settings.ts";
import { readMatrix } from "../lib/common/matrix.ts";
import { writeNpy } from "../lib/formats/npy.ts";
import { Rng } from "../lib/common/random.ts";
import { readLabels } from "../lib/probe/labels.ts";
import { runProbe } from "../lib/probe/mod.ts";

const PY = "/usr/bin/python3";
const REF = `${sharedDir() ?? "../shared"}/checks/ref`;

interface Case {
  id: string;
  nTrain: number;
  nTest: number;
  d: number;
  density: number;
  sae?: { k: number };
}

const CASES: Case[] = [
  { id: "d64", nTrain: 4000, nTest: 2000, d: 64, density: 1 },
  { id: "d1024", nTrain: 4000, nTest: 2000, d: 1024, density: 1 },
  { id: "d20480", nTrain: 2000, nTest: 1000, d: 20480, density: 0.05 },
  { id: "sae4096", nTrain: 1000, nTest: 500, d: 4096, density: 102 / 4096, sae: { k: 102 } },
  { id: "sae20480", nTrain: 3000, nTest: 1500, d: 20480, density: 512 / 20480, sae: { k: 512 } },
];

async function run(cmd: string, args: string[], timeoutS?: number) {
  const t0 = performance.now();
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
  const timer = timeoutS ? setTimeout(() => child.kill("SIGKILL"), timeoutS * 1000) : undefined;
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder();
  return {
    ok: out.success,
    wall: (performance.now() - t0) / 1000,
    stdout: text.decode(out.stdout),
    stderr: text.decode(out.stderr),
  };
}

/** SAE-like TopK activations (see the header) written as Xtr/ytr/Xte/yte .npy. */
async function writeSaeLike(c: Case, dir: string, seed: number): Promise<void> {
  const rng = new Rng(seed);
  const n = c.nTrain + c.nTest, d = c.d, k = c.sae!.k;
  const order = rng.permutation(d);
  const cdf = new Float64Array(d);
  let acc = 0;
  for (let r = 0; r < d; r++) cdf[order[r]] = (r + 10) ** -0.8;
  for (let j = 0; j < d; j++) cdf[j] = acc += cdf[j];
  const X = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    // k distinct latents drawn by popularity (inverse CDF; repeats are redrawn).
    for (let drawn = 0; drawn < k;) {
      const u = rng.next() * acc;
      let lo = 0, hi = d - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid] < u) lo = mid + 1;
        else hi = mid;
      }
      if (X[i * d + lo] !== 0) continue;
      X[i * d + lo] = -Math.log(1 - rng.next()) + 0.05;
      drawn++;
    }
  }
  const inform = Array.from(rng.permutation(d).subarray(0, 200));
  const beta = inform.map(() => rng.normal());
  const logits = new Float64Array(n);
  let mean = 0, sq = 0;
  for (let i = 0; i < n; i++) {
    let t = 0;
    inform.forEach((j, m) => t += beta[m] * X[i * d + j]);
    logits[i] = t;
    mean += t / n;
  }
  for (let i = 0; i < n; i++) sq += (logits[i] - mean) ** 2 / n;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const t = ((logits[i] - mean) * 3) / Math.sqrt(sq);
    y[i] = rng.next() < 1 / (1 + Math.exp(-t)) ? 1 : 0;
  }
  await writeNpy(`${dir}/Xtr.npy`, X.subarray(0, c.nTrain * d), [c.nTrain, d]);
  await writeNpy(`${dir}/Xte.npy`, X.subarray(c.nTrain * d), [c.nTest, d]);
  await writeNpy(`${dir}/ytr.npy`, y.subarray(0, c.nTrain), [c.nTrain]);
  await writeNpy(`${dir}/yte.npy`, y.subarray(c.nTrain), [c.nTest]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function bench(c: Case, repeats: number, timeoutS: number) {
  const dir = await Deno.makeTempDir({ prefix: `probe_bench_${c.id}_` });
  try {
    if (c.sae) await writeSaeLike(c, dir, 0);
    else {
      const gen = await run(PY, [
        `${REF}/gen_data.py`,
        "lr",
        ...[c.nTrain, c.nTest, c.d, c.density, 0].map(String),
        dir,
      ]);
      if (!gen.ok) throw new Error(`gen_data.py failed: ${gen.stderr}`);
    }
    const files = ["Xtr", "ytr", "Xte", "yte"].map((f) => `${dir}/${f}.npy`);
    const [Xtr, ytr, Xte, yte] = await Promise.all([
      readMatrix(files[0]),
      readLabels(files[1]),
      readMatrix(files[2]),
      readLabels(files[3]),
    ]);
    const ours = [];
    for (let r = 0; r < repeats; r++) ours.push(runProbe(Xtr, ytr, Xte, yte));
    const oursS = median(ours.map((o) => o.seconds));
    const cli = await run("deno", [
      "task",
      "-q",
      "cli",
      "probe",
      ...["--train", files[0], "--train-labels", files[1], "--test", files[2], "--test-labels", files[3]],
      "--json",
    ]);
    if (!cli.ok) throw new Error(`probe CLI failed: ${cli.stderr}`);
    const sk = await run(PY, [
      `${REF}/lr_ref.py`,
      ...["--train", files[0], files[1], "--test", files[2], files[3]],
      ...["--out", `${dir}/sklearn.json`],
    ], timeoutS);
    const ref = sk.ok ? JSON.parse(await Deno.readTextFile(`${dir}/sklearn.json`)) : undefined;
    const o = ours[0];
    return {
      case: c.id,
      n_train: c.nTrain,
      n_test: c.nTest,
      d: c.d,
      density: c.density,
      ours_fit_s: oursS,
      ours_process_s: cli.wall,
      ours_f1: o.macroF1,
      ours_objective: o.objective,
      ours_nnz: o.nnz,
      ours_n_iter: o.nIter,
      ours_converged: o.converged,
      sklearn_fit_s: ref?.fit_s ?? null,
      sklearn_process_s: sk.wall,
      sklearn_timed_out: !sk.ok,
      sklearn_f1: ref?.macro_f1 ?? null,
      sklearn_objective: ref?.objective ?? null,
      sklearn_nnz: ref?.nnz_coef ?? null,
      sklearn_n_iter: ref?.n_iter ?? null,
      fit_ratio: ref ? ref.fit_s / oursS : null,
      process_ratio: sk.wall / cli.wall,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      cases: { type: "string", default: CASES.map((c) => c.id).join(",") },
      repeats: { type: "string", default: "3" },
      "sklearn-timeout": { type: "string", default: "900" },
      json: { type: "boolean", default: false },
    },
  });
  const wanted = values.cases!.split(",");
  const unknown = wanted.filter((id) => !CASES.some((c) => c.id === id));
  if (unknown.length) {
    throw new Error(`unknown case(s) ${unknown.join(", ")}; known: ${CASES.map((c) => c.id)}`);
  }
  console.log(
    "| case | n_train × d (density) | ours fit s | sklearn fit s | fit ratio | ours process s | sklearn process s |" +
      " process ratio | macro-F1 ours / sklearn | objective ours / sklearn | nnz ours / sklearn |",
  );
  console.log("|" + " --- |".repeat(11));
  for (const c of CASES.filter((c) => wanted.includes(c.id))) {
    const r = await bench(c, Number(values.repeats), Number(values["sklearn-timeout"]));
    const lb = r.sklearn_timed_out ? "≥ " : "";
    const fitRatio = r.fit_ratio === null ? "—" : `${r.fit_ratio.toFixed(1)}×`;
    const f = (x: number | null, p = 3) => (x === null ? "—" : x.toFixed(p));
    console.log(
      `| ${r.case} | ${r.n_train} × ${r.d} (${r.density}) | ${f(r.ours_fit_s)} | ${
        r.sklearn_timed_out ? `> ${f(r.sklearn_process_s, 0)} (killed)` : f(r.sklearn_fit_s)
      } | ${fitRatio} | ${f(r.ours_process_s, 2)} | ${f(r.sklearn_process_s, 2)} | ${lb}${
        f(r.process_ratio, 1)
      }× | ${f(r.ours_f1, 4)} / ${f(r.sklearn_f1, 4)} | ${f(r.ours_objective, 3)} / ${
        f(r.sklearn_objective, 3)
      } | ${r.ours_nnz} / ${r.sklearn_nnz ?? "—"} |`,
    );
    if (values.json) console.log(JSON.stringify(r));
  }
}
