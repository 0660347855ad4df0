/**
 * Runs cells on `size` workers (one per core). Each cell is independent and deterministic, so results do not
 * depend on the number of workers or the order of completion. With size 1 cells run in this thread.
 */
import { type CellData, type CellOutcome, runCell } from "./cell.ts";
import type { ResolvedCell } from "./plan.ts";

interface Pending {
  resolve: (o: CellOutcome) => void;
  reject: (e: Error) => void;
}

export class CellPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { id: number; spec: ResolvedCell; data: CellData; threads: number }[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly busy = new Map<Worker, number>();
  private nextId = 0;
  /** With one worker, cells run in this thread one after another (not interleaved, so each finishes early). */
  private inline: Promise<unknown> = Promise.resolve();

  /** `threadsPerCell`: compute threads each cell's SAE uses (results do not depend on it). */
  constructor(readonly size: number, readonly threadsPerCell = 1) {
    if (size > 1) {
      for (let i = 0; i < size; i++) {
        const w = new Worker(new URL("./cell_worker.ts", import.meta.url), { type: "module" });
        w.onmessage = (e) => this.onResult(w, e.data);
        w.onerror = (e) => {
          e.preventDefault();
          const id = this.busy.get(w);
          if (id !== undefined) this.settle(w, id, new Error(`worker crashed: ${e.message}`));
        };
        this.workers.push(w);
        this.idle.push(w);
      }
    }
  }

  run(spec: ResolvedCell, data: CellData): Promise<CellOutcome> {
    if (this.size <= 1) {
      const result = this.inline.then(() => runCell(spec, data, this.threadsPerCell));
      this.inline = result.catch(() => {});
      return result;
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.queue.push({ id, spec, data, threads: this.threadsPerCell });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.busy.set(w, job.id);
      w.postMessage(job);
    }
  }

  private onResult(w: Worker, msg: { id: number; ok: boolean; outcome?: CellOutcome; error?: string }): void {
    this.settle(w, msg.id, msg.ok ? msg.outcome! : new Error(msg.error));
  }

  private settle(w: Worker, id: number, result: CellOutcome | Error): void {
    const p = this.pending.get(id);
    this.pending.delete(id);
    this.busy.delete(w);
    this.idle.push(w);
    if (p) result instanceof Error ? p.reject(result) : p.resolve(result);
    this.dispatch();
  }

  close(): void {
    for (const w of this.workers) w.terminate();
  }
}
