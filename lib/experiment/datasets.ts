/**
 * Datasets of a run, prepared the one way both executors use: each resolved dataset entry (plan.ts) is
 * prepared (or its manifest read) with its own options — duplicate-audio policy included — and its manifest
 * is asked which tasks it supports, the fact the planner needs. The protocol's folds are checked here, on the
 * manifest, before any extraction.
 */
import type pl from "nodejs-polars";
import { basename, join, resolve } from "node:path";
import { safeName } from "../common/fs.ts";
import { log } from "../common/progress.ts";
import type { Locations } from "../common/settings.ts";
import {
  columnTaskReport,
  manifestRows,
  prepareDataset,
  readManifest,
  taskProblem,
  type TaskSpec,
  taskSplits,
  writeManifest,
} from "../data/mod.ts";
import { type ProbeConfig, type RunConfig, type TaskId, taskSpecs } from "./config.ts";
import { resolveDatasets, type ResolvedDataset, tasksOfDataset } from "./plan.ts";
import { probeRowsOf } from "./task_data.ts";

export interface PreparedDataset {
  dataset: ResolvedDataset;
  /** The manifest the run reads (with an external test set: development + test rows, written by the run). */
  manifestPath: string;
  /** The dataset's own manifest, before an external test set is added (what a resubmission prepares from). */
  sourceManifestPath: string;
  manifest: pl.DataFrame;
  /** Every task the manifest supports (the planner's fact), and why each other asked task is not. */
  supported: TaskId[];
  problems: Record<TaskId, string>;
  /** Which recordings are scored: "split:test" or "external:<file>". */
  testSet: string;
  /** The manifest's `dataset` column values, "+"-joined: what the data is (its caveats follow it). */
  kind: string;
}

/**
 * A development manifest and an external test manifest as one manifest (written to `at`): the test rows all
 * in split "test", the development ones in train/validation. Refused before any work, naming them: test
 * rows in the development manifest, and a speaker or audio file present in both.
 */
export async function withExternalTest(
  dev: { path: string; manifest: pl.DataFrame },
  testPath: string,
  at: string,
): Promise<string> {
  const test = await readManifest(testPath);
  const devRows = manifestRows(dev.manifest), testRows = manifestRows(test);
  const devTest = devRows.filter((r) => r.split === "test");
  if (devTest.length > 0) {
    throw new Error(
      `${dev.path}: ${devTest.length} recording(s) in split "test" (e.g. ${
        devTest[0].utterance_id
      }), but the ` +
        `dataset names an external testManifest (${testPath}): keep only train and validation rows in the ` +
        `development manifest, or drop testManifest`,
    );
  }
  // Speaker ids compared trimmed: "s1 " and "s1" are one speaker.
  const devSpeakers = new Map(devRows.map((r) => [String(r.speaker_id).trim(), r]));
  const shared = testRows.filter((r) => devSpeakers.has(String(r.speaker_id).trim()));
  const devPaths = new Map(devRows.map((r) => [resolve(String(r.path)), r]));
  const sameFile = testRows.filter((r) => devPaths.has(resolve(String(r.path))));
  if (shared.length > 0 || sameFile.length > 0) {
    const speakers = [...new Set(shared.map((r) => String(r.speaker_id).trim()))];
    throw new Error(
      `${testPath}: the external test set shares ${speakers.length} speaker(s) and ${sameFile.length} audio ` +
        `file(s) with the development manifest ${dev.path}` +
        (speakers.length ? `; speakers: ${speakers.slice(0, 5).join(", ")}` : "") +
        (sameFile.length
          ? `; files: ${sameFile.slice(0, 3).map((r) => basename(String(r.path))).join(", ")}`
          : "") +
        `. A test speaker must be unseen: remove them from one of the two manifests`,
    );
  }
  const rows = [...devRows, ...testRows.map((r) => ({ ...r, split: "test" }))];
  // Identical audio content under other names is caught here (duplicate audio across splits is an error).
  await writeManifest(at, rows, { source: `${dev.path} + ${testPath}`, duplicateAudio: "error" });
  return at;
}

