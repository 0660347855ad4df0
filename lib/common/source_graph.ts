/**
 * The local source a module runs: the module and every file it imports through relative specifiers (static
 * imports and re-exports, and `import("./…")`), transitively. A cache key hashed over it changes exactly when
 * code that can change a result changes — wherever that code lives (stages, shared layers, formats).
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256Hex } from "./hash.ts";

const IMPORT = /(?:import|export)[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** Paths of `entry` and of every local module it imports, transitively, sorted. */
export async function sourceClosure(entry: string): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = await Deno.readTextFile(file);
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (spec.endsWith(".ts")) queue.push(join(dirname(file), spec));
    }
  }
  return [...seen].sort();
}

/** A 16-hex-digit hash of the closure's contents and paths (relative to `root`). */
export async function sourceHash(entryUrl: string | URL, root: string | URL): Promise<string> {
  const entry = fileURLToPath(entryUrl), base = fileURLToPath(root);
  const parts: string[] = [];
  for (const f of await sourceClosure(entry)) {
    parts.push(`${relative(base, f)}:${await sha256Hex(await Deno.readFile(f))}`);
  }
  return (await sha256Hex(parts.join("\n"))).slice(0, 16);
}
