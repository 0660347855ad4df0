/**
 * The README and docs/*.md as a newcomer follows them: every relative link (and #anchor) resolves, every `deno
 * task` they show names a task of deno.json, every `deno task cli …` a command the CLI has and only flags that
 * command takes, every script they run exists, and no command uses -A. The README stays within one screenful of
 * reading (≤ 250 lines) and names the two commands.
 */
import { assert, assertEquals } from "@std/assert";
import { dirname, join, normalize } from "node:path";
import { projectRoot } from "../lib/common/assets.ts";
import { ENTRIES } from "../lib/cli/main.ts";

const root = projectRoot();
const pages = ["README.md", "BENCHMARKS.md"];
for await (const e of Deno.readDir(join(root, "docs"))) {
  if (e.name.endsWith(".md")) pages.push(`docs/${e.name}`);
}
pages.sort();
const text = new Map<string, string>();
for (const p of pages) text.set(p, await Deno.readTextFile(join(root, p)));

/** GitHub's heading anchors: lower case, punctuation but "-" and "_" dropped, spaces to "-". */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  let fence = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) fence = !fence;
    const m = !fence && line.match(/^#{1,6}\s+(.*)$/);
    if (m) {
      out.add(m[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").trim().replace(/\s/g, "-"));
    }
  }
  return out;
}

Deno.test("docs: every relative link of README, BENCHMARKS and docs/*.md resolves, anchors included", async () => {
  const broken: string[] = [];
  for (const [page, md] of text) {
    for (const [, target] of md.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [path, anchor] = target.split("#");
      const file = path === "" ? page : normalize(join(dirname(page), path));
      try {
        await Deno.stat(join(root, file));
      } catch {
        broken.push(`${page}: ${target} (no ${file})`);
        continue;
      }
      if (anchor && file.endsWith(".md")) {
        const md2 = text.get(file) ?? await Deno.readTextFile(join(root, file));
        if (!anchors(md2).has(anchor)) broken.push(`${page}: ${target} (no heading #${anchor} in ${file})`);
      }
    }
  }
  assertEquals(broken, []);
});

Deno.test("docs: the README is at most 250 lines and names `deno task demo` and `deno task test`", () => {
  const readme = text.get("README.md")!;
  assert(readme.split("\n").length <= 250, `README has ${readme.split("\n").length} lines`);
  for (const c of ["deno task demo", "deno task test"]) assert(readme.includes(c), c);
});

/** Command lines shown in the pages: lines of fenced code blocks (continuations joined) and inline code spans. */
function commandLines(md: string): string[] {
  const out: string[] = [];
  let fence: string[] | null = null;
  for (const line of md.split("\n")) {
    if (line.trimStart().startsWith("```")) {
      if (fence) {
        out.push(...fence.join("\n").replace(/\\\n\s*/g, " ").split("\n"));
        fence = null;
      } else fence = [];
    } else if (fence) fence.push(line);
  }
  const prose = md.replace(/```[\s\S]*?```/g, "");
  for (const [, span] of prose.matchAll(/`([^`]+)`/g)) out.push(span.replace(/\s*\n\s*/g, " "));
  return out.map((l) => l.replace(/\s#\s.*$/, "").trim()).filter((l) => /\bdeno (task|run|bench)\b/.test(l));
}

const tasks = Object.keys(JSON.parse(await Deno.readTextFile(join(root, "deno.json"))).tasks);
const commands = new Map<string, Set<string>>();
for (const entry of ENTRIES) {
  const mod = await entry.module();
  const cmd = mod.commands.find((c) => c.name === entry.name)!;
  commands.set(entry.name, new Set([...Object.keys(cmd.flags), "help", "json"]));
}

/** What is wrong with one shown command line, if anything. */
function problems(line: string): string[] {
  const out: string[] = [];
  if (/\s-A(\s|$)/.test(line)) out.push("uses -A");
  for (const [, script] of line.matchAll(/\b((?:tools|bench|lib)\/[\w./-]+\.(?:ts|sh|py))/g)) {
    try {
      Deno.statSync(join(root, script));
    } catch {
      out.push(`no ${script}`);
    }
  }
  const m = line.match(/\bdeno task\s+((?:-q\s+|--config\s+\S+\s+)*)(\S+)(.*)$/);
  if (!m) return out;
  const [, , task, rest] = m;
  if (!tasks.includes(task)) return [...out, `no deno task '${task}'`];
  if (task !== "cli") return out;
  const words = rest.trim().split(/\s+/).filter((w) => w !== "");
  if (words.length === 0 || words[0].startsWith("-")) return out; // `deno task cli --help`, `--version`
  const name = [...commands.keys()].filter((n) => n.split(" ").every((w, i) => words[i] === w))
    .sort((a, b) => b.length - a.length)[0];
  if (!name) return [...out, `no CLI command '${words.slice(0, 2).join(" ")}'`];
  for (const w of words.slice(name.split(" ").length)) {
    const flag = w.replace(/^[[(]+/, "").match(/^--([\w-]+)/)?.[1];
    if (flag && !commands.get(name)!.has(flag)) out.push(`'${name}' has no --${flag}`);
  }
  return out;
}

Deno.test("docs: every command shown names a deno task, a CLI command and flags that exist, without -A", () => {
  const bad: string[] = [];
  let checked = 0;
  for (const [page, md] of text) {
    for (const line of commandLines(md)) {
      checked++;
      for (const p of problems(line)) bad.push(`${page}: ${p}: ${line}`);
    }
  }
  assertEquals(bad, []);
  assert(checked > 40, `only ${checked} command lines found: the parser lost them`);
});

Deno.test("docs check: catches a missing task, command, flag, script and -A", () => {
  assertEquals(problems("deno task demo"), []);
  assertEquals(problems("deno task cli grid --config c.json --data ../shared/data --models m"), []);
  assertEquals(problems("deno task nope"), ["no deno task 'nope'"]);
  assertEquals(problems("deno task cli frobnicate --x"), ["no CLI command 'frobnicate --x'"]);
  assertEquals(problems("deno task cli data prepare fsdd --dta d"), ["'data prepare' has no --dta"]);
  assertEquals(problems("deno run -A tools/nothing.ts"), ["uses -A", "no tools/nothing.ts"]);
});

Deno.test("docs: the apt-get line of docs/install.md is the list of tools/system_packages.sh", async () => {
  const sh = await Deno.readTextFile(join(root, "tools", "system_packages.sh"));
  const list = sh.match(/APT_PACKAGES=\(([^)]*)\)/)![1].split(/\s+/).filter((p) => p !== "");
  const line = text.get("docs/install.md")!.split("\n").find((l) => l.includes("apt-get install -y"))!;
  assertEquals(line.split("apt-get install -y")[1].trim().split(/\s+/), list);
});
