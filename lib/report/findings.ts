/**
 * The report's answers, generated from the run (never fixed text): the "Findings" section at the top — per
 * task and protocol, whether the reference is above chance and the majority baseline, each claim's verdict
 * with its interval and its distance to flipping, and the caveats that matter — the "Data" paragraph naming
 * the run's own data, and the caption of the SAE training curves.
 */
import type pl from "nodejs-polars";
import {
  answersOneClass,
  distinct,
  type Evidence,
  evidenceOf,
  records,
  type ReferenceValidity,
  type Row,
  sizesText,
  taskLabel,
  testSetOf,
  where,
} from "../plots/mod.ts";
import {
  type ClaimRow,
  FRAME_LEVEL,
  paperClaims,
  protocolLabel,
  referenceProtocol,
  settings,
} from "./claims.ts";
import { escapeHtml } from "./html.ts";
import type { ResultsBundle } from "./results.ts";

/** What each kind of data (the manifest's `dataset` column) is, in words. */
const KIND_NAMES: Record<string, string> = {
  saa: "the Speech Accent Archive",
  fsdd: "the Free Spoken Digit Dataset",
  synthetic: "a synthetic eSpeak-NG accent corpus",
};

/** Short caveats of a kind of data, for the findings (the full text is in the Data box). */
const KIND_CAVEATS: Record<string, string> = {
  saa: "SAA: 8 kHz audio, one read paragraph per speaker (accent and speaker are not separable), labels " +
    "are self-reported birthplace or native language",
  synthetic: "synthetic speech: accents are eSpeak-NG voices, not people",
  fsdd: "FSDD has a handful of speakers: accent results there say little about accents",
};

/** The protocol in words: which recordings the probe trained on and how it was scored. */
export function protocolDescription(protocol: string): string {
  if (protocol.endsWith(FRAME_LEVEL)) {
    return `${
      protocolDescription(referenceProtocol(protocol))
    }, with frame-level SAEs (fit on the frames ê_t ` +
      "of the training recordings; each recording's frame codes pooled: z = mean, z_pos = firing rate, z_mag = " +
      "mean magnitude when firing)";
  }
  const [pooling, probe] = protocol.split(", ");
  const pool = pooling === "mean" ? "u = mean of ê over time" : `u = ${pooling} of ê over time`;
  if (probe === "split") {
    return `the paper's protocol (${pool}; probe trained on validation half 2 only, C = 1)`;
  }
  if (probe === "dev") {
    return `dev (${pool}; probe trained on every development recording the SAE was not fitted to, C chosen ` +
      "by speaker-level inner cross-validation)";
  }
  if (probe?.endsWith("-fold")) {
    return `${probe} cross-validation (${pool}; the folds mix test speakers into training)`;
  }
  return protocol;
}

/** A test set in words: "the manifest's test split", "the external test set test.csv". */
export function testSetWords(testSet: string): string {
  if (testSet === "split:test") return "the manifest's test split";
  if (testSet.startsWith("external:")) return `the external test set ${testSet.slice("external:".length)}`;
  return testSet;
}

const kindOf = (r: Row) =>
  typeof r.dataset_kind === "string" && r.dataset_kind !== "" ? r.dataset_kind : String(r.dataset);
