/**
 * The grid on a real Slurm cluster (tools/slurm-up.sh starts a single-node one; CI does): a small grid via
 * Slurm (feature extraction, cell array, merge) equals the same grid run locally; `scancel` of one array task,
 * then resubmission, completes it without recomputing finished cells; a failing task surfaces its log.
 * Skipped, with a line saying why, where no Slurm cluster answers.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import pl from "nodejs-polars";
import { sharedDir } from "../lib/cli/settings.ts";
import { slurmUnavailable } from "../lib/common/slurm.ts";
import { FSDD_SPLITS } from "./grid_fixture.ts";
import { skipWithout } from "./tools.ts";

const shared = sharedDir();
const noSlurm = await slurmUnavailable();
if (noSlurm !== null) {
  console.log(
    `experiment_slurm_test: skipped, no Slurm cluster here (${noSlurm}); start one with tools/slurm-up.sh`,
  );
}
if (!shared) console.log("experiment_slurm_test: skipped, ../shared (FSDD, Lyra weights) not found");

const MAIN = new URL("../lib/cli/main.ts", import.meta.url).pathname;
const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
  "--allow-run=sbatch,squeue,scontrol,sacct,scancel,sinfo",
];

/** FSDD subset (real speech): 2 takes × 10 digits per speaker, the FSDD split (train / validation / test). */
const SPEAKERS = Object.entries(FSDD_SPLITS).map((
  [speaker, [narrow, broad, split]],
) => [speaker, narrow, broad, split]);

async function writeManifest(dir: string): Promise<string> {
  const lines = ["utterance_id,path,dataset,speaker_id,accent_narrow,accent_broad,split"];
  for (const [speaker, narrow, broad, split] of SPEAKERS) {
    for (let digit = 0; digit < 10; digit++) {
      for (let take = 0; take < 2; take++) {
        const id = `${digit}_${speaker}_${take}`;
        lines.push(
          `${id},${shared}/data/fsdd/recordings/${id}.wav,fsdd-mini,${speaker},${narrow},${broad},${split}`,
        );
      }
    }
  }
  const path = join(dir, "manifest.csv");
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return path;
}

async function writeConfig(dir: string, name: string, manifest: string, featureDir: string): Promise<string> {
  const path = join(dir, `${name}.json`);
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      name,
      datasets: [{ name: "fsdd-mini", manifest }],
      codecs: ["lyra-3.2kbps"],
      tasks: ["us-vs-non-us-uk"],
      grid: { q: [2], s: [0.25, 0.05] },
      seeds: [0, 1],
      epochs: { fixed: 5 },
      features: ["z", "z_pos"],
      outDir: join(dir, name),
      featureDir,
      modelsDir: `${shared}/models`,
      workers: 1,
      bootstrap: 20,
    }),
  );
  return path;
}

