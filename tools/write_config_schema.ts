/** Writes docs/run-config.schema.json from the run-config table (`deno task schema`). */
import { runConfigJsonSchema } from "../lib/experiment/config.ts";

const out = new URL("../docs/run-config.schema.json", import.meta.url);
await Deno.writeTextFile(out, JSON.stringify(runConfigJsonSchema(), null, 2) + "\n");
console.log(`wrote ${out.pathname}`);
