/**
 * Datasets of a run, prepared the one way both executors use: each resolved dataset entry (plan.ts) is
 * prepared (or its manifest read) with its own options — duplicate-audio policy included — and its manifest
 * is asked which tasks it supports, the fact the planner needs. The protocol's folds are checked here, on the
 * manifest, before any extraction.
 */
import type pl from "nodejs-polars";
import { log } from "../common/progress.ts";
import type { Locations } from "../common/settings.ts";
import { prepareDataset, readManifest, taskApplies, taskSplits } from "../data/mod.ts";
import { type ProbeConfig, TASK_IDS, type TaskId } from "./config.ts";
import { type ResolvedDataset, tasksOfDataset } from "./plan.ts";
import { probeRowsOf } from "./task_data.ts";

export interface PreparedDataset {
  dataset: ResolvedDataset;
  manifestPath: string;
  manifest: pl.DataFrame;
  /** Every task the manifest supports (the planner's fact). */
  supported: TaskId[];
}

/** Prepares (or reads) one dataset's manifest under its resolved options. */
export async function prepareRunDataset(
  ds: ResolvedDataset,
  opts: Locations & { quiet?: boolean; probe: ProbeConfig },
): Promise<PreparedDataset> {
  const { probe, quiet, ...loc } = opts;
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
  const manifest = await readManifest(manifestPath, {
    duplicateAudio: ds.allowDuplicateAudio ? "allow" : "error",
  });
  const supported = TASK_IDS.filter((t) => taskApplies(manifest, t));
  for (const task of tasksOfDataset(ds, supported)) {
    const plan = probeRowsOf(taskSplits(manifest, task), probe, `${ds.name}/${task}`);
    plan.testFold(plan.rows);
  }
  return { dataset: ds, manifestPath, manifest, supported };
}

/** Prepares every dataset of a run, in order. */
export async function prepareRunDatasets(
  datasets: ResolvedDataset[],
  opts: Locations & { quiet?: boolean; probe: ProbeConfig },
): Promise<PreparedDataset[]> {
  const out: PreparedDataset[] = [];
  for (const ds of datasets) out.push(await prepareRunDataset(ds, opts));
  return out;
}
