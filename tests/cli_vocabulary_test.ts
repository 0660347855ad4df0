/**
 * One CLI vocabulary across every command: parallelism is `--workers` (compute threads per process are the
 * separate `--threads`), each `--out` says whether it is a file or a folder, every command that prints progress
 * takes `--quiet`, defaults are written one way (the `default`/`defaultText` fields, shown as "(default: …)"),
 * and the help marks "(required)" exactly the flags that are.
 */
import { assert, assertEquals } from "@std/assert";
import { ENTRIES } from "../lib/cli/main.ts";
import { type Command, helpText } from "../lib/common/cli.ts";

const commands: Command[] = [];
for (const e of ENTRIES) {
  const cmd = (await e.module()).commands.find((c) => c.name === e.name);
  assert(cmd, `${e.name}: not exported by its module`);
  commands.push(cmd);
}

/** Commands that report progress on long work (extraction, corpus generation, training, the grid). */
const PROGRESS = ["data prepare", "extract", "sae train", "grid", "demo", "steer"];

Deno.test("cli vocabulary: --workers for parallelism, --threads only for compute threads", () => {
  for (const c of commands) {
    for (const name of ["jobs", "parallel", "processes", "concurrency", "cores"]) {
      assert(!(name in c.flags), `${c.name} --${name}: parallelism is --workers`);
    }
    if ("threads" in c.flags) {
      assert(
        /compute threads/.test(c.flags.threads.description),
        `${c.name} --threads must say compute threads`,
      );
    }
  }
});

Deno.test("cli vocabulary: --out says file or folder; --quiet where progress is printed", () => {
  for (const c of commands) {
    const out = c.flags.out;
    if (out) assert(/\b(file|folder)\b/.test(out.description), `${c.name} --out: "${out.description}"`);
    if (PROGRESS.includes(c.name)) assert("quiet" in c.flags, `${c.name} prints progress but has no --quiet`);
  }
});

Deno.test("cli vocabulary: defaults written one way; (required) only on required flags", () => {
  for (const c of commands) {
    const help = helpText(c);
    for (const [name, f] of Object.entries(c.flags)) {
      assert(
        !/\(default|default:|; default|default \d/i.test(f.description),
        `${c.name} --${name}: a default in the text`,
      );
      const line = help.split("\n").find((l) => l.startsWith(`  --${name} `))!;
      assertEquals(line.includes("(required)"), f.required === true, `${c.name} --${name}: ${line}`);
      if (f.default !== undefined && f.default !== false) {
        assert(line.includes(`(default: ${f.default})`), line);
      }
      if (f.defaultText) assert(line.includes(`(default: ${f.defaultText})`), line);
      // A flag the usage line shows in brackets is optional; a required one is not bracketed there.
      if (f.required) {
        assert(!c.usage.includes(`[--${name}`), `${c.name}: --${name} is required, not optional`);
      }
    }
  }
});
