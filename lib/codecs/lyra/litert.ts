/**
 * LiteRT.js (`@litertjs/core`, WASM/XNNPACK backend) under Deno, with a thin synchronous layer over its
 * low-level bindings.
 *
 * Why the shim: the package's loader injects its Emscripten glue with `importScripts` (workers) or a
 * `<script>` tag (pages). Deno has neither, but it does look like Node to the glue (`process.versions.node`),
 * which then wants `require` and `__dirname`. We provide `importScripts` that evaluates the glue in global
 * scope with those two set, and a `Module` whose print hooks swallow the runtime's INFO chatter (stdout must
 * stay clean for `--json`).
 *
 * Why the low-level layer: the public `CompiledModel.run` re-validates layouts and allocates wrapper objects
 * on every call, which costs more than a Lyra frame's compute. Here an input buffer is created once per
 * model and rewritten in place; every output buffer the runtime returns is deleted right after it is read.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as litert from "@litertjs/core";

// Shapes of the package's internal bindings that we use (typed loosely: they are not part of its public API).
interface WasmBuffer {
  lock(mode: unknown): number;
  unlock(): void;
  delete(): void;
}
interface WasmCompiled {
  run(signature: number, inputs: WasmBuffer[]): WasmBuffer[] | Promise<WasmBuffer[]>;
  delete(): void;
}
interface WasmModel {
  getNumSignatures(): number;
  getSignature(i: number): { key(): string; delete(): void };
}
interface Wasm {
  HEAPU8: Uint8Array;
  LiteRtTensorBufferLockMode: { READ: unknown; WRITE: unknown };
  compileModel(env: unknown, model: WasmModel, options: unknown): WasmCompiled | Promise<WasmCompiled>;
}

let loading: Promise<Wasm> | undefined;

/** Loads the LiteRT WASM runtime once per JS realm (main thread or worker). */
export function loadRuntime(): Promise<Wasm> {
  loading ??= (async () => {
    const req = createRequire(import.meta.url);
    const wasmDir = join(dirname(req.resolve("@litertjs/core")), "..", "wasm");
    // deno-lint-ignore no-explicit-any
    const g = globalThis as any;
    g.Module = { print: () => {}, printErr: () => {} };
    g.importScripts = (file: string) => {
      g.require = createRequire(file);
      g.__dirname = dirname(file);
      (0, eval)(Deno.readTextFileSync(file));
    };
    const rt = await litert.loadLiteRt(wasmDir + "/");
    return rt.liteRtWasm as unknown as Wasm;
  })();
  return loading;
}

type Typed = Float32Array | Int32Array;

/** One .tflite model, compiled for the WASM CPU backend, with named signatures. */
export class TfliteModel {
  private compiled: litert.CompiledModel;
  private runner: WasmCompiled;
  private readonly inputs = new Map<string, litert.Tensor[]>();
  private readonly outputs = new Map<string, { int32: boolean; bytes: number }[]>();
  private readonly signatures: string[];
  private deleted = false;

  private constructor(private readonly wasm: Wasm, compiled: litert.CompiledModel, readonly source: string) {
    this.compiled = compiled;
    this.runner = internals(compiled).liteRtCompiledModel;
    const model = internals(compiled).model.liteRtModel;
    this.signatures = [];
    for (let i = 0; i < model.getNumSignatures(); i++) {
      const s = model.getSignature(i);
      this.signatures.push(s.key());
      s.delete();
    }
  }

  static async load(bytes: Uint8Array, source: string): Promise<TfliteModel> {
    const wasm = await loadRuntime();
    heapChanged();
    const compiled = await litert.loadAndCompile(bytes, {
      accelerator: "wasm",
      cpuOptions: { numThreads: 1 },
    });
    return new TfliteModel(wasm, compiled, source);
  }

