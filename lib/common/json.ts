/**
 * JSON as users write it (run configs, plans, cached records): a UTF-8 byte-order mark is accepted (editors on
 * Windows add one); a key given twice in one object is refused (JSON.parse keeps the last silently); a syntax
 * error names the line and column. Every error names the source.
 */

/** Parses `text` from `source`; throws an Error naming the source, and the line/column or key. */
export function parseJsonStrict(text: string, source: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === "") throw new Error(`${source}: empty file; expected JSON`);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    const where = m ? ` at ${lineColumn(body, Number(m[1]))}` : "";
    // V8 echoes the whole text back ('…, "<text>" is not valid JSON'): only the problem is kept.
    const what = (e as Error).message.replace(/\s*in JSON at position \d+.*$/s, "")
      .replace(/, ".*" is not valid JSON$/s, "").replace(/^".*" is not valid JSON$/s, "not JSON");
    throw new Error(`${source}: invalid JSON${where}: ${what}; fix the file`);
  }
  const dup = duplicateKey(body);
  if (dup) {
    throw new Error(
      `${source}: key "${dup.key}" appears twice in the same object${dup.path ? ` (${dup.path})` : ""} at ` +
        `${lineColumn(body, dup.at)}; JSON keeps only the last, so remove one`,
    );
  }
  return value;
}

function lineColumn(text: string, at: number): string {
  const before = text.slice(0, at).split("\n");
  return `line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

interface Frame {
  object: boolean;
  keys: Set<string>;
  /** In an object: the next string is a key. */
  expectKey: boolean;
  /** The path of this container, for messages (e.g. `datasets[0].options`). */
  path: string;
  /** Arrays: the index of the current element. */
  index: number;
  /** Objects: the last key read. */
  lastKey: string;
}

/** The first key repeated within one object of already valid JSON `text`, with its object's path and offset. */
export function duplicateKey(text: string): { key: string; path: string; at: number } | null {
  const stack: Frame[] = [];
  const childPath = () => {
    const top = stack.at(-1);
    if (!top) return "";
    return top.object ? (top.path ? `${top.path}.${top.lastKey}` : top.lastKey) : `${top.path}[${top.index}]`;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack.at(-1);
      if (top?.object && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return { key, path: top.path, at: i };
        top.keys.add(key);
        top.lastKey = key;
        top.expectKey = false;
      }
      i = j;
    } else if (c === "{" || c === "[") {
      stack.push({
        object: c === "{",
        keys: new Set(),
        expectKey: c === "{",
        path: childPath(),
        index: 0,
        lastKey: "",
      });
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === ",") {
      const top = stack.at(-1);
      if (top?.object) top.expectKey = true;
      else if (top) top.index++;
    }
  }
  return null;
}
