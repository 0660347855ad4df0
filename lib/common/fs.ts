/** File-system helpers: atomic writes (temp file + rename) so a killed run never leaves a half-written file. */
import { basename, dirname, join, resolve } from "node:path";
import { parseJsonStrict } from "./json.ts";

export async function writeFileAtomic(path: string, data: Uint8Array | Uint8Array[] | string): Promise<void> {
  await Deno.mkdir(dirname(path) || ".", { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else if (data instanceof Uint8Array) await Deno.writeFile(tmp, data);
    else await writeParts(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Writes the parts one after another into a new file (no concatenated copy). */
async function writeParts(path: string, parts: Uint8Array[]): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for (const part of parts) {
    for (let at = 0; at < part.length;) at += await file.write(part.subarray(at));
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 1) + "\n");
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

export async function readJson<T>(path: string): Promise<T> {
  if (path === "") throw new Error("an empty path was given for a JSON file; give the file's path");
  const text = await Deno.readTextFile(path).catch((e) => {
    throw readError(path, e);
  });
  return parseJsonStrict(text, path) as T;
}

/**
 * Checks, before any long work, that `path` can become an output file (`kind` "file") or folder ("dir"):
 * the path itself is not of the other kind, and its nearest existing ancestor is a folder. `label` names
 * the flag or field in the message (e.g. "--out").
 */
export async function checkOutputPath(path: string, kind: "file" | "dir", label: string): Promise<void> {
  const stat = await Deno.stat(path).catch(() => undefined);
  if (stat) {
    if (kind === "file" && stat.isDirectory) {
      throw new Error(`${label} ${path}: is a directory; give a file path`);
    }
    if (kind === "dir" && !stat.isDirectory) {
      throw new Error(`${label} ${path}: exists and is not a directory; give a directory path`);
    }
    return;
  }
  for (let dir = dirname(path);; dir = dirname(dir)) {
    const s = await Deno.stat(dir).catch(() => undefined);
    if (s) {
      if (!s.isDirectory) {
        throw new Error(`${label} ${path}: ${dir} is a file, so nothing can be created under it`);
      }
      return;
    }
    if (dirname(dir) === dir) return;
  }
}

/**
 * A name that becomes one folder or file name (a dataset's feature store, a cache entry): refused when it could
 * leave its parent folder or hide ("../../x", "a/b", ".", a leading dot) or holds control characters, so no
 * name from a config or manifest writes outside the folder meant for it. `what` names its source.
 */
export function safeName(name: string, what: string): string {
  // deno-lint-ignore no-control-regex
  if (name === "" || name.startsWith(".") || /[/\\\x00-\x1f]/.test(name) || name.length > 200) {
    throw new Error(
      `${what}: ${
        JSON.stringify(name)
      } cannot be used as a folder name (it is empty, starts with ".", holds ` +
        `"/", "\\" or control characters, or is over 200 characters); rename it using letters, digits, ` +
        `"-", "_" and "."`,
    );
  }
  return name;
}

/** The path as the file system will resolve it: links followed for the part that exists. */
async function canonicalPath(path: string): Promise<string> {
  const full = resolve(path);
  try {
    return await Deno.realPath(full);
  } catch {
    const parent = dirname(full);
    return parent === full ? full : join(await canonicalPath(parent), basename(full));
  }
}

/**
 * Refuses, before any work, an output file that is one of the command's inputs (`extract --audio v.wav --out
 * v.wav`, `sae encode --features X.npy --out X.npy`): writing it would destroy the input. Links and relative
 * spellings are resolved. `inputs`: [flag or field, path] pairs (undefined paths are skipped).
 */
export async function checkOutputNotInput(
  out: string,
  label: string,
  inputs: [string, string | undefined][],
): Promise<void> {
  const target = await canonicalPath(out);
  for (const [inputLabel, path] of inputs) {
    if (path === undefined) continue;
    if ((await canonicalPath(path)) === target) {
      throw new Error(
        `${label} ${out} is the same file as ${inputLabel} ${path}: writing the output would overwrite the ` +
          `input; give ${label} another path`,
      );
    }
  }
}

/**
 * A failure to read `path`, in words (no raw os error text such as "(os error 40): stat"): what is wrong with
 * the path and what to do.
 */
export function readError(path: string, e: unknown): Error {
  const message = (e as Error)?.message ?? String(e);
  const problem = e instanceof Deno.errors.NotFound
    ? "no such file; check the path"
    : e instanceof Deno.errors.IsADirectory || /is a directory|EISDIR/i.test(message)
    ? "is a folder; give a file"
    : e instanceof Deno.errors.PermissionDenied
    ? "permission denied; make the file readable"
    : /symbolic links|ELOOP/i.test(message)
    ? "is a symbolic link that loops (too many levels of links); fix the link"
    : /not a directory|ENOTDIR/i.test(message)
    ? "a part of the path is a file, not a folder; check the path"
    : `cannot be read (${(e as Error)?.name ?? "error"})`;
  return new Error(`${path}: ${problem}`);
}
