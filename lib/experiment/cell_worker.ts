/// <reference lib="deno.worker" />
/** Worker entry: computes cells posted by `CellPool`, one at a time. */
import { type CellData, type CellSpec, runCell } from "./cell.ts";

self.onmessage = async (e: MessageEvent<{ id: number; spec: CellSpec; data: CellData }>) => {
  const { id, spec, data } = e.data;
  try {
    const outcome = await runCell(spec, data);
    self.postMessage({ id, ok: true, outcome });
  } catch (err) {
    self.postMessage({ id, ok: false, error: (err as Error).message, stack: (err as Error).stack });
  }
};