  /**
   * Recompiles the loaded model: the interpreter (and with it every resource variable, i.e. streaming
   * state) is rebuilt, zero-initialised, while the parsed flatbuffer is reused. ~5 ms for Lyra's encoder,
   * against ~13 ms for a full load-and-compile.
   */
  async resetState(): Promise<void> {
    heapChanged();
    const c = internals(this.compiled);
    const fresh = await this.wasm.compileModel(
      c.options.environment.liteRtEnvironment,
      c.model.liteRtModel,
      c.options,
    );
    this.runner.delete();
    this.runner = fresh;
    c.liteRtCompiledModel = fresh;
  }

  /**
   * Runs signature `name` on `inputs` (each given with its shape, in the signature's input order) and
   * returns copies of all outputs in the signature's output order. Output buffers are freed here.
   */
  run(name: string, inputs: { data: Typed; shape: number[] }[], owner?: object): Typed[] {
    touchHeap(owner);
    const buffers = this.writeInputs(name, inputs);
    const out = this.runner.run(this.signatureIndex(name), buffers);
    if (out instanceof Promise) throw new Error(`${this.source}: unexpected asynchronous run (JSPI build?)`);
    return this.readAndFree(out, name);
  }

  /** Creates the input buffers of a signature now (before a heap snapshot), if not done yet. */
  prepare(name: string, inputs: { data: Typed; shape: number[] }[]): void {
    if (!this.inputs.has(name)) this.writeInputs(name, inputs);
  }

  private signatureIndex(name: string): number {
    const i = this.signatures.indexOf(name);
    if (i < 0) {
      throw new Error(`${this.source}: no signature '${name}' (has ${this.signatures.join(", ")})`);
    }
    return i;
  }

  private writeInputs(name: string, inputs: { data: Typed; shape: number[] }[]): WasmBuffer[] {
    let tensors = this.inputs.get(name);
    if (!tensors) {
      heapChanged();
      tensors = inputs.map((x) => new litert.Tensor(x.data, x.shape));
      this.inputs.set(name, tensors);
      return tensors.map((t) => t.liteRtTensorBuffer as unknown as WasmBuffer);
    }
    return tensors.map((t, i) => {
      const buf = t.liteRtTensorBuffer as unknown as WasmBuffer;
      const x = inputs[i].data;
      const ptr = buf.lock(this.wasm.LiteRtTensorBufferLockMode.WRITE);
      try {
        new Uint8Array(this.wasm.HEAPU8.buffer, ptr, x.byteLength).set(
          new Uint8Array(x.buffer, x.byteOffset, x.byteLength),
        );
      } finally {
        buf.unlock();
      }
      return buf;
    });
  }

  private readAndFree(out: WasmBuffer[], name: string): Typed[] {
    let details = this.outputs.get(name);
    if (!details) {
      details = this.compiled.signatures[name].getOutputDetails().map((d) => ({
        int32: d.dtype === "int32",
        bytes: 4 * d.shape.reduce((a, b) => a * b, 1),
      }));
      this.outputs.set(name, details);
    }
    try {
      return out.map((buf, i) => {
        const d = details[i];
        const ptr = buf.lock(this.wasm.LiteRtTensorBufferLockMode.READ);
        try {
          const bytes = this.wasm.HEAPU8.slice(ptr, ptr + d.bytes);
          return d.int32 ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
        } finally {
          buf.unlock();
        }
      });
    } finally {
      for (const buf of out) buf.delete();
    }
  }

  /** Output names of a signature, in order (to pick e.g. `output_0` among several). */
  outputNames(name: string): string[] {
    return this.compiled.signatures[name].getOutputDetails().map((d) => d.name);
  }

