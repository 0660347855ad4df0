/**
 * run_info.json's timing record. A cached rerun takes seconds, but the results it writes cost what the runs
 * that computed their cells spent: so run_info keeps every run (`runs`, oldest first) and the compute time of
 * the cells themselves (`compute`, each cell's own SAE and probe seconds, stored with the cell), and the report
 * shows those rather than the rerun's wall time.
 */
import { exists, readJson } from "../common/fs.ts";

/** One invocation of the grid. */
export interface RunRecord {
  started: string;
  finished: string;
  /** Wall time of this invocation. */
  seconds: number;
  cells: { total: number; computed: number; cached: number };
  extract_and_load_seconds: number;
  code_version: string;
  /** Where the cells ran: {kind: "local", workers} or the Slurm job ids. */
  executor: Record<string, unknown>;
}

/** Compute time of the results: every cell's own seconds, whichever run computed it. */
export interface ComputeTotals {
  sae_seconds: number;
  probe_seconds: number;
  /** Wall seconds of the runs that computed at least one cell (a cached rerun adds nothing). */
  computing_runs_wall_seconds: number;
}

/** The earlier runs recorded in an existing run_info.json (a file from before the history counts as one run). */
export async function previousRuns(path: string): Promise<RunRecord[]> {
  if (!(await exists(path))) return [];
  const info = await readJson<Record<string, unknown>>(path).catch(() => null);
  if (!info) return [];
  if (Array.isArray(info.runs)) return info.runs as RunRecord[];
  if (typeof info.seconds !== "number" || typeof info.started !== "string") return [];
  const cells = (info.cells ?? { total: 0, computed: 0, cached: 0 }) as RunRecord["cells"];
  return [{
    started: info.started,
    finished: String(info.finished ?? ""),
    seconds: info.seconds,
    cells,
    extract_and_load_seconds: Number(
      (info.stages as Record<string, unknown> | undefined)?.extract_and_load_seconds,
    ),
    code_version: String(info.code_version ?? ""),
    executor: (info.executor ?? {}) as Record<string, unknown>,
  }];
}

export function computeTotals(
  cellSeconds: { sae: number; probe: number }[],
  runs: RunRecord[],
): ComputeTotals {
  return {
    sae_seconds: cellSeconds.reduce((a, c) => a + c.sae, 0),
    probe_seconds: cellSeconds.reduce((a, c) => a + c.probe, 0),
    computing_runs_wall_seconds: runs.filter((r) => r.cells.computed > 0).reduce((a, r) => a + r.seconds, 0),
  };
}
