/// <reference lib="deno.worker" />
/** Worker entry: computes cells posted by `CellPool`, one at a time. */
import { type CellData, runCell } from "./cell.ts";
import type { ResolvedCell } from "./plan.ts";

self.onmessage = async (
  e: MessageEvent<{ id: number; spec: ResolvedCell; data: CellData; threads: number }>,
) => {
  const { id, spec, data, threads } = e.data;
  try {
    const outcome = await runCell(spec, data, threads);
    self.postMessage({ id, ok: true, outcome });
  } catch (err) {
    self.postMessage({ id, ok: false, error: (err as Error).message, stack: (err as Error).stack });
  }
};
