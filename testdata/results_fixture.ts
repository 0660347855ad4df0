/**
 * A small results directory in the experiment stage's schema (BRIEF "Results files"), filled with synthetic,
 * seeded numbers: for unit tests of charts, tables, the report and the notebooks — not a measurement. Every
 * probe's F1 comes from simulated predictions on a simulated test set of speakers (written as the predictions
 * table), so intervals over test speakers can be computed from it.
 */
import pl from "nodejs-polars";
import { join } from "node:path";
import { macroF1FromConfusion } from "../lib/common/speaker_bootstrap.ts";
import { type PredictionRow, predictionsFrame, writePredictions } from "../lib/formats/predictions.ts";
import {
  CURVE_TABLE,
  type CurveRow,
  DENSITY_TABLE,
  type DensityRow,
  RESULT_TABLE,
  type ResultRow,
  tableFrame,
} from "../lib/formats/results.ts";
import { Rng } from "../lib/common/random.ts";
import { KSPARSE_K, kSparseSizes } from "../lib/probe/ksparse.ts";
import { KSPARSE_TABLE, type KSparseRow, ksparseSettingOf, latentsText } from "../lib/formats/ksparse.ts";

export interface FixtureOptions {
  codecs?: string[];
  seeds?: number[];
  q?: number[];
  s?: number[];
  dCodec?: number;
  epochs?: number;
  /** (q, s) configs whose SAEs miss the PCA-k yardstick (sae_trained false); default none. */
  untrained?: [number, number][];
  /** Also a k-sparse table (ksparse.parquet/.csv): F1 rising with k to the results row's F1 at all latents. */
  ksparse?: boolean;
  /** The (dataset, task) settings; default synthetic × both tasks and fsdd × US vs Non-US-UK. */
  settings?: { dataset: string; task: string }[];
  /** Tasks whose reference probe is no better than chance (its results are "not evidence"); default none. */
  weakTasks?: string[];
  /** Features whose probes answer one class on every test recording (e.g. z_mag); default none. */
  oneClass?: string[];
  /** Write predictions.parquet/.csv (default true); false gives a run from before predictions were saved. */
  predictions?: boolean;
  /** Speakers in each simulated test set (default 40). */
  speakers?: number;
  /**
   * The columns of issue 21 (test_set, dataset_kind, n per class, probe_c, majority_f1, predicts_one_class;
   * default true); false: results as the experiment stage wrote them before.
   */
  newColumns?: boolean;
}

/**
 * Columns of issue 21 (the rows carry them; a column RESULT_TABLE does not declare is added to the frame).
 * With `newColumns: false` they are dropped to give results as the experiment stage wrote them before.
 */
const NEW_COLUMNS: [string, "str" | "int" | "float" | "bool"][] = [
  ["test_set", "str"],
  ["dataset_kind", "str"],
  ["n_train_pos", "int"],
  ["n_train_neg", "int"],
  ["n_test_pos", "int"],
  ["n_test_neg", "int"],
  ["probe_c", "float"],
  ["majority_f1", "float"],
  ["predicts_one_class", "bool"],
];

/** A simulated test set: recordings of speakers (1–2 each, one label per speaker) with shared difficulty. */
function testSet(rng: Rng, speakers: number, share1: number) {
  const recs: { utterance_id: string; speaker_id: string; label: number; u: number }[] = [];
  for (let s = 0; s < speakers; s++) {
    const label = s < Math.round(speakers * share1) ? 1 : 0, hard = rng.next(), n = 1 + rng.int(2);
    for (let r = 0; r < n; r++) {
      recs.push({ utterance_id: `spk${s}_${r}`, speaker_id: `spk${s}`, label, u: (hard + rng.next()) / 2 });
    }
  }
  return recs;
}

