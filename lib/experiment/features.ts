/**
 * The feature stores of a run: for each prepared dataset, every codec's store extracted where incomplete
 * (all codecs of a dataset at once, so those sharing an encoder pass encode each utterance once), or read
 * as stored (array tasks and merges of another executor, which never extract).
 */
import { join } from "node:path";
import { exists } from "../common/fs.ts";
import { type Locations, locationsOf } from "../common/settings.ts";
import { getCodec } from "../codecs/registry.ts";
import type { CodecInfo } from "../codecs/types.ts";
import { extractFeatureSets, type FeatureSet, loadFeatureSet } from "../extract/mod.ts";
import type { RunConfig } from "./config.ts";
import type { PreparedDataset } from "./datasets.ts";
import { frameCodecs } from "./plan.ts";

/** An utterance the codec could not encode, left out of every cell (listed in run_info.json). */
export interface Excluded {
  dataset: string;
  codec: string;
  utterance_id: string;
  reason: string;
}

/** One (dataset, codec)'s features with the codec's registry entry. */
export interface DatasetFeatures {
  prepared: PreparedDataset;
  codec: CodecInfo;
  features: FeatureSet;
}

/** The feature store folder of a (dataset, codec) in a run. */
export function storeDirOf(config: RunConfig, dataset: string, codec: string): string {
  return join(config.featureDir ?? join(config.outDir, "features"), dataset, codec);
}

export interface FeatureOptions extends Locations {
  /** "extract" what the stores lack (default), or read complete stores only ("stored"). */
  mode?: "extract" | "stored";
  /** Skip (dataset, codec) pairs whose store does not exist yet, extracting nothing (a dry run). */
  existingOnly?: boolean;
  workers: number;
  providers?: string[];
  quiet?: boolean;
}

/** Every (dataset, codec)'s feature set, datasets in order, codecs in the config's order. */
export async function loadRunFeatures(
  config: RunConfig,
  datasets: PreparedDataset[],
  opts: FeatureOptions,
): Promise<{ sets: DatasetFeatures[]; excluded: Excluded[] }> {
  const loc = locationsOf(opts);
  const sets: DatasetFeatures[] = [];
  const excluded: Excluded[] = [];
  for (const prepared of datasets) {
    const name = prepared.dataset.name;
    const codecIds: string[] = [];
    for (const codecId of config.codecs) {
      if (!opts.existingOnly || await exists(storeDirOf(config, name, codecId))) codecIds.push(codecId);
    }
    const features: FeatureSet[] = opts.mode === "stored" || opts.existingOnly
      ? await Promise.all(codecIds.map((c) => loadFeatureSet(storeDirOf(config, name, c))))
      : await extractFeatureSets({
        manifestPath: prepared.manifestPath,
        codecIds,
        storeDirs: codecIds.map((c) => storeDirOf(config, name, c)),
        workers: opts.workers,
        ...loc,
        modelsDir: config.modelsDir,
        quiet: opts.quiet,
        providers: opts.providers,
        // Frame-level SAEs read each recording's ê from the store.
        keepFrames: frameCodecs(config),
      });
    for (const [i, codecId] of codecIds.entries()) {
      const codec = await getCodec(codecId, { ...loc, modelsDir: config.modelsDir });
      for (const f of features[i].failures) excluded.push({ dataset: name, codec: codecId, ...f });
      sets.push({ prepared, codec, features: features[i] });
    }
  }
  return { sets, excluded };
}