const pct1 = (x: number | null) => (x === null ? "?" : `${(x * 100).toFixed(1)} %`);
const pp = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(2)}`;

/** The "Data" paragraph: the datasets, tasks, recordings and codecs of these runs. */
export function dataParagraph(bundles: ResultsBundle[]): string {
  const rows = bundles.flatMap((b) => evidenceOf(b).rows);
  const parts: string[] = [];
  for (const dataset of distinct<string>(rows, "dataset")) {
    const own = where(rows, { dataset });
    const kinds = [...new Set(own.map(kindOf).flatMap((k) => k.split("+")))];
    const what = kinds.map((k) => KIND_NAMES[k] ?? `'${k}' data`).join(" + ");
    const tasks = distinct<string>(own, "task").map((task) => {
      const us = where(own, { task, feature: "u" });
      const tests = distinct<string>(us.map((r) => ({ t: testSetOf(r) })), "t");
      return `${taskLabel(task)} (scored on ${tests.map(testSetWords).join(", ")})`;
    });
    parts.push(`dataset '${dataset}' — ${what}; tasks: ${tasks.join(", ")}`);
  }
  const codecs = distinct<string>(rows, "codec");
  const seeds = distinct<number>(rows, "seed");
  return `This run: ${parts.join("; ")}. Codecs: ${codecs.join(", ")}. Seeds: ${seeds.length}. ` +
    "The recordings behind each number are listed with every table (n).";
}

/** The reference sentence of one setting: above chance and the majority baseline, per codec. */
function referenceSentence(refs: ReferenceValidity[]): { html: string; evidence: boolean } {
  const fmt = (v: ReferenceValidity) =>
    `${escapeHtml(v.codec)} ${pct1(v.f1)}${v.low !== null ? ` [${pct1(v.low)}, ${pct1(v.high)}]` : ""}`;
  const good = refs.filter((v) => v.evidence && v.aboveChance === true);
  const bad = refs.filter((v) => !v.evidence);
  const unknown = refs.filter((v) => v.evidence && v.aboveChance !== true);
  const chance = refs.find((v) => v.chance !== null);
  const majority = refs.find((v) => v.majority !== null);
  const baselines = [
    chance ? `chance ${pct1(chance.chance)} [${pct1(chance.chanceLow)}, ${pct1(chance.chanceHigh)}]` : null,
    majority ? `majority class ${pct1(majority.majority)}` : null,
  ].filter((x) => x).join(", ");
  const out: string[] = [];
  if (bad.length === refs.length) {
    out.push(
      `<b class="verdict-not">Reference F1 on u is not above chance and the majority-class baseline at any ` +
        `codec</b>: ${bad.map(fmt).join("; ")}${baselines ? ` (${baselines})` : ""}. ΔF1 and the claims on ` +
        "this task are <b>not evidence</b>: there is no accent information for the SAE to keep or lose.",
    );
  } else {
    if (good.length > 0) {
      out.push(`Reference F1 on u is above chance and the majority baseline at ${good.map(fmt).join("; ")}`);
    }
    if (bad.length > 0) {
      out.push(
        `<b class="verdict-not">not above them</b> at ${bad.map(fmt).join("; ")} (ΔF1 there is not evidence)`,
      );
    }
    if (unknown.length > 0) {
      out.push(`not assessed (no chance level measured) at ${unknown.map(fmt).join("; ")}`);
    }
    out[out.length - 1] += baselines ? ` — ${baselines}.` : ".";
  }
  return { html: out.join("; "), evidence: bad.length < refs.length };
}

/** One claim in words: verdict, D with its interval, and how far the verdict is from flipping. */
function claimSentence(c: ClaimRow): string {
  const notEvidence = c.caveats.includes("NOT EVIDENCE");
  // A verdict on a task without evidence is not coloured as a finding.
  const cls = notEvidence
    ? ""
    : c.verdict === "holds"
    ? "verdict-holds"
    : c.verdict === "does not hold"
    ? "verdict-not"
    : "";
  const interval = Number.isFinite(c.low_pct) ? ` [${pp(c.low_pct)}, ${pp(c.high_pct)}]` : " (no interval)";
  const flip = Number.isFinite(c.to_flip_pp)
    ? c.verdict === "inconclusive"
      ? `; ${c.to_flip_pp.toFixed(2)} pp short of a verdict`
      : `; ${c.to_flip_pp.toFixed(2)} pp from flipping`
    : "";
  const oneClass = c.caveats.includes("answer one class") ? "; includes probes answering one class" : "";
  return `<li${notEvidence ? ' class="not-evidence"' : ""}>${escapeHtml(c.claim)}, ${escapeHtml(c.codec)}: ` +
    `<b class="${cls}">${c.verdict}</b> — D = ${pp(c.d_pct)} pp${interval}${flip} ` +
    `<span style="color:#666">(${escapeHtml(c.numbers)}${oneClass})</span>` +
    `${notEvidence ? " — not evidence (reference at chance)" : ""}</li>`;
}

/** "2 hold, 1 does not hold, 4 inconclusive" (not evidence: said instead). */
function verdictCount(claims: ClaimRow[]): string {
  const n = (v: string) => claims.filter((c) => c.verdict === v).length;
  return `${n("holds")} hold${n("holds") === 1 ? "s" : ""}, ${n("does not hold")} do${
    n("does not hold") === 1 ? "es" : ""
  } not hold, ` +
    `${n("inconclusive")} inconclusive`;
}

/** Caveats of one setting that change how its numbers read. */
function settingCaveats(ev: Evidence, rows: Row[], refs: ReferenceValidity[]): string[] {
  const out: string[] = [];
  const probes = rows.filter((r) => r.feature !== "u");
  const oneClass = probes.filter((r) => answersOneClass(r, ev.intervals) === true);
  if (oneClass.length > 0) {
    const byFeature = distinct<string>(oneClass, "feature").map((f) =>
      `${f} ${where(oneClass, { feature: f }).length} of ${where(probes, { feature: f }).length}`
    );
    out.push(
      `probes answering a single class for every test recording (their F1 is the majority baseline's, ` +
        `their ΔF1 says nothing about the features): ${byFeature.join(", ")}`,
    );
  }
  const refOne = refs.filter((v) => answersOneClass(v.row, ev.intervals) === true);
  if (refOne.length > 0) {
    out.push(`the reference probe answers a single class at ${refOne.map((v) => v.codec).join(", ")}`);
  }
  const cells = new Map<string, boolean>();
  for (const r of probes) {
    if (typeof r.sae_trained === "boolean") cells.set(`${r.codec}|${r.q}|${r.s}|${r.seed}`, r.sae_trained);
  }
  const untrained = [...cells.values()].filter((t) => !t).length;
  if (untrained > 0) {
    out.push(`${untrained} of ${cells.size} SAEs did not reach the PCA-k yardstick (untrained)`);
  }
  const seeds = distinct<number>(rows, "seed").length;
  if (!ev.intervals) {
    out.push(
      "no predictions were saved with these results: intervals are over " +
        (seeds > 1 ? "seeds" : "configurations") + " only and ignore which speakers are in the test set " +
        "(rerun the grid: cached cells are reused and the predictions written)",
    );
  } else if (seeds === 1) {
    out.push("one seed: intervals cover test speakers, not seed-to-seed variation of SAE and probe training");
  }
  const speakers = refs.map((v) => v.speakers).filter((s): s is number => s !== null);
  if (speakers.length > 0 && Math.min(...speakers) < 30) {
    out.push(`only ${Math.min(...speakers)} test speakers: intervals are wide and coverage approximate`);
  }
  for (const kind of new Set(rows.map(kindOf).flatMap((k) => k.split("+")))) {
    if (KIND_CAVEATS[kind]) out.push(KIND_CAVEATS[kind]);
  }
  return out;
}