async function cli(args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { ok: out.success, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function mustRun(args: string[]): Promise<string> {
  const r = await cli(args);
  assert(r.ok, `${args.join(" ")} failed:\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}

/** Every column but timings and executor info, ordered by the row key. */
function comparable(outDir: string): Record<string, unknown>[] {
  const df = pl.readCSV(Deno.readTextFileSync(join(outDir, "results.csv")));
  const cols = df.columns.filter((c) => !/seconds|config_hash/.test(c));
  return df.select(...cols).sort(["q", "s", "seed", "feature"]).toRecords();
}

async function cellMtimes(outDir: string): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for await (const e of Deno.readDir(join(outDir, "cells"))) {
    if (e.isFile && e.name.endsWith(".json") && !e.name.startsWith("ref-")) {
      m.set(e.name, (await Deno.stat(join(outDir, "cells", e.name))).mtime!.getTime());
    }
  }
  return m;
}

interface Submission {
  submission: string;
  dir: string;
  jobs: { extract?: string; array?: string; merge?: string };
}

async function submission(outDir: string, n: string): Promise<Submission> {
  return JSON.parse(await Deno.readTextFile(join(outDir, "slurm", n, "submission.json")));
}

Deno.test({
  name:
    "grid --executor slurm: equals a local run; scancel + resubmission finishes; a failing task shows its log",
  ignore: skipWithout(import.meta.url, "Slurm (sbatch) or ../shared data", noSlurm !== null || !shared),
  sanitizeResources: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "nac-sae-slurm-test-" });
    const manifest = await writeManifest(dir);
    const features = join(dir, "features");
    const local = await writeConfig(dir, "local", manifest, features);

    await t.step("a small grid via Slurm (extraction, array, merge) equals the local run", async () => {
      await mustRun(["grid", "--config", local, "--quiet"]);
      // Its own feature store, so the submission extracts on the cluster too.
      const viaSlurm = await writeConfig(dir, "slurm", manifest, join(dir, "features-slurm"));
      const out = await mustRun([
        "grid",
        "--config",
        viaSlurm,
        "--executor",
        "slurm",
        "--shard-size",
        "70",
        "--wait",
        "--poll",
        "1",
      ]);
      assertStringIncludes(out, "after 2 feature extraction shard(s)");
      assertStringIncludes(out, "fold job");
      assertStringIncludes(out, "4/4 cells computed");
      assertEquals(comparable(join(dir, "slurm")), comparable(join(dir, "local")));
      const sub = await submission(join(dir, "slurm"), "001");
      const files = ["plan.json", "config.json", "task.sh", "merge.sh", "logs/task-0.out", "logs/merge.out"];
      for (const f of [...files, "extract.sh", "fold.sh", "logs/extract-1.out", "logs/fold.out"]) {
        assert(await Deno.stat(join(sub.dir, f)).then(() => true, () => false), `${f} missing in ${sub.dir}`);
      }
      const info = JSON.parse(await Deno.readTextFile(join(dir, "slurm", "run_info.json")));
      assertEquals(info.executor.kind, "slurm");
      assertEquals(info.executor.jobs.merge, sub.jobs.merge);
      assert(await Deno.stat(join(dir, "slurm", "report.html")).then(() => true, () => false));
    });

    await t.step("extract --executor slurm: shards, fold; the store equals a local extraction", async () => {
      const store = join(dir, "store-slurm");
      const args = ["extract", "--codec", "lyra-3.2kbps", "--manifest", manifest, "--store", store];
      const out = await mustRun([
        ...args,
        "--models",
        `${shared}/models`,
        "--executor",
        "slurm",
        "--shard-size",
        "50",
        "--wait",
        "--poll",
        "1",
      ]);
      assertStringIncludes(out, "3 extraction shard(s)");
      assertStringIncludes(out, "3/3 shards extracted");
      const local = join(features, "fsdd-mini", "lyra-3.2kbps");
      for (const f of ["u.npy", "index.csv"]) {
        assertEquals(await Deno.readFile(join(store, f)), await Deno.readFile(join(local, f)), f);
      }
      const parts = await Array.fromAsync(Deno.readDir(join(store, "parts"))).catch(() => []);
      assertEquals(parts.length, 0, "parts left after the fold");
      const again = await mustRun([...args, "--executor", "slurm"]);
      assertStringIncludes(again, "complete, nothing to extract");
    });

    await t.step(
      "scancel of one array task, then resubmission, completes it without recomputing",
      async () => {
        const cfg = await writeConfig(dir, "cancel", manifest, features);
        const outDir = join(dir, "cancel");
        // One task at a time, so the last one is still pending when it is cancelled.
        await mustRun([
          "grid",
          "--config",
          cfg,
          "--executor",
          "slurm",
          "--array-parallelism",
          "1",
          "--quiet",
        ]);
        const first = await submission(outDir, "001");
        const cancel = await new Deno.Command("scancel", { args: [`${first.jobs.array}_3`] }).output();
        assert(cancel.success, "scancel failed");
        const followed = await cli(["grid", "--config", cfg, "--follow", "--poll", "1"]);
        assert(!followed.ok, "following a submission with a cancelled task must fail");
        assertStringIncludes(followed.stderr, `array task ${first.jobs.array}_3 did not finish`);
        assertStringIncludes(followed.stderr, join(first.dir, "logs", "task-3.out"));
        assertStringIncludes(followed.stderr, "3/4 cells done");
        const before = await cellMtimes(outDir);
        assertEquals(before.size, 3);

        const out = await mustRun(["grid", "--config", cfg, "--executor", "slurm", "--wait", "--poll", "1"]);
        assertStringIncludes(out, "submission 002: 1 of 4 cells to compute in 1 array task(s)");
        const after = await cellMtimes(outDir);
        assertEquals(after.size, 4);
        for (const [name, mtime] of before) assertEquals(after.get(name), mtime, `${name} was recomputed`);
        const status = JSON.parse(await Deno.readTextFile(join(outDir, "slurm", "002", "tasks", "0.json")));
        assertEquals([status.state, status.computed], ["done", 1]);
        assertEquals(comparable(outDir), comparable(join(dir, "local")));
      },
    );

    await t.step("a failing array task is reported with its log and its cells", async () => {
      const broken = join(dir, "features-broken");
      await Deno.mkdir(join(broken, "fsdd-mini"), { recursive: true });
      await new Deno.Command("cp", {
        args: ["-r", join(features, "fsdd-mini", "lyra-3.2kbps"), join(broken, "fsdd-mini")],
      })
        .output();
      const cfg = await writeConfig(dir, "failing", manifest, broken);
      // Held at submission, so the store can be damaged before the tasks read it.
      await mustRun(["grid", "--config", cfg, "--executor", "slurm", "--sbatch-arg=--hold", "--quiet"]);
      const sub = await submission(join(dir, "failing"), "001");
      await Deno.writeTextFile(join(broken, "fsdd-mini", "lyra-3.2kbps", "u.npy"), "not an npy file");
      await new Deno.Command("scontrol", { args: ["release", sub.jobs.array!, sub.jobs.merge!] }).output();
      const followed = await cli(["grid", "--config", cfg, "--follow", "--poll", "1"]);
      assert(!followed.ok);
      assertStringIncludes(followed.stderr, `array task ${sub.jobs.array}_0 did not finish (FAILED)`);
      assertStringIncludes(followed.stderr, join(sub.dir, "logs", "task-0.out"));
      assertStringIncludes(followed.stderr, "fsdd-mini/lyra-3.2kbps/us-vs-non-us-uk/q=2/s=0.25/seed=0");
      assertStringIncludes(followed.stderr, "u.npy");
      const log = await Deno.readTextFile(join(sub.dir, "logs", "task-0.out"));
      assertStringIncludes(log, "u.npy");

      // A config edited between submission and run is refused by the tasks, not silently computed.
      const edited = await writeConfig(dir, "edited", manifest, features);
      await mustRun(["grid", "--config", edited, "--executor", "slurm", "--sbatch-arg=--hold", "--quiet"]);
      const held = await submission(join(dir, "edited"), "001");
      const text = await Deno.readTextFile(edited);
      await Deno.writeTextFile(edited, text.replace('"fixed":5', '"fixed":6'));
      await new Deno.Command("scontrol", { args: ["release", held.jobs.array!, held.jobs.merge!] }).output();
      const refused = await cli(["grid", "--config", edited, "--follow", "--poll", "1"]);
      assert(!refused.ok);
      assertStringIncludes(refused.stderr, `${edited} changed since submission 001`);
    });

    await Deno.remove(dir, { recursive: true });
  },
});
