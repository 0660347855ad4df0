/**
 * Feature extraction on a Slurm cluster: the utterances a store lacks are cut into shards (slice manifests of
 * `shardSize` rows); array task i extracts shard i into a part store of its own (`<store>/parts/<hash>/`, named
 * by the shard's rows, so a resubmission resumes the same parts); a fold job then imports the parts into the
 * store (`extract --import`), writes its merged view and removes the parts. Used by `extract --executor slurm`
 * and by the grid's Slurm executor ahead of its cell array.
 */
import { join } from "node:path";
import pl from "nodejs-polars";
import { exists, readJson, writeFileAtomic, writeJsonAtomic } from "../common/fs.ts";
import { sha256Hex } from "../common/hash.ts";
import * as slurm from "../common/slurm.ts";
import { getCodec } from "../codecs/registry.ts";
import { featureStoreDir, manifestRows } from "./mod.ts";
import { readMergedView, storedUtterances } from "./store.ts";
import { type Locations, locationsOf } from "../common/settings.ts";

/** One array task of an extraction: a slice of a manifest into a part store. */
export interface ExtractShard {
  index: number;
  dataset: string;
  codec: string;
  /** The slice manifest (absolute paths). */
  manifest: string;
  /** The part store it fills. */
  store: string;
  rows: number;
  /** First and last utterance of the slice, for messages. */
  first: string;
  last: string;
}

/** What the fold job does for one store: import its parts, write the merged view. */
export interface StoreFold {
  dataset: string;
  codec: string;
  manifest: string;
  store: string;
  parts: string[];
}

/** Whether a store's merged view covers every utterance of its manifest (stored or recorded as failed). */
export async function storeComplete(storeDir: string, manifestPath: string): Promise<boolean> {
  if (!(await exists(join(storeDir, "store.json")))) return false;
  const [{ rows }, view] = await Promise.all([manifestRows(manifestPath), readMergedView(storeDir)]);
  const have = new Set([...view.ids, ...view.failures.map((f) => f.utterance_id)]);
  return rows.every((r) => have.has(r.utterance_id));
}

/**
 * Plans the shards of the utterances `storeDir` lacks, writing their slice manifests to `workDir`; null when
 * the store is complete. Shard indices start at `firstIndex` (several stores share one array).
 */
export async function planStoreShards(o: {
  manifestPath: string;
  codecId: string;
  storeDir: string;
  shardSize: number;
  workDir: string;
  firstIndex: number;
}): Promise<{ shards: ExtractShard[]; fold: StoreFold } | null> {
  if (await storeComplete(o.storeDir, o.manifestPath)) return null;
  const { dataset, rows } = await manifestRows(o.manifestPath);
  // By (utterance, path): a file whose content changed is re-encoded by the fold (extract re-checks hashes).
  const pair = (r: { utterance_id: string; path: string }) => `${r.utterance_id}\u0000${r.path}`;
  const stored = await storedUtterances(o.storeDir);
  const missing = rows.filter((r) => !stored.has(pair(r)));
  const { readManifest } = await import("../data/mod.ts");
  const manifest: pl.DataFrame = await readManifest(o.manifestPath, { checkFiles: false });
  const pathOf = new Map(rows.map((r) => [r.utterance_id, r.path]));
  const shards: ExtractShard[] = [];
  for (let start = 0; start < missing.length; start += o.shardSize) {
    const slice = missing.slice(start, start + o.shardSize);
    const ids = slice.map((r) => r.utterance_id);
    let df = manifest.filter(pl.col("utterance_id").cast(pl.Utf8).isIn(ids));
    df = df.withColumn(
      pl.Series("path", df.getColumn("utterance_id").toArray().map((id) => pathOf.get(String(id))!)),
    );
    const index = o.firstIndex + shards.length;
    const path = join(o.workDir, "extract", `shard-${index}.csv`);
    await writeFileAtomic(path, df.writeCSV().toString());
    const name = (await sha256Hex(slice.map(pair).join("\n"))).slice(0, 12);
    shards.push({
      index,
      dataset,
      codec: o.codecId,
      manifest: path,
      store: join(o.storeDir, "parts", name),
      rows: slice.length,
      first: ids[0],
      last: ids[ids.length - 1],
    });
  }
  return {
    shards,
    fold: {
      dataset,
      codec: o.codecId,
      manifest: o.manifestPath,
      store: o.storeDir,
      parts: shards.map((s) => s.store),
    },
  };
}