  delete(): void {
    if (this.deleted) return;
    heapChanged();
    this.deleted = true;
    for (const ts of this.inputs.values()) for (const t of ts) t.delete();
    this.inputs.clear();
    this.compiled.delete();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Resetting streaming state by restoring the WASM heap.
//
// Recompiling an interpreter (`resetState`) costs ~5–8 ms, as much as a 0.3 s utterance's compute. All of
// LiteRT's state lives in the WASM linear memory, so restoring the memory to a snapshot taken right after a
// compile is the same reset, exactly. Only the pages an utterance writes need copying back (~150 pages for
// Lyra's encoder + quantizer): they are learned by comparing the whole heap with the snapshot after the
// first utterances (those restores are exact by construction), re-learned after any utterance over twice as long
// as all learned ones, and checked again every `VERIFY_EVERY` utterances. A snapshot is valid only while
// nothing else touched the heap: loading/compiling/deleting models or creating tensors (anywhere in this
// realm), or runs on behalf of another owner, invalidate it, and the caller recompiles instead.

let heapEpoch = 0;
let heapOwner: object | undefined;

/** A structural heap change: every snapshot taken before it is invalid. */
function heapChanged(): void {
  heapEpoch++;
  heapOwner = undefined;
}

/** A run on behalf of `owner`: invalidates snapshots of any other owner. */
function touchHeap(owner: object | undefined): void {
  if (owner === undefined || owner !== heapOwner) heapChanged();
  heapOwner = owner;
}

const PAGE = 4096;
const LEARN_FIRST = 2;
const VERIFY_EVERY = 128;

export class HeapCheckpoint {
  private readonly pages = new Set<number>();
  private pageList = new Int32Array(0);
  private learned = 0;
  private longestLearned = 0;
  private restores = 0;
  /** Set when verification found a page outside the learned set: the caller must stop using snapshots. */
  broken = false;

  private constructor(
    private readonly wasm: Wasm,
    private readonly snapshot: Uint8Array,
    private readonly epoch: number,
    private readonly owner: object,
  ) {}

  /** Snapshots the heap now, for `owner` (whose runs keep the snapshot valid). */
  static async take(owner: object): Promise<HeapCheckpoint> {
    const wasm = await loadRuntime();
    heapOwner = owner;
    return new HeapCheckpoint(wasm, wasm.HEAPU8.slice(), heapEpoch, owner);
  }

  /** True while the heap holds nothing this snapshot does not know about. */
  get valid(): boolean {
    return !this.broken && heapEpoch === this.epoch && heapOwner === this.owner &&
      this.wasm.HEAPU8.length === this.snapshot.length;
  }

  /**
   * Brings the heap back to the snapshot after an utterance of `frames` frames. Returns false (heap left
   * as is) when the snapshot is no longer valid.
   */
  restore(frames: number): boolean {
    if (!this.valid) return false;
    this.restores++;
    const learn = this.learned < LEARN_FIRST || frames > 2 * this.longestLearned;
    if (learn || this.restores % VERIFY_EVERY === 0) {
      const fresh = this.differingPages();
      const unknown = fresh.filter((p) => !this.pages.has(p));
      if (!learn && unknown.length > 0) this.broken = true;
      for (const p of fresh) this.pages.add(p);
      this.pageList = Int32Array.from([...this.pages].sort((a, b) => a - b));
      if (learn) {
        this.learned++;
        this.longestLearned = Math.max(this.longestLearned, frames);
      }
    }
    const heap = this.wasm.HEAPU8;
    for (const p of this.pageList) {
      const o = p * PAGE;
      heap.set(this.snapshot.subarray(o, o + PAGE), o);
    }
    return !this.broken;
  }

  private differingPages(): number[] {
    const n = this.snapshot.length;
    const a = new Int32Array(this.snapshot.buffer, this.snapshot.byteOffset, n / 4);
    const heap = this.wasm.HEAPU8;
    const b = new Int32Array(heap.buffer, heap.byteOffset, n / 4);
    const perPage = PAGE / 4;
    const out: number[] = [];
    for (let p = 0; p < n / PAGE; p++) {
      const o = p * perPage;
      for (let i = o; i < o + perPage; i++) {
        if (a[i] !== b[i]) {
          out.push(p);
          break;
        }
      }
    }
    return out;
  }
}

interface CompiledInternals {
  liteRtCompiledModel: WasmCompiled;
  model: { liteRtModel: WasmModel };
  options: { environment: { liteRtEnvironment: unknown } };
}

function internals(c: litert.CompiledModel): CompiledInternals {
  return c as unknown as CompiledInternals;
}
