/** The dashboard's audio excerpts are of the audio that was encoded: a file changed since is refused. */
import { assert, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { encodeWav } from "../lib/audio/wav.ts";
import { sha256File } from "../lib/common/hash.ts";
import { encodedExcerpt } from "../lib/report/latents.ts";

Deno.test("latents: an excerpt of a file replaced after encoding is refused, naming the file and what to do", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "a.wav");
    const tone = (f: number) => new Float32Array(8000).map((_, i) => 0.3 * Math.sin(i * f));
    await Deno.writeFile(path, encodeWav([tone(0.05)], 8000));
    const info = { id: "a", path, sha256: await sha256File(path) };
    assert((await encodedExcerpt(info, { seconds: 0.5, rate: 8000 })).startsWith("data:audio/wav;base64,"));
    await Deno.writeFile(path, encodeWav([tone(0.09)], 8000));
    const e = await assertRejects(() => encodedExcerpt(info, { seconds: 0.5, rate: 8000 }));
    assertStringIncludes((e as Error).message, `${path} (a) changed since it was encoded`);
    assertStringIncludes((e as Error).message, "run the grid again");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