/** A shard is done when its part store wrote its merged view (or the fold already imported and removed it). */
export async function shardDone(s: ExtractShard, folded: boolean): Promise<boolean> {
  return folded || await exists(join(s.store, "store.json"));
}

/** The array script (task i extracts shard i) and the fold script, written into `dir`. */
export async function writeExtractionScripts(
  dir: string,
  title: string,
  shards: ExtractShard[],
  folds: StoreFold[],
  toolkit: slurm.Toolkit,
  /** Flags every extract call gets (e.g. --models DIR, --max-seconds N). */
  extractArgs: string[] = [],
): Promise<{ array: string; fold: string }> {
  const models = extractArgs;
  const array = join(dir, "extract.sh");
  await writeFileAtomic(
    array,
    slurm.script(`${title}: array task i extracts shard i (extract/shard-i.csv) into its part store`, [
      'case "$SLURM_ARRAY_TASK_ID" in',
      ...shards.map((s) =>
        `  ${s.index}) args=(${
          ["--codec", s.codec, "--manifest", s.manifest, "--store", s.store, ...models].map(slurm.shellQuote)
            .join(
              " ",
            )
        }) ;;`
      ),
      '  *) echo "no extraction shard $SLURM_ARRAY_TASK_ID in this plan" >&2; exit 2 ;;',
      "esac",
      `${slurm.toolkitCommand(toolkit, ["extract"])} "\${args[@]}" --workers "\${SLURM_CPUS_PER_TASK:-1}"`,
    ]),
  );
  const fold = join(dir, "fold.sh");
  await writeFileAtomic(
    fold,
    slurm.script(`${title}: the parts into each feature store, then its merged view`, [
      ...folds.flatMap((f) => [
        `${
          slurm.toolkitCommand(toolkit, [
            "extract",
            "--codec",
            f.codec,
            "--manifest",
            f.manifest,
            "--store",
            f.store,
            ...models,
            ...f.parts.flatMap((p) => ["--import", p]),
          ])
        } --workers "\${SLURM_CPUS_PER_TASK:-1}"`,
        ...(f.parts.length ? [`rm -rf -- ${f.parts.map(slurm.shellQuote).join(" ")}`] : []),
      ]),
    ]),
  );
  return { array, fold };
}

/** Which shards and folds of a submission did not finish, with their logs. */
export async function judgeExtraction(
  dir: string,
  shards: ExtractShard[],
  folds: StoreFold[],
  stateOf: (role: string, index: number | null) => string | null,
): Promise<slurm.UnitFailure[]> {
  const failures: slurm.UnitFailure[] = [];
  const folded = await Promise.all(folds.map((f) => storeComplete(f.store, f.manifest).catch(() => false)));
  for (const s of shards) {
    const fold = folds.findIndex((f) => f.parts.includes(s.store));
    if (await shardDone(s, folded[fold] ?? false)) continue;
    const logPath = join(dir, "logs", `extract-${s.index}.out`);
    failures.push({
      role: "extract",
      index: s.index,
      state: stateOf("extract", s.index),
      log: logPath,
      units: [`${s.dataset}/${s.codec} utterances ${s.first} … ${s.last} (${s.rows}, ${s.manifest})`],
      detail: await slurm.logTail(logPath),
    });
  }
  if (failures.length === 0 && folded.some((f) => !f)) {
    const logPath = join(dir, "logs", "fold.out");
    failures.push({
      role: "fold",
      index: null,
      state: stateOf("fold", null),
      log: logPath,
      units: folds.filter((_, i) => !folded[i]).map((f) => `fold into ${f.store}`),
      detail: await slurm.logTail(logPath),
    });
  }
  return failures;
}

/** The plan of `extract --executor slurm` (`<store>/slurm/NNN/plan.json`). */
export interface ExtractPlanFile {
  version: 1;
  kind: "extract";
  submission: string;
  created: string;
  extract: ExtractShard[];
  folds: StoreFold[];
}

/**
 * `extract --manifest --executor slurm`: the store's missing utterances as an array job of shards, then the
 * fold job. Null when the store is complete already.
 */