/** A probe of quality g on a test set: right where the recording's difficulty is below g; or one class. */
function probe(recs: ReturnType<typeof testSet>, g: number, oneClass: boolean) {
  const predicted = recs.map((r) => (oneClass ? 0 : r.u < g ? r.label : 1 - r.label));
  const c = [0, 0, 0, 0];
  recs.forEach((r, i) => c[r.label * 2 + predicted[i]]++);
  return { predicted, f1: macroF1FromConfusion(c), accuracy: (c[0] + c[3]) / recs.length };
}

/** The registry's family and bitrate of the codec ids the fixture uses (results columns codec_family, bitrate_kbps). */
const CODECS: Record<string, { family: string; bitrate: number | null }> = {
  "lyra-3.2kbps": { family: "lyra", bitrate: 3.2 },
  "lyra-6kbps": { family: "lyra", bitrate: 6 },
  "lyra-9.2kbps": { family: "lyra", bitrate: 9.2 },
  "encodec-1.5kbps": { family: "encodec", bitrate: 1.5 },
  "encodec-6kbps": { family: "encodec", bitrate: 6 },
  dac: { family: "dac", bitrate: null },
};

export function fixtureFrames(opts: FixtureOptions = {}) {
  const codecs = opts.codecs ?? ["lyra-3.2kbps", "lyra-6kbps", "lyra-9.2kbps"];
  const seeds = opts.seeds ?? [0];
  const qs = opts.q ?? [2, 5, 10, 20];
  const ss = opts.s ?? [0.5, 0.25, 0.1, 0.05];
  const dCodec = opts.dCodec ?? 64;
  const epochs = opts.epochs ?? 5;
  const settings = opts.settings ?? [
    { dataset: "synthetic", task: "us-vs-uk" },
    { dataset: "synthetic", task: "us-vs-non-us-uk" },
    { dataset: "fsdd", task: "us-vs-non-us-uk" },
  ];
  const rng = new Rng(7);
  const results: ResultRow[] = [];
  const predictions: PredictionRow[] = [];
  const tests = new Map(settings.map((st) => [
    `${st.dataset}|${st.task}`,
    testSet(rng, opts.speakers ?? 40, st.task === "us-vs-uk" ? 0.3 : 0.45),
  ]));
  const density: DensityRow[] = [];
  const curves: CurveRow[] = [];
  for (const { dataset, task } of settings) {
    for (const [ci, codec] of codecs.entries()) {
      const info = CODECS[codec];
      if (!info) throw new Error(`fixture: no family/bitrate listed for codec '${codec}'`);
      const setting = { dataset, codec, codec_family: info.family, bitrate_kbps: info.bitrate, task };
      const recs = tests.get(`${dataset}|${task}`)!;
      const weak = (opts.weakTasks ?? []).includes(task);
      const refProbe = probe(recs, weak ? 0.5 : 0.78 + 0.05 * ci, false);
      const ref = refProbe.f1;
      const refKey = `ref-${dataset}-${codec}-${task}`;
      const n1 = recs.filter((r) => r.label === 1).length, n0 = recs.length - n1;
      const extra = (predicted: number[] | null) => ({
        test_set: "split:test",
        dataset_kind: dataset,
        n_train_pos: 30,
        n_train_neg: 50,
        n_test_pos: n1,
        n_test_neg: n0,
        // The probe-training majority (class 0) answered for every test recording.
        majority_f1: macroF1FromConfusion([n0, 0, n1, 0]),
        predicts_one_class: predicted ? new Set(predicted).size === 1 : false,
      });
      const record = (key: string, feature: string, predicted: number[]) => {
        recs.forEach((r, i) =>
          predictions.push({
            cell_key: key,
            feature,
            utterance_id: r.utterance_id,
            speaker_id: r.speaker_id,
            label: r.label,
            score: predicted[i] === 1 ? 1 - r.u : r.u - 1,
            predicted: predicted[i],
          })
        );
      };
      record(refKey, "u", refProbe.predicted);
      for (const seed of seeds) {
        const row = (over: Partial<ResultRow>): ResultRow => ({
          ...setting,
          pooling: "mean",
          sae_input: "utterance",
          probe_protocol: "split",
          probe_folds: 1,
          q: null,
          s: null,
          seed,
          feature: "u",
          f1: ref,
          f1_low: null,
          f1_high: null,
          f1_ref: ref,
          delta_f1: 0,
          delta_f1_low: null,
          delta_f1_high: null,
          accuracy: refProbe.accuracy,
          nnz: 40,
          n_iter: 200,
          converged: true,
          k: null,
          d_z: null,
          d_codec: dCodec,
          schedule: null,
          sae_lr: null,
          epochs: null,
          sae_steps: null,
          sae_best_step: null,
          sae_stop: null,
          nmse: null,
          explained_variance: null,
          ev_pca_k: null,
          sae_trained: null,
          ev_heldout: null,
          ev_pca_k_heldout: null,
          heldout_below_pca_k: null,
          l0: null,
          dead_latents: null,
          sae_seconds: null,
          probe_seconds: 0.1,
          n_sae_train: 300,
          n_probe_train: 80,
          n_test: recs.length,
          ...extra(null),
          probe_c: 1,
          f1_ref_low: Math.max(0, ref - 0.08),
          f1_ref_high: Math.min(1, ref + 0.08),
          chance_f1: 0.5,
          chance_f1_low: 0.42,
          chance_f1_high: 0.58,
          ref_above_chance: ref - 0.08 > 0.58,
          config_hash: null,
          cell_key: refKey,
          sae_key: null,
          ...over,
        });
        results.push(Object.assign(row({}), extra(refProbe.predicted)));
        for (const q of qs) {
          for (const s of ss) {
            const k = Math.ceil(s * dCodec), dZ = q * dCodec;
            const hash = `h-${dataset}-${codec}-${task}-${q}-${s}-${seed}`;
            const untrained = (opts.untrained ?? []).some(([uq, us]) => uq === q && us === s);
            const ev = 1 - 0.1 * s - (untrained ? 0.2 : 0);
            for (const feature of ["z", "z_pos", "z_mag"]) {
              const drop = (feature === "z" ? 0.02 : 0.06) / s * 0.05 * (1 + ci * 0.5) + 0.01 * rng.normal();
              const p = probe(
                recs,
                Math.max(0.3, 0.78 + 0.05 * ci - drop),
                (opts.oneClass ?? []).includes(feature),
              );
              record(hash, feature, p.predicted);
              const f1 = p.f1;
              results.push(Object.assign(
                row({
                  q,
                  s,
                  feature,
                  f1,
                  delta_f1: f1 - ref,
                  delta_f1_low: f1 - ref - 0.03,
                  delta_f1_high: f1 - ref + 0.03,
                  accuracy: p.accuracy,
                  k,
                  d_z: dZ,
                  schedule: "fixed",
                  sae_lr: 1e-5,
                  epochs,
                  sae_steps: epochs,
                  sae_best_step: epochs,
                  sae_stop: "epochs",
                  nmse: 1 - ev,
                  explained_variance: ev,
                  ev_pca_k: 1 - 0.1 * s - 0.01,
                  sae_trained: !untrained,
                  ev_heldout: ev - 0.1,
                  ev_pca_k_heldout: 1 - 0.1 * s - 0.05,
                  heldout_below_pca_k: true,
                  l0: k,
                  dead_latents: 3,
                  sae_seconds: 1.5,
                  config_hash: hash,
                  cell_key: hash,
                  sae_key: hash,
                }),
                extra(p.predicted),
              ));
            }
            for (let g = 0; g < 16; g++) {
              density.push({
                ...setting,
                sae_input: "utterance",
                q,
                s,
                seed,
                group: g,
                density: (k / dZ) * (1 + 0.3 * Math.sin(g + ci)),
              });
            }
            for (let e = 1; e <= epochs; e++) {
              curves.push({
                ...setting,
                sae_input: "utterance",
                q,
                s,
                seed,
                epoch: e,
                step: e,
                train_loss: 1 / e + 0.01,
                val_loss: 1.1 / e + 0.02,
                nmse: 0.5 / e,
                l0: k,
                dead: 2,
              });
            }
          }
        }
      }
    }
  }
  let frame = tableFrame(RESULT_TABLE, results);
  const dtype = { str: pl.Utf8, int: pl.Int32, float: pl.Float64, bool: pl.Bool };
  for (const [name, type] of NEW_COLUMNS) {
    if (opts.newColumns === false) {
      if (frame.columns.includes(name)) frame = frame.drop(name);
      continue;
    }
    if (frame.columns.includes(name)) continue;
    const values = results.map((r) => (r as unknown as Record<string, unknown>)[name]);
    frame = frame.withColumn(
      type === "int"
        ? pl.Series(name, values, pl.Float64).cast(pl.Int32)
        : pl.Series(name, values, dtype[type]),
    );
  }
  return {
    results: frame,
    density: tableFrame(DENSITY_TABLE, density),
    curves: tableFrame(CURVE_TABLE, curves),
    ...(opts.ksparse ? { ksparse: tableFrame(KSPARSE_TABLE, results.flatMap(fixtureKSparse)) } : {}),
    predictions: predictionsFrame(predictions),
    predictionRows: predictions,
  };
}

