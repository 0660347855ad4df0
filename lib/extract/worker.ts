/// <reference lib="deno.worker" />
/**
 * Extraction worker: loads a group of codecs (usually one), then encodes the utterances it is sent (see
 * `pool.ts`). Messages in: {type: "init", codecIds, load} then {type: "job", index, path, maxSeconds}.
 * Messages out: {type: "ready"} | {type: "fatal", message} | {type: "result", out: JobOutput}.
 */
import { loadCodecGroup } from "../codecs/registry.ts";
import type { CodecGroup, LoadOptions } from "../codecs/types.ts";
import { type CodecOutput, type JobInput, runJob } from "./job.ts";

let codec: CodecGroup | undefined;
// Messages are handled one at a time, in order: the pool sends the next job before this one finishes.
let queue: Promise<void> = Promise.resolve();

self.onmessage = (e: MessageEvent) => {
  queue = queue.then(() => handle(e.data));
};

type Message =
  | { type: "init"; codecIds: string[]; load: LoadOptions }
  | (JobInput & { type: "job"; maxSeconds: number })
  | { type: "close" };

/** The buffers of one codec's output, moved to the main thread rather than copied (ê may be large). */
function transferables(o: CodecOutput): ArrayBuffer[] {
  const bufs = [o.u.buffer as ArrayBuffer, o.uStd.buffer as ArrayBuffer];
  return o.e ? [...bufs, o.e.buffer as ArrayBuffer] : bufs;
}

async function handle(msg: Message): Promise<void> {
  try {
    if (msg.type === "init") {
      const load: LoadOptions = { ...msg.load, quiet: true };
      codec = await loadCodecGroup(msg.codecIds, load);
      self.postMessage({ type: "ready" });
    } else if (msg.type === "job") {
      if (!codec) throw new Error("worker: job before init");
      const out = await runJob(codec, msg, msg.maxSeconds);
      self.postMessage(
        { type: "result", out },
        out.ok ? out.outs.flatMap(transferables) : [],
      );
    } else if (msg.type === "close") {
      codec?.dispose();
      codec = undefined;
      self.postMessage({ type: "closed" });
      self.close();
    }
  } catch (err) {
    self.postMessage({ type: "fatal", message: (err as Error).message });
  }
}