/** Prepares (or reads) one dataset's manifest under its resolved options. */
export async function prepareRunDataset(
  ds: ResolvedDataset,
  opts: Locations & { quiet?: boolean; probe: ProbeConfig; workDir?: string; tasks: Map<TaskId, TaskSpec> },
): Promise<PreparedDataset> {
  const { probe, quiet, workDir, tasks, ...loc } = opts;
  let manifestPath = ds.manifest;
  if (!manifestPath) {
    const prepared = await prepareDataset(ds.name, {
      ...loc,
      source: ds.source,
      quiet,
      allowDuplicateAudio: ds.allowDuplicateAudio,
      ...ds.options,
    });
    manifestPath = prepared.manifestPath;
    // What preparing found (e.g. SAA: layout, speakers left out, caveats) is shown, not only stored.
    if (prepared.report) log(prepared.report.split("\n").map((l) => `${ds.name}: ${l}`).join("\n"), quiet);
  }
  const sourceManifestPath = manifestPath;
  if (ds.testManifest) {
    if (!workDir) throw new Error(`dataset '${ds.name}': an external testManifest needs the run's folder`);
    const dev = await readManifest(manifestPath, {
      duplicateAudio: ds.allowDuplicateAudio ? "allow" : "error",
    });
    manifestPath = await withExternalTest(
      { path: manifestPath, manifest: dev },
      ds.testManifest,
      join(workDir, "datasets", safeName(ds.name, `dataset ${JSON.stringify(ds.name)}`), "manifest.csv"),
    );
  }
  const manifest = await readManifest(manifestPath, {
    duplicateAudio: ds.allowDuplicateAudio ? "allow" : "error",
  });
  // Column tasks are checked on the manifest (column, values) and what they leave out is said, not hidden.
  for (const name of ds.tasks) {
    const spec = tasks.get(name)!;
    if (spec.column === "accent_narrow") continue;
    const { leftOut } = columnTaskReport(manifest, spec, manifestPath);
    if (leftOut > 0) {
      log(
        `${ds.name}: task ${name}: ${leftOut} recording(s) have no value of '${spec.column}' in ` +
          `${spec.classes.join(" / ")} and are left out of this task`,
        quiet,
      );
    }
  }
  const problems: Record<TaskId, string> = {};
  for (const t of ds.tasks) {
    const why = taskProblem(manifest, tasks.get(t)!);
    if (why !== null) problems[t] = why;
  }
  const supported = ds.tasks.filter((t) => problems[t] === undefined);
  for (const task of tasksOfDataset(ds, supported)) {
    const plan = probeRowsOf(taskSplits(manifest, tasks.get(task)!), probe, `${ds.name}/${task}`);
    plan.testFold(plan.rows);
  }
  const testSet = ds.testManifest ? `external:${basename(ds.testManifest)}` : "split:test";
  const kind = [...new Set(manifest.getColumn("dataset").toArray().map(String))].sort().join("+");
  return { dataset: ds, manifestPath, sourceManifestPath, manifest, supported, problems, testSet, kind };
}

/** Prepares every dataset of a run config under the planner's resolved options, in order. */
export function prepareDatasetsOf(
  config: RunConfig,
  opts: Locations & { quiet?: boolean },
): Promise<PreparedDataset[]> {
  return prepareRunDatasets(resolveDatasets(config), {
    ...opts,
    probe: config.probe,
    workDir: config.outDir,
    tasks: taskSpecs(config),
  });
}

/** Prepares every dataset of a run, in order. */
export async function prepareRunDatasets(
  datasets: ResolvedDataset[],
  opts: Locations & { quiet?: boolean; probe: ProbeConfig; workDir?: string; tasks: Map<TaskId, TaskSpec> },
): Promise<PreparedDataset[]> {
  const out: PreparedDataset[] = [];
  for (const ds of datasets) out.push(await prepareRunDataset(ds, opts));
  return out;
}
