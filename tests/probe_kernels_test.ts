import { assertAlmostEquals, assertEquals } from "@std/assert";
import { Rng } from "../lib/common/random.ts";
import { DenseWorkspace } from "../lib/probe/kernels.ts";
import { buildWasm, generatedFor, renderModule } from "../lib/common/wasm_build.ts";
import { skipWithout } from "./tools.ts";

Deno.test("probe kernels: wasm dot3/axpy/sums equal plain float64 loops, including odd-length tails", () => {
  const rng = new Rng(9);
  for (const n of [1, 2, 3, 5, 8, 33, 1001]) {
    const cols = Float32Array.from({ length: 2 * n }, () => rng.normal());
    const ws = new DenseWorkspace(cols, n, 3);
    const [a, b, out] = ws.vectors;
    for (let i = 0; i < n; i++) [a[i], b[i], out[i]] = [rng.normal(), rng.next(), rng.normal()];
    const expectOut = Float64Array.from(out);
    let dot = 0, gs = 0, e = 0, h = 0;
    for (let i = 0; i < n; i++) {
      const v = cols[n + i]; // second column
      dot += v * a[i] * b[i];
      gs += v * a[i];
      e += v * b[i];
      h += v * v * b[i];
      expectOut[i] += 0.75 * v;
    }
    const [aB, bB, outB] = ws.vectorBytes;
    assertAlmostEquals(ws.k.dot3(4 * n, aB, bB, n), dot, 1e-12 * (1 + Math.abs(dot)));
    ws.k.sums(4 * n, aB, bB, n, ws.outByte);
    assertAlmostEquals(ws.out[0], gs, 1e-12 * (1 + Math.abs(gs)));
    assertAlmostEquals(ws.out[1], e, 1e-12 * (1 + Math.abs(e)));
    assertAlmostEquals(ws.out[2], h, 1e-12 * (1 + Math.abs(h)));
    ws.k.axpy(4 * n, 0.75, outB, n);
    for (let i = 0; i < n; i++) assertAlmostEquals(out[i], expectOut[i], 1e-12);
  }
});

async function hasWat2wasm(): Promise<boolean> {
  try {
    return (await new Deno.Command("wat2wasm", { args: ["--version"], stdout: "null" }).output()).success;
  } catch {
    return false;
  }
}

for (const wat of ["lib/probe/kernels.wat", "lib/sae/kernels.wat"]) {
  Deno.test({
    name: `wasm kernels: the embedded bytes of ${wat} are what wat2wasm builds from it`,
    ignore: skipWithout(import.meta.url, "wabt (wat2wasm)", !(await hasWat2wasm())),
    fn: async () => {
      const source = new URL(`../${wat}`, import.meta.url).pathname;
      const { path, constant } = generatedFor(source);
      const embedded = await Deno.readTextFile(path);
      assertEquals(embedded, renderModule(await buildWasm(source), constant, "kernels.wat"));
    },
  });
}