/**
 * The k-sparse rows of one results row of an SAE feature (none for the reference u): F1 rising with k from 0.5
 * towards the row's F1, which the all-latents probe (z_mag: k columns, z and z_pos: d_z) has.
 */
function fixtureKSparse(r: ResultRow): KSparseRow[] {
  if (r.feature === "u") return [];
  const cols = r.feature === "z_mag" ? r.k! : r.d_z!;
  const sizes = [...kSparseSizes(cols, KSPARSE_K), cols];
  return sizes.map((k, i) => {
    const all = i === sizes.length - 1;
    const f1 = all ? r.f1 : 0.5 + (r.f1 - 0.5) * (1 - Math.exp(-k / 4));
    return {
      ...ksparseSettingOf(r),
      k,
      all_latents: all,
      f1,
      f1_low: null,
      f1_high: null,
      latents: all ? "" : latentsText(Array.from({ length: k }, (_, j) => j)),
    };
  });
}

/** Writes results/density/curves (and ksparse when asked) (.parquet + .csv), run_config.json and run_info.json into `dir`. */
export async function writeFixtureResults(dir: string, opts: FixtureOptions = {}): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const { results, density, curves, ksparse, predictionRows } = fixtureFrames(opts);
  for (const [name, df] of Object.entries({ results, density, curves, ...(ksparse ? { ksparse } : {}) })) {
    df.writeParquet(join(dir, `${name}.parquet`));
    df.writeCSV(join(dir, `${name}.csv`));
  }
  if (opts.predictions ?? true) await writePredictions(dir, predictionRows);
  await Deno.writeTextFile(
    join(dir, "run_config.json"),
    JSON.stringify(
      { name: "fixture", codecs: opts.codecs ?? ["lyra-3.2kbps", "lyra-6kbps", "lyra-9.2kbps"] },
      null,
      1,
    ),
  );
  await Deno.writeTextFile(
    join(dir, "run_info.json"),
    JSON.stringify(
      {
        name: "fixture",
        started: "2026-01-01T00:00:00.000Z",
        finished: "2026-01-01T00:01:00.000Z",
        seconds: 60,
        environment: {
          deno: Deno.version.deno,
          v8: Deno.version.v8,
          typescript: Deno.version.typescript,
          os: "linux",
          arch: "x86_64",
          cpus: 2,
        },
        cells: { total: 10, computed: 10, cached: 0 },
        stages: { extract_and_load_seconds: 1, sae_seconds_total: 40, probe_seconds_total: 19 },
        epochs_rule: "fixed 5",
        excluded: [],
      },
      null,
      1,
    ),
  );
}
