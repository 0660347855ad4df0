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

/** Debian's python3, where python3-torch, python3-sklearn and numpy are installed. */
export const PYTHON = "/usr/bin/python3";

/** Whether PYTHON imports torch (not noted as missing: callers name what they skip). */
export function torchAvailable(): Promise<boolean> {
  return commandWorks(PYTHON, ["-c", "import torch"]);
}

/**
 * Writes `out` with torch.save from the tensors of a safetensors file, as the official checkpoints are
 * saved: the state dict itself, or `{"state_dict": sd, "metadata": {"kwargs": …}}` (DAC's layout) when
 * `kwargsFrom` names a JSON file with "constructor_args".
 */
export async function torchSaveFromSafetensors(
  safetensors: string,
  out: string,
  kwargsFrom?: string,
): Promise<void> {
  const script = `
import json, sys, collections, numpy as np, torch
raw = open(sys.argv[1], "rb").read()
n = int.from_bytes(raw[:8], "little"); header = json.loads(raw[8:8 + n]); sd = collections.OrderedDict()
for k, v in header.items():
    if k == "__metadata__": continue
    a, b = v["data_offsets"]
    sd[k] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(v["shape"]).copy())
obj = sd
if len(sys.argv) > 3:
    obj = {"state_dict": sd, "metadata": {"kwargs": json.load(open(sys.argv[3]))["constructor_args"]}}
torch.save(obj, sys.argv[2])
`;
  const args = ["-c", script, safetensors, out, ...(kwargsFrom ? [kwargsFrom] : [])];
  const r = await new Deno.Command(PYTHON, { args, stdout: "null", stderr: "piped" }).output();
  if (!r.success) {
    throw new Error(`torch.save of ${safetensors} failed: ${new TextDecoder().decode(r.stderr)}`);
  }
}
