/**
 * Test groups that need a system tool (python3 + torch, espeak-ng, chromium, nbconvert, wabt, the shared
 * data) are ignored where it is missing. So that a green run cannot hide lost coverage, each such group notes
 * the missing tool in the file named by NAC_SAE_TEST_SKIPS, and `deno task test` (tools/test.sh) prints the
 * list at the end.
 */
import { basename } from "node:path";

/** Records that the test file `testUrl` (its import.meta.url) skips tests because `tool` is missing. */
export function noteMissingTool(testUrl: string, tool: string): void {
  const file = Deno.env.get("NAC_SAE_TEST_SKIPS");
  if (!file) return;
  Deno.writeTextFileSync(file, `${basename(new URL(testUrl).pathname)}: ${tool}\n`, { append: true });
}

/** Whether `cmd args` runs and exits 0 (e.g. `python3 -c "import torch"`). */
export async function commandWorks(cmd: string, args: string[] = []): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output()).success;
  } catch {
    return false;
  }
}

/** commandWorks, noting `tool` as missing for `testUrl` when it does not. */
export async function toolAvailable(
  testUrl: string,
  tool: string,
  cmd: string,
  args: string[] = [],
): Promise<boolean> {
  const ok = await commandWorks(cmd, args);
  if (!ok) noteMissingTool(testUrl, tool);
  return ok;
}

/** `skip`, noting `tool` as missing for `testUrl` when true: `ignore: skipWithout(import.meta.url, "x", !hasX)`. */
export function skipWithout(testUrl: string, tool: string, skip: boolean): boolean {
  if (skip) noteMissingTool(testUrl, tool);
  return skip;
}
