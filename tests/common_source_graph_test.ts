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