/** The Findings section of one or more runs (the run and those it is compared with). */
export function findingsHtml(bundles: ResultsBundle[]): string {
  const blocks: string[] = [];
  let anyIntervals = false;
  const problems: string[] = [];
  for (const bundle of bundles) {
    const ev = evidenceOf(bundle);
    if (ev.intervals) {
      anyIntervals = true;
      if (ev.intervals.mismatched.length > 0) {
        problems.push(
          `${bundle.dir}: ${ev.intervals.mismatched.length} probes' predictions give another F1 than their ` +
            `results row (e.g. ${
              ev.intervals.mismatched[0]
            }): predictions and results are from different runs`,
        );
      }
      if (ev.intervals.unmatchedRows > 0) {
        problems.push(
          `${bundle.dir}: ${ev.intervals.unmatchedRows} prediction rows belong to no results row (left out)`,
        );
      }
    }
    const claims = paperClaims(bundle);
    for (const s of settings(ev.rows)) {
      // The references of the setting's own codecs (a frame-level grid may run on fewer codecs).
      const codecs = new Set(s.rows.map((r) => r.codec));
      const refs = [...ev.validity.values()].filter((v) =>
        v.dataset === s.dataset && v.task === s.task &&
        protocolLabel(v.row) === referenceProtocol(s.protocol) &&
        testSetOf(v.row) === s.test_set && codecs.has(v.codec)
      );
      const head = `${taskLabel(s.task)} — ${s.dataset}, ${protocolDescription(s.protocol)}, scored on ` +
        `${testSetWords(s.test_set)}` + (bundles.length > 1 ? ` (${bundle.dir})` : "");
      const items: string[] = [];
      if (refs.length > 0) {
        items.push(`<li>${referenceSentence(refs).html} n: ${escapeHtml(sizesText(refs[0]))}.</li>`);
      }
      const own = claims.filter((c) =>
        c.dataset === s.dataset && c.task === taskLabel(s.task) && c.protocol === s.protocol &&
        c.test_set === s.test_set
      );
      if (own.length > 0) {
        const evidence = own.every((c) => !c.caveats.includes("NOT EVIDENCE"));
        items.push(
          `<li>Claims: ${verdictCount(own)}${
            evidence ? "" : " — read on a reference at chance: not evidence"
          }.` +
            `<ul>${own.map(claimSentence).join("")}</ul></li>`,
        );
      } else {items.push(
          "<li>No claim could be evaluated here (the grid lacks the configurations they need).</li>",
        );}
      const cav = settingCaveats(ev, s.rows, refs);
      if (cav.length > 0) items.push(`<li>Caveats: ${cav.map(escapeHtml).join("; ")}.</li>`);
      blocks.push(`<h3>${escapeHtml(head)}</h3><ul>${items.join("")}</ul>`);
    }
  }
  const method = anyIntervals
    ? "Intervals are 95 %: a paired bootstrap over test speakers (a drawn speaker brings all their recordings; " +
      "one draw serves every probe of a contrast) combined with the seeds (a Student-t term for their spread). A " +
      "verdict needs the interval on one side of 0."
    : "These results carry no predictions, so intervals are over seeds or configurations only (the old " +
      "method): they ignore which speakers are in the test set and can call a verdict that new speakers would " +
      "not replicate.";
  return `<section class="findings"><h2>Findings</h2><p>${escapeHtml(method)}</p>` +
    problems.map((p) => `<p class="missing">${escapeHtml(p)}</p>`).join("") + blocks.join("\n") +
    "</section>";
}

