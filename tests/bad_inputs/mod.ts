/**
 * The bad-input corpus, built by the tests themselves: small real files (FSDD recordings, .npy matrices,
 * safetensors checkpoints, manifests, run configs) each broken in one way, and a runner for the CLI that
 * returns its exit code and output, so each reliability test asserts the exact failure mode: an error
 * (exit code, message naming the file/field), a warning with counts, or a correct result.
 */
import { join } from "node:path";
import { sharedDir } from "../../lib/cli/settings.ts";
import { writeNpy } from "../../lib/formats/npy.ts";

const shared = sharedDir();
export const SHARED = shared ?? "";
export const MODELS = Deno.env.get("NAC_SAE_MODELS") ?? join(SHARED, "models");
export const FSDD = join(SHARED, "data", "fsdd", "recordings");
/** Whether the FSDD recordings and the Lyra weights the CLI tests encode with are here (else they skip). */
export const HAS_SPEECH = shared !== undefined &&
  [FSDD, join(MODELS, "lyra-v1.3.2")].every((p) => {
    try {
      return Deno.statSync(p).isDirectory;
    } catch {
      return false;
    }
  });
const ROOT = new URL("../..", import.meta.url).pathname;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout + stderr. */
  output: string;
}

/** Runs `deno task cli ARGS` as the user does (same permissions as the task), in its own cache. */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      "--allow-run=espeak-ng",
      join(ROOT, "lib/cli/main.ts"),
      ...args,
    ],
    cwd: ROOT,
    env: { NAC_SAE_MODELS: MODELS, NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout), stderr = new TextDecoder().decode(out.stderr);
  return { code: out.code, stdout, stderr, output: stdout + stderr };
}

/** A seeded N × d float32 matrix (Gaussian via Box–Muller) written as .npy. */
export async function randomNpy(path: string, rows: number, cols: number, seed = 1): Promise<string> {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 2 ** 32;
  };
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    data[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  }
  await writeNpy(path, data, [rows, cols]);
  return path;
}

/** Integer labels as int64 .npy. */
export async function labelsNpy(path: string, labels: number[]): Promise<string> {
  await writeNpy(path, BigInt64Array.from(labels.map(BigInt)), [labels.length]);
  return path;
}

/** Copies FSDD recordings into `dir` under new names; returns the new paths. */
export async function fsddCopies(dir: string, pairs: [from: string, to: string][]): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const out: string[] = [];
  for (const [from, to] of pairs) {
    await Deno.copyFile(join(FSDD, from), join(dir, to));
    out.push(join(dir, to));
  }
  return out;
}

/** A user-corpus CSV (path, speaker_id, accent_narrow, split) for `data prepare user`. */
export async function userCsv(path: string, rows: [string, string, string, string][]): Promise<string> {
  const lines = ["path,speaker_id,accent_narrow,split", ...rows.map((r) => r.join(","))];
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return path;
}

/** Rewrites a safetensors file's JSON header with `edit` (the data bytes stay as they are). */
export async function editSafetensorsHeader(
  path: string,
  edit: (header: Record<string, unknown>) => unknown,
): Promise<void> {
  const bytes = await Deno.readFile(path);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  let text = JSON.stringify(edit(header));
  text += " ".repeat((8 - (text.length % 8)) % 8);
  const h = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + h.length + bytes.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(bytes.subarray(8 + n), 8 + h.length);
  await Deno.writeFile(path, out);
}

/** Asserts-friendly temp dir that removes itself. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "nac-sae-bad-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
