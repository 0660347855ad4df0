/**
 * Datasets and tasks: manifests (validated tables of utterances with accent labels and speaker-disjoint
 * splits), the Vox-Profile taxonomy, the built-in datasets (FSDD, the eSpeak-NG synthetic corpus, user
 * CSVs) and the paper's two binary tasks with validation halves.
 */
export { BROAD_LABELS, type BroadLabel, broadOf, NARROW_LABELS, NARROW_TO_BROAD } from "./taxonomy.ts";
export {
  MANIFEST_COLUMNS,
  ManifestError,
  manifestFrame,
  type ManifestRow,
  manifestRows,
  readManifest,
  type Split,
  SPLITS,
  validateRows,
  writeManifest,
} from "./manifest.ts";
export {
  type AccentTaskId,
  type ClassBalance,
  columnTask,
  type ColumnTaskDefinition,
  columnTaskReport,
  SEX_TASK,
  speakerFolds,
  TASK_IDS,
  taskApplies,
  taskBalance,
  type TaskId,
  taskProblem,
  type TaskRef,
  type TaskRow,
  TASKS,
  type TaskSpec,
  taskSpec,
  type TaskSplits,
  taskSplits,
  validationHalves,
} from "./tasks.ts";
export { BUILTIN_DATASETS, datasetsRoot, prepareDataset, type PrepareOptions } from "./prepare.ts";
export { FSDD_ARCHIVE_URL, FSDD_SPEAKERS, fsddRows, installFsddArchive, locateFsdd } from "./fsdd.ts";
export {
  generateSynthetic,
  planSynthetic,
  SYNTHETIC_DEFAULTS,
  SYNTHETIC_VOICES,
  type SyntheticOptions,
} from "./synthetic.ts";
export {
  detectSaaLayout,
  formatSaaReport,
  readSaaSource,
  SAA_CAVEAT,
  SAA_CITATION,
  SAA_LAYOUT_DESCRIPTIONS,
  SAA_LICENCE,
  type SaaLayout,
  type SaaPrepared,
  saaRows,
} from "./saa.ts";
export { labelSpeaker, parseBirthplace, SAA_ACCENT_TABLE } from "./saa_labels.ts";
export {
  downloadSaa,
  locateSaa,
  SAA_ARCHIVE_URL,
  SAA_METADATA_URL,
  SAA_MIRROR_COMMIT,
} from "./saa_source.ts";
export { DEFAULT_SPLIT_FRACTIONS, stratifiedSplit } from "./split.ts";
export { prepareUser, USER_REQUIRED_COLUMNS, userRows } from "./user.ts";
export { formatSummary, type ManifestSummary, summarizeManifest } from "./summary.ts";
export { SENTENCES } from "./sentences.ts";