/**
 * The caption under the training curves: what the two losses are and, from the curves, how far apart they
 * end (validation loss can sit 10–100× above training loss; a reader needs to be told why).
 */
export function curvesCaption(curves: pl.DataFrame, opts: { task?: string } = {}): string {
  const rows = where(records(curves, ["q", "s", "seed", "train_loss", "val_loss"], "curves"), {
    task: opts.task,
  });
  const last = new Map<string, Row>();
  for (const r of rows) {
    const k = `${r.dataset}|${r.codec}|${r.task}|${r.q}|${r.s}|${r.seed}`;
    const prev = last.get(k);
    const at = (x: Row) => (x.step as number | undefined) ?? (x.epoch as number);
    if (!prev || at(r) >= at(prev)) last.set(k, r);
  }
  const ratios = [...last.values()]
    .filter((r) => typeof r.val_loss === "number" && (r.train_loss as number) > 0)
    .map((r) => (r.val_loss as number) / (r.train_loss as number)).sort((a, b) => a - b);
  const what =
    "train = reconstruction MSE per element on the training batches since the previous point (the " +
    "rows the SAE is fitted to); validation = the MSE of the current weights on validation half 1, recordings " +
    "of other speakers the SAE never trains on (log scale).";
  if (ratios.length === 0) return `${what} No validation loss was recorded.`;
  const median = ratios[Math.floor(ratios.length / 2)], max = ratios[ratios.length - 1];
  const x = (v: number) => `${v < 10 ? v.toFixed(1) : v.toFixed(0)}×`;
  const gap = median >= 2
    ? `At the last point the validation loss is ${x(median)} the training loss (median over ` +
      `${ratios.length} SAEs; up to ${
        x(max)
      }): the SAEs reconstruct the rows they were fitted to far better ` +
      "than new speakers' — a small training set and up to q·d_codec latents let them memorise it. What " +
      "generalises is measured by ev_heldout against ev_pca_k_heldout in the fit table below."
    : `At the last point the validation loss is ${
      x(median)
    } the training loss (median over ${ratios.length} ` +
      "SAEs): little overfitting.";
  return `${what} ${gap} The convergent schedule keeps the weights of the lowest validation loss.`;
}
