import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { sourceClosure, sourceHash } from "../lib/common/source_graph.ts";

Deno.test("source graph: a grid cell's cache key covers the shared code it runs, not the CLI", async () => {
  const lib = new URL("../lib/", import.meta.url).pathname;
  const files = await sourceClosure(join(lib, "experiment/cell.ts"));
  for (
    const f of [
      "common/random.ts",
      "common/matrix.ts",
      "formats/onnx.ts",
      "sae/engine.ts",
      "probe/logistic.ts",
    ]
  ) {
    assert(files.includes(join(lib, f)), `${f} missing from the cell's closure`);
  }
  assert(!files.some((f) => f.includes("/cli/") || f.includes("/report/")), "the cell does not run the CLI");
});

Deno.test("source graph: follows static, re-export and dynamic imports; the hash changes with any of them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "sub"));
    await Deno.writeTextFile(join(dir, "a.ts"), 'import { b } from "./sub/b.ts";\nexport const a = b;\n');
    await Deno.writeTextFile(join(dir, "sub/b.ts"), 'export * from "./c.ts";\nexport const b = 1;\n');
    await Deno.writeTextFile(join(dir, "sub/c.ts"), 'export const c = () => import("../d.ts");\n');
    await Deno.writeTextFile(join(dir, "d.ts"), "export const d = 1;\n");
    await Deno.writeTextFile(join(dir, "unused.ts"), "export const u = 1;\n");
    assertEquals(
      await sourceClosure(join(dir, "a.ts")),
      ["a.ts", "d.ts", "sub/b.ts", "sub/c.ts"].map((f) => join(dir, f)),
    );
    const hash = () => sourceHash(pathToFileURL(join(dir, "a.ts")), pathToFileURL(dir + "/"));
    const before = await hash();
    await Deno.writeTextFile(join(dir, "unused.ts"), "export const u = 2;\n");
    assertEquals(await hash(), before);
    await Deno.writeTextFile(join(dir, "d.ts"), "export const d = 2;\n");
    assertNotEquals(await hash(), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("source graph: comments, whitespace and type-only imports never change the hash; code and strings do", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = join(dir, "a.ts");
    await Deno.writeTextFile(join(dir, "b.ts"), "export const b = 1;\n");
    await Deno.writeTextFile(join(dir, "t.ts"), "export interface T { x: number }\n");
    const write = (text: string) => Deno.writeTextFile(a, text);
    const hash = () => sourceHash(pathToFileURL(a), pathToFileURL(dir + "/"));
    const code = 'import { b } from "./b.ts";\nimport type { T } from "./t.ts";\n' +
      'export const f = (t: T) => t.x * b / 2; // half\nexport const s = "a // not a comment";\n';
    await write(code);
    const before = await hash();
    // The type-only import is not in the closure: editing the types' module keeps the hash.
    assertEquals((await sourceClosure(a)).map((f) => f.slice(dir.length + 1)), ["a.ts", "b.ts"]);
    await Deno.writeTextFile(join(dir, "t.ts"), "/** doc */\nexport interface T { x: number; y?: string }\n");
    assertEquals(await hash(), before);
    // Comments (line, block, doc), blank lines and re-indentation keep it.
    await write("/** A module. */\n" + code.replace("// half", "// a half, see README") + "\n\n// end\n");
    assertEquals(await hash(), before);
    await write(code.replaceAll("\n", "\n\n").replace("t.x * b / 2", "t.x  *  b /  2"));
    assertEquals(await hash(), before);
    // A changed operator, constant or string literal changes it, as does a changed imported module.
    for (
      const edit of [
        code.replace("/ 2", "/ 3"),
        code.replace("t.x * b", "t.x + b"),
        code.replace("not a", "no"),
      ]
    ) {
      await write(edit);
      assertNotEquals(await hash(), before, edit);
    }
    await write(code);
    await Deno.writeTextFile(join(dir, "b.ts"), "export const b = 2;\n");
    assertNotEquals(await hash(), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("source graph: the cell's closure leaves out CLI help, the report, the plots and the run config", async () => {
  const lib = new URL("../lib/", import.meta.url).pathname;
  const files = (await sourceClosure(join(lib, "experiment/cell.ts"))).map((f) => f.slice(lib.length));
  for (const f of files) {
    assert(
      !/\/cli\.ts$|^cli\/|^report\/|^plots\/|^experiment\/(config|run|plan)\.ts$/.test(f),
      `${f} in the closure`,
    );
  }
});
