/**
 * Encodes utterances on `size` Deno Web Workers, each holding its own codec instance (one per core: the
 * LiteRT/ONNX engines run single-threaded inside a worker). Every utterance is encoded from the codec's
 * zero state, so results do not depend on the number of workers or on which worker ran what.
 */
import type { LoadOptions } from "../codecs/types.ts";
import type { JobInput, JobOutput } from "./job.ts";
import { locationsOf } from "../common/settings.ts";

export class EncoderPool {
  private constructor(private readonly workers: Worker[]) {}

  /** Starts `size` workers and waits until each has loaded the codecs (a group encoding together). */
  static async start(codecIds: string[], size: number, load: LoadOptions): Promise<EncoderPool> {
    const codecId = codecIds.join("+");
    if (!Number.isInteger(size) || size < 1) {
      throw new Error(`workers must be a positive integer, got ${size}`);
    }
    const workers: Worker[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
      workers.push(w);
      ready.push(
        new Promise<void>((resolve, reject) => {
          w.onmessage = (e) => {
            if (e.data.type === "ready") resolve();
            else reject(new Error(`worker ${i}: ${e.data.message}`));
          };
          w.onerror = (e) => {
            e.preventDefault();
            reject(new Error(`worker ${i} crashed while loading ${codecId}: ${e.message}`));
          };
        }),
      );
      // One engine thread per worker unless told otherwise: the workers already fill the cores.
      const { offline, modelsDir, threads = 1, providers } = load;
      w.postMessage({
        type: "init",
        codecIds,
        load: { ...locationsOf(load), offline, modelsDir, threads, providers },
      });
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    return new EncoderPool(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  /**
   * Runs every job; `onResult` is called once per job, one call at a time, in completion order.
   * Rejects on the first worker crash or `onResult` error (results already handed over stay handed over).
   */
  run(
    jobs: (JobInput & { maxSeconds: number })[],
    onResult: (out: JobOutput) => Promise<void> | void,
  ): Promise<void> {
    let next = 0, settled = 0, failed = false;
    let chain = Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        reject(e);
      };
      const feed = (w: Worker) => {
        if (failed) return;
        if (next < jobs.length) w.postMessage({ type: "job", ...jobs[next++] });
      };
      if (jobs.length === 0) return resolve();
      this.workers.forEach((w, i) => {
        w.onmessage = (e) => {
          if (e.data.type !== "result") {
            return fail(new Error(`worker ${i}: ${e.data.message ?? e.data.type}`));
          }
          const out = e.data.out as JobOutput;
          feed(w);
          chain = chain.then(() => onResult(out)).then(() => {
            if (++settled === jobs.length && !failed) resolve();
          }, (err) => fail(err as Error));
        };
        w.onerror = (e) => {
          e.preventDefault();
          fail(new Error(`worker ${i} crashed: ${e.message}`));
        };
        // Two jobs in flight per worker, so a worker never idles while the main thread commits a shard.
        feed(w);
        feed(w);
      });
    });
  }

  /**
   * Lets every worker free its codec and close itself (terminating a worker in the middle of native
   * teardown is what crashes runtimes), then terminates whatever has not answered within `graceMs`.
   */
  async close(graceMs = 2000): Promise<void> {
    await Promise.all(this.workers.map((w) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        w.onmessage = (e) => {
          if (e.data.type === "closed") {
            clearTimeout(timer);
            resolve();
          }
        };
        w.onerror = (e) => {
          e.preventDefault();
          clearTimeout(timer);
          resolve();
        };
        w.postMessage({ type: "close" });
      })
    ));
    for (const w of this.workers) w.terminate();
  }
}
