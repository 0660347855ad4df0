/**
 * The CLI as a command-line tool: "did you mean" for mistyped flags, relative paths mean the caller's folder
 * (through `deno task` from a subfolder, and from outside the checkout through tools/nac-sae), `--version`,
 * JSON error objects with `--json`, and snake_case keys in every JSON summary.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { projectRoot } from "../lib/common/assets.ts";
import { booleanFlag, stringFlag, unknownFlagProblem } from "../lib/common/cli.ts";
import { writeMatrix } from "../lib/common/matrix.ts";
import { writeNpy } from "../lib/formats/npy.ts";
import { gitCommit } from "../lib/cli/version.ts";
import { commandWorks } from "./tools.ts";

const root = projectRoot();

async function run(cmd: string, args: string[], cwd: string) {
  // `deno task` sets INIT_CWD only when it is unset; under `deno task test` it already names the project root,
  // so each child starts without it, as from a user's shell.
  const env = Deno.env.toObject();
  delete env.INIT_CWD;
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** A small separable probe problem written as .npy files into `dir`. */
async function writeProbeFiles(dir: string) {
  const n = 60, d = 5;
  const x = new Float32Array(n * d), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let j = 0; j < d; j++) x[i * d + j] = Math.sin(i * 7 + j * 3) + (j === 0 ? 2 * y[i] : 0);
  }
  await writeMatrix(join(dir, "x.npy"), { rows: n, cols: d, data: x });
  await writeNpy(join(dir, "y.npy"), y, [n]);
}

function lastJson(stdout: string) {
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

function nonSnakeKeys(value: unknown, path = ""): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => nonSnakeKeys(v, `${path}[${i}]`));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => [
      ...(/^[a-z][a-zA-Z0-9]*$/.test(k) && /[A-Z]/.test(k) ? [`${path}.${k}`] : []),
      ...nonSnakeKeys(v, `${path}.${k}`),
    ]);
  }
  return [];
}

Deno.test("cli: relative paths from a subfolder (deno task sets INIT_CWD) and from outside the checkout", async () => {
  await Deno.mkdir(join(root, "results"), { recursive: true });
  const sub = await Deno.makeTempDir({ dir: join(root, "results"), prefix: "cli-test-" });
  const outside = await Deno.makeTempDir({ prefix: "nac-sae-outside-" });
  try {
    await writeProbeFiles(sub);
    const args = ["--train", "x.npy", "--train-labels", "y.npy", "--test", "x.npy", "--test-labels", "y.npy"];
    const r = await run("deno", ["task", "-q", "cli", "probe", ...args, "--json"], sub);
    assertEquals(r.code, 0, r.stderr);
    assert(lastJson(r.stdout).macro_f1 > 0.9, r.stdout);

    // Outside the checkout: the wrapper script, relative paths again meaning the caller's folder.
    await writeProbeFiles(outside);
    const w = await run(join(root, "tools", "nac-sae"), ["probe", ...args, "--json"], outside);
    assertEquals(w.code, 0, w.stderr);
    assertEquals(lastJson(w.stdout).macro_f1, lastJson(r.stdout).macro_f1);
  } finally {
    await Deno.remove(sub, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("cli: --version prints the version, the checkout's commit and the runtime versions", async () => {
  const r = await run("deno", ["task", "-q", "cli", "--version", "--json"], root);
  assertEquals(r.code, 0, r.stderr);
  const v = lastJson(r.stdout);
  const config = JSON.parse(await Deno.readTextFile(join(root, "deno.json")));
  assertEquals(v.nac_sae, config.version);
  assertEquals(v.deno, Deno.version.deno);
  assertMatch(v.onnxruntime, /^\d+\.\d+\.\d+$/);
  if (await commandWorks("git", ["-C", root, "rev-parse", "HEAD"])) {
    const git = await run("git", ["-C", root, "rev-parse", "HEAD"], root);
    assertEquals(v.commit, git.stdout.trim());
    assertEquals(gitCommit(root), git.stdout.trim());
  }
  const text = await run("deno", ["task", "-q", "cli", "--version"], root);
  assertMatch(text.stdout, /^nac-sae \d+\.\d+\.\d+/);
  assertMatch(text.stdout, /onnxruntime-node \d/);
});

Deno.test("cli: with --json a failure prints a JSON error object; summaries use snake_case keys", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cli = ["task", "-q", "--config", join(root, "deno.json"), "cli"];
    const usage = await run("deno", [...cli, "probe", "--train", "x.npy", "--json"], dir);
    assertEquals(usage.code, 2);
    assertEquals(lastJson(usage.stdout).error.kind, "usage");
    assertMatch(lastJson(usage.stdout).error.message, /--train-labels is required/);

    const missing = [
      "--train",
      "nope.npy",
      "--train-labels",
      "y.npy",
      "--test",
      "x.npy",
      "--test-labels",
      "y.npy",
    ];
    await writeProbeFiles(dir); // only nope.npy is missing
    const runtime = await run("deno", [...cli, "probe", ...missing, "--json"], dir);
    assertEquals(runtime.code, 1);
    const err = lastJson(runtime.stdout).error;
    assertEquals([err.kind, err.command, err.exit_code], ["runtime", "probe", 1]);
    assertMatch(err.message, /nope\.npy/);

    const unknown = await run("deno", [...cli, "frobnicate", "--json"], dir);
    assertEquals([unknown.code, lastJson(unknown.stdout).error.kind], [2, "usage"]);

    const codecs = await run("deno", [...cli, "codecs", "--json"], dir);
    assertEquals(codecs.code, 0, codecs.stderr);
    const summary = lastJson(codecs.stdout);
    assertEquals(nonSnakeKeys(summary), []);
    assert("sample_rate" in summary.codecs[0] && "d_codec" in summary.codecs[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a mistyped flag gets 'did you mean' (the config keys' suggestion), an unrelated one the list", () => {
  const flags = {
    "train-labels": stringFlag("labels"),
    alpha: stringFlag("α"),
    quiet: booleanFlag("quiet"),
  };
  assertEquals(
    unknownFlagProblem(["--train-label", "y.npy"], flags),
    "unknown flag --train-label; did you mean --train-labels?",
  );
  assertEquals(unknownFlagProblem(["--Quiet"], flags), "unknown flag --Quiet; did you mean --quiet?");
  assertStringIncludes(unknownFlagProblem(["--zzzzzzzz"], flags)!, "known flags: --train-labels, --alpha");
  // Values of string flags (even negative numbers or dashes), --help and anything after -- are not flags.
  assertEquals(
    unknownFlagProblem(["--alpha", "-0.5", "--train-labels=--x", "-h", "--", "--nope"], flags),
    undefined,
  );
  assertEquals(unknownFlagProblem(["--alpha", "--weird"], flags), undefined);
  assertStringIncludes(unknownFlagProblem(["-q"], flags)!, "unknown flag -q");
});
