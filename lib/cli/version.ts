/**
 * `deno task cli --version`: the toolkit's version (deno.json), the git commit when run from a checkout (read
 * from .git without running git), and the Deno, V8, TypeScript and onnxruntime versions it runs on.
 */
import { join } from "node:path";
import { projectRoot } from "../common/assets.ts";

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return undefined;
  }
}

/** The commit HEAD points to in the checkout at `root` (a plain clone or a worktree), else null. */
export function gitCommit(root: string): string | null {
  let gitDir = join(root, ".git");
  const pointer = readText(gitDir); // a worktree's .git is a file "gitdir: PATH"
  if (pointer?.startsWith("gitdir: ")) gitDir = pointer.slice("gitdir: ".length);
  const head = readText(join(gitDir, "HEAD"));
  if (!head) return null;
  if (!head.startsWith("ref: ")) return /^[0-9a-f]{40}$/.test(head) ? head : null;
  const ref = head.slice("ref: ".length);
  const common = readText(join(gitDir, "commondir"));
  const commonDir = common ? join(gitDir, common) : gitDir;
  for (const dir of [gitDir, commonDir]) {
    const sha = readText(join(dir, ref));
    if (sha && /^[0-9a-f]{40}$/.test(sha)) return sha;
  }
  const packed = readText(join(commonDir, "packed-refs")) ?? "";
  for (const line of packed.split("\n")) {
    const [sha, name] = line.split(" ");
    if (name === ref && /^[0-9a-f]{40}$/.test(sha)) return sha;
  }
  return null;
}

export interface VersionInfo {
  nac_sae: string;
  commit: string | null;
  deno: string;
  v8: string;
  typescript: string;
  onnxruntime: string | null;
}

export async function versionInfo(): Promise<VersionInfo> {
  const root = projectRoot();
  const config = JSON.parse(Deno.readTextFileSync(join(root, "deno.json")));
  let onnxruntime: string | null = null;
  try {
    const ort = await import("onnxruntime-node");
    onnxruntime = ort.env.versions.node ?? ort.env.versions.common ?? null;
  } catch { /* reported as null: the native engine did not load */ }
  return {
    nac_sae: String(config.version),
    commit: gitCommit(root),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    onnxruntime,
  };
}

export function formatVersion(v: VersionInfo): string {
  return [
    `nac-sae ${v.nac_sae}${v.commit ? ` (commit ${v.commit.slice(0, 12)})` : ""}`,
    `deno ${v.deno} (v8 ${v.v8}, typescript ${v.typescript})`,
    `onnxruntime-node ${v.onnxruntime ?? "not loadable"}`,
  ].join("\n");
}