export async function submitExtraction(
  o: Locations & {
    manifestPath: string;
    codecId: string;
    storeDir?: string;
    modelsDir?: string;
    maxSeconds?: number;
    shardSize: number;
    slurm: slurm.SlurmOptions;
    toolkit: slurm.Toolkit;
    dryRun?: boolean;
    quiet?: boolean;
  },
): Promise<{ submission: slurm.SubmissionRecord; plan: ExtractPlanFile } | null> {
  const why = await slurm.slurmUnavailable();
  if (why !== null && !o.dryRun) throw new slurm.SlurmError(`cannot submit to Slurm: ${why}`);
  const { dataset } = await manifestRows(o.manifestPath);
  const storeDir = o.storeDir ?? featureStoreDir(dataset, o.codecId, o);
  if (!o.dryRun) await slurm.refuseWhileActive(storeDir);
  if (await storeComplete(storeDir, o.manifestPath)) return null;
  // Weights are fetched here (the submitting host may reach the network, the nodes often cannot).
  const load = { ...locationsOf(o), modelsDir: o.modelsDir, quiet: o.quiet };
  (await (await getCodec(o.codecId, load)).load(load)).dispose();
  const { name, dir } = await slurm.nextSubmissionDir(storeDir);
  const planned = await planStoreShards({
    manifestPath: o.manifestPath,
    codecId: o.codecId,
    storeDir,
    shardSize: o.shardSize,
    workDir: dir,
    firstIndex: 0,
  });
  const plan: ExtractPlanFile = {
    version: 1,
    kind: "extract",
    submission: name,
    created: new Date().toISOString(),
    extract: planned?.shards ?? [],
    folds: planned ? [planned.fold] : [],
  };
  const planPath = join(dir, "plan.json");
  await writeJsonAtomic(planPath, plan);
  const extractArgs = [
    ...(o.modelsDir ? ["--models", o.modelsDir] : []),
    ...(o.maxSeconds !== undefined ? ["--max-seconds", String(o.maxSeconds)] : []),
  ];
  const scripts = await writeExtractionScripts(
    dir,
    `nac-sae extract ${o.codecId} of ${o.manifestPath}, submission ${name}`,
    plan.extract,
    plan.folds,
    o.toolkit,
    extractArgs,
  );
  const submission: slurm.SubmissionRecord = {
    version: 1,
    submission: name,
    dir,
    outDir: storeDir,
    plan: planPath,
    jobs: {},
    commands: [],
    submitted: new Date().toISOString(),
  };
  const logs = join(dir, "logs");
  await slurm.submitJobs(submission, o.dryRun, async (submit) => {
    if (plan.extract.length > 0) {
      submission.jobs.extract = await submit([
        `--job-name=nac-sae-extract-${o.codecId}`,
        slurm.arrayArg(plan.extract.length, o.slurm.arrayParallelism),
        `--output=${join(logs, "extract-%a.out")}`,
        `--chdir=${o.toolkit.root}`,
        ...slurm.resourceArgs(o.slurm),
      ], scripts.array);
    }
    submission.jobs.fold = await submit([
      `--job-name=nac-sae-fold-${o.codecId}`,
      `--output=${join(logs, "fold.out")}`,
      `--chdir=${o.toolkit.root}`,
      ...slurm.afterOk(submission.jobs.extract),
      ...slurm.resourceArgs(o.slurm, { array: false }),
    ], scripts.fold);
  });
  return { submission, plan };
}

/** Follows an extraction submission (shards done/total, queue state); then its failures. */
export async function followExtraction(
  sub: slurm.SubmissionRecord,
  opts: { pollSeconds?: number; quiet?: boolean } = {},
): Promise<{ done: number; total: number; failures: slurm.UnitFailure[] }> {
  const plan = await readJson<ExtractPlanFile>(sub.plan);
  const countDone = async () => {
    const folded = await Promise.all(
      plan.folds.map((f) => storeComplete(f.store, f.manifest).catch(() => false)),
    );
    let n = 0;
    for (const s of plan.extract) if (await shardDone(s, folded.every((f) => f))) n++;
    return n;
  };
  await slurm.waitForJobs(sub.jobs, plan.extract.length, countDone, {
    label: `slurm extraction ${sub.submission} shards`,
    unit: "shards",
    pollSeconds: opts.pollSeconds,
    quiet: opts.quiet,
  });
  const states = await slurm.jobStates(Object.values(sub.jobs).filter((j): j is string => !!j)).catch(() =>
    new Map()
  );
  const stateOf = (role: string, index: number | null) =>
    states.get(index === null ? sub.jobs[role] ?? "" : `${sub.jobs[role]}_${index}`)?.state ?? null;
  const failures = await judgeExtraction(sub.dir, plan.extract, plan.folds, stateOf);
  return { done: await countDone(), total: plan.extract.length, failures };
}
