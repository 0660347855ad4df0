/**
 * The code a computation runs, as a hash that changes when — and only when — an edit could change a number:
 * the entry module and every module it imports through relative specifiers (static imports and re-exports,
 * `import("./…")`), transitively, each reduced to its tokens. Left out: comments, whitespace and line breaks,
 * and imports that bring only types (`import type`, or every name marked `type`), which emit no code. So a
 * comment, a reformat or a doc edit keeps every cached cell; any change to code or to a string literal in the
 * closure (a constant, a formula, a message) changes the hash.
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256Hex } from "./hash.ts";

const IMPORT =
  /(import|export)(\s+type)?\s*(\{[^}]*\}|\*\s+as\s+\w+|\*|\w+(?:\s*,\s*\{[^}]*\})?)?\s*from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** Whether an import/export clause brings only types: `import type …`, or `{ type A, type B }`. */
function typeOnly(typeKeyword: string | undefined, clause: string | undefined): boolean {
  if (typeKeyword) return true;
  if (!clause || !clause.startsWith("{")) return false;
  const names = clause.slice(1, -1).split(",").map((n) => n.trim()).filter((n) => n.length > 0);
  return names.length > 0 && names.every((n) => n.startsWith("type "));
}

/** The relative modules a source imports for their code (type-only imports left out). */
export function codeImports(source: string): string[] {
  const out: string[] = [];
  for (const m of codeTokens(source).matchAll(IMPORT)) {
    const spec = m[4] ?? m[5];
    if (m[4] !== undefined && typeOnly(m[2], m[3]?.trim())) continue;
    if (spec.endsWith(".ts")) out.push(spec);
  }
  return out;
}

/** Paths of `entry` and of every local module it imports for code, transitively, sorted. */
export async function sourceClosure(entry: string): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of codeImports(await Deno.readTextFile(file))) queue.push(join(dirname(file), spec));
  }
  return [...seen].sort();
}

const IDENT = /[A-Za-z0-9_$]/;
// After these a `/` starts a regular expression, not a division.
const REGEX_BEFORE = new Set([..."(,=:[!&|?{};+-*%<>~^", ""]);
const REGEX_KEYWORDS = new Set([
  "return",
  "typeof",
  "case",
  "do",
  "else",
  "in",
  "of",
  "void",
  "yield",
  "await",
]);

/**
 * The source's tokens as text: comments removed, every run of whitespace dropped except one space between two
 * identifier characters; string, template and regular-expression literals kept byte for byte.
 */
export function codeTokens(source: string): string {
  let out = "";
  let pendingSpace = false;
  let i = 0;
  const n = source.length;
  const lastSignificant = (): string => {
    const t = out.trimEnd();
    if (t.length === 0) return "";
    const c = t[t.length - 1];
    if (!IDENT.test(c)) return c;
    const word = /[A-Za-z0-9_$]+$/.exec(t)![0];
    return REGEX_KEYWORDS.has(word) ? "" : "a";
  };
  const emit = (s: string) => {
    if (pendingSpace && out.length > 0 && IDENT.test(out[out.length - 1]) && IDENT.test(s[0])) out += " ";
    pendingSpace = false;
    out += s;
  };
  const readQuoted = (q: string): string => {
    let j = i + 1;
    while (j < n && source[j] !== q) {
      if (source[j] === "\\") j++;
      j++;
    }
    return source.slice(i, j + 1);
  };
  const readTemplate = (): string => {
    // Nested `${ … }` may hold strings, templates and braces: tracked by depth.
    let j = i + 1;
    while (j < n && source[j] !== "`") {
      if (source[j] === "\\") j += 2;
      else if (source[j] === "$" && source[j + 1] === "{") {
        let depth = 1;
        j += 2;
        while (j < n && depth > 0) {
          const c = source[j];
          if (c === "{") depth++;
          else if (c === "}") depth--;
          else if (c === "'" || c === '"' || c === "`") {
            const save = i;
            i = j;
            j += (c === "`" ? readTemplate() : readQuoted(c)).length - 1;
            i = save;
          }
          j++;
        }
      } else j++;
    }
    return source.slice(i, j + 1);
  };
  while (i < n) {
    const c = source[i];
    if (c === "/" && source[i + 1] === "/") {
      while (i < n && source[i] !== "\n") i++;
      pendingSpace = true;
    } else if (c === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
      pendingSpace = true;
    } else if (/\s/.test(c)) {
      i++;
      pendingSpace = true;
    } else if (c === "'" || c === '"') {
      const s = readQuoted(c);
      emit(s);
      i += s.length;
    } else if (c === "`") {
      const s = readTemplate();
      emit(s);
      i += s.length;
    } else if (c === "/" && REGEX_BEFORE.has(lastSignificant())) {
      let j = i + 1, inClass = false;
      while (j < n && (inClass || source[j] !== "/") && source[j] !== "\n") {
        if (source[j] === "\\") j++;
        else if (source[j] === "[") inClass = true;
        else if (source[j] === "]") inClass = false;
        j++;
      }
      j++;
      while (j < n && /[a-z]/.test(source[j])) j++;
      emit(source.slice(i, j));
      i = j;
    } else {
      emit(c);
      i++;
    }
  }
  return out;
}

/** A 16-hex-digit hash of the closure's tokens and paths (relative to `root`). */
export async function sourceHash(entryUrl: string | URL, root: string | URL): Promise<string> {
  const entry = fileURLToPath(entryUrl), base = fileURLToPath(root);
  const parts: string[] = [];
  for (const f of await sourceClosure(entry)) {
    parts.push(`${relative(base, f)}:${await sha256Hex(codeTokens(await Deno.readTextFile(f)))}`);
  }
  return (await sha256Hex(parts.join("\n"))).slice(0, 16);
}
