/**
 * A restricted reader for PyTorch checkpoints (`torch.save` zip files: `<archive>/data.pkl` + `<archive>/data/<key>`
 * storages, and the legacy pre-1.6 format). The pickle VM understands only plain values and containers,
 * `collections.OrderedDict`, tensors (`torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`) and storages
 * (`torch.*Storage` via persistent ids).
 * Every other global is refused with an error: loading a checkpoint never executes code.
 */
import { decodeTensorData, type Tensor, type TensorMap } from "./safetensors.ts";
import { ZipReader } from "./zip.ts";

/** Storage classes → (safetensors-style dtype, bytes per element). */
const STORAGES: Record<string, [string, number]> = {
  FloatStorage: ["F32", 4],
  DoubleStorage: ["F64", 8],
  HalfStorage: ["F16", 2],
  BFloat16Storage: ["BF16", 2],
  LongStorage: ["I64", 8],
  IntStorage: ["I32", 4],
  ShortStorage: ["I16", 2],
  CharStorage: ["I8", 1],
  ByteStorage: ["U8", 1],
  BoolStorage: ["BOOL", 1],
};

const ALLOWED_CALLABLES = new Set([
  "collections.OrderedDict",
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_parameter",
  "torch._utils._rebuild_parameter_with_state",
]);

interface GlobalRef {
  kind: "global";
  qualname: string;
}

interface StorageType {
  kind: "storage_type";
  dtype: string;
  width: number;
}

interface Storage {
  kind: "storage";
  dtype: string;
  width: number;
  bytes: Uint8Array;
  /** Legacy format, first pass: the data comes after the pickle, so tensors are not built yet. */
  placeholder?: boolean;
}

/** A dict from a pickle: a Map (keys are strings or numbers in checkpoints). */
export type PickleDict = Map<unknown, unknown>;

function isTensor(v: unknown): v is Tensor {
  return typeof v === "object" && v !== null && "shape" in v && "data" in v && "dtype" in v;
}

function resolveGlobal(module: string, name: string, source: string): GlobalRef | StorageType {
  const qualname = `${module}.${name}`;
  if (module === "torch" && STORAGES[name]) {
    const [dtype, width] = STORAGES[name];
    return { kind: "storage_type", dtype, width };
  }
  if (ALLOWED_CALLABLES.has(qualname)) return { kind: "global", qualname };
  throw new Error(
    `${source}: refusing to load global '${qualname}': a checkpoint may only hold tensors, storages and plain ` +
      `containers (loading it with torch.load would run this code)`,
  );
}

/** Materializes a (possibly strided) view of a storage as a contiguous tensor. */
function rebuildTensor(args: unknown[], source: string): Tensor {
  const [storage, offset, size, stride] = args as [Storage, number, number[], number[]];
  if (!storage || storage.kind !== "storage") throw new Error(`${source}: tensor without a storage`);
  const shape = size.map(Number);
  if (storage.placeholder) return { dtype: storage.dtype, shape, data: new Float32Array(0) };
  const count = shape.reduce((a, b) => a * b, 1);
  const contiguous = shape.every((_, i) => {
    let expect = 1;
    for (let j = i + 1; j < shape.length; j++) expect *= shape[j];
    return shape[i] === 1 || Number(stride[i]) === expect;
  });
  const w = storage.width;
  let raw: Uint8Array;
  if (contiguous) {
    raw = storage.bytes.subarray(Number(offset) * w, (Number(offset) + count) * w);
    if (raw.length !== count * w) throw new Error(`${source}: tensor [${shape}] runs past its storage`);
  } else {
    raw = new Uint8Array(count * w);
    const idx = new Array(shape.length).fill(0);
    for (let n = 0; n < count; n++) {
      let src = Number(offset);
      for (let d = 0; d < shape.length; d++) src += idx[d] * Number(stride[d]);
      raw.set(storage.bytes.subarray(src * w, src * w + w), n * w);
      for (let d = shape.length - 1; d >= 0; d--) {
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
      }
    }
  }
  return { dtype: storage.dtype, shape, data: decodeTensorData(raw, storage.dtype, count, source) };
}

/**
 * Runs the restricted pickle VM over `data`. `persistentLoad` maps a persistent id (torch: a tuple
 * ('storage', storage_type, key, location, numel)) to a storage.
 */
export function unpickle(
  data: Uint8Array,
  persistentLoad: (pid: unknown) => unknown,
  source = "pickle",
): unknown {
  return unpickleAt(data, 0, persistentLoad, source).value;
}

/** A cursor over pickle bytes; errors name the source and the offset. */
class PickleReader {
  private readonly dv: DataView;
  private readonly td = new TextDecoder();
  constructor(readonly data: Uint8Array, public p: number, readonly source: string) {
    this.dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }
  fail(msg: string): never {
    throw new Error(`${this.source}: ${msg} (pickle offset ${this.p})`);
  }
  private need(n: number): void {
    if (this.p + n > this.data.length) this.fail("truncated pickle");
  }
  /** Moves past the next `n` bytes (which must be there); returns where they start. */
  private advance(n: number): number {
    this.need(n);
    this.p += n;
    return this.p - n;
  }
  u8(): number {
    this.need(1);
    return this.data[this.p++];
  }
  u16(): number {
    return this.dv.getUint16(this.advance(2), true);
  }
  u32(): number {
    return this.dv.getUint32(this.advance(4), true);
  }
  i32(): number {
    return this.dv.getInt32(this.advance(4), true);
  }
  u64(): number {
    return Number(this.dv.getBigUint64(this.advance(8), true));
  }
  /** BINFLOAT: big-endian float64. */
  f64be(): number {
    return this.dv.getFloat64(this.advance(8), false);
  }
  take(n: number): Uint8Array {
    const at = this.advance(n);
    return this.data.subarray(at, at + n);
  }
  text(n: number): string {
    return this.td.decode(this.take(n));
  }
  line(): string {
    const end = this.data.indexOf(0x0a, this.p);
    if (end < 0) this.fail("unterminated text line");
    const s = this.td.decode(this.data.subarray(this.p, end));
    this.p = end + 1;
    return s;
  }
}

/** Little-endian two's-complement bytes (LONG1/LONG4) as a number. */
function longFrom(b: Uint8Array): number {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b.length > 0 && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return Number(v);
}

/**
 * The restricted pickle machine: a stack with MARKs, a memo, and only the callables of ALLOWED_CALLABLES.
 * Opcodes come in four groups, each a method that returns false for an opcode not its own: values (scalars,
 * strings, bytes), containers (lists, tuples, dicts), the memo, and objects (globals, REDUCE, BUILD,
 * persistent ids).
 */
class PickleMachine {
  private readonly stack: unknown[] = [];
  private readonly metastack: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();

  constructor(private readonly r: PickleReader, private readonly persistentLoad: (pid: unknown) => unknown) {}

  private pop(): unknown {
    return this.stack.length === 0 ? this.r.fail("stack underflow") : this.stack.pop();
  }
  private top(): unknown {
    return this.stack[this.stack.length - 1];
  }
  private popMark(): unknown[] {
    const items = this.stack.splice(0);
    const prev = this.metastack.pop();
    if (!prev) this.r.fail("MARK missing");
    this.stack.push(...prev);
    return items;
  }
  private setItems(d: unknown, items: unknown[]): void {
    if (!(d instanceof Map)) this.r.fail("SETITEM on a non-dict");
    for (let i = 0; i + 1 < items.length; i += 2) (d as PickleDict).set(items[i], items[i + 1]);
  }

  /** Runs to STOP; returns the value on top. */
  run(): unknown {
    for (;;) {
      const op = this.r.u8();
      if (op === 0x2e) return this.pop(); // STOP
      if (this.value(op) || this.container(op) || this.memoOp(op) || this.object(op)) continue;
      this.r.fail(`unsupported or disallowed pickle opcode 0x${op.toString(16).padStart(2, "0")}`);
    }
  }

  /** Framing, constants, numbers, strings and bytes. */
  private value(op: number): boolean {
    const r = this.r, push = (v: unknown) => this.stack.push(v);
    switch (op) {
      case 0x80: // PROTO
        r.u8();
        return true;
      case 0x95: // FRAME
        r.u64();
        return true;
      case 0x4e: // NONE
        push(null);
        return true;
      case 0x88: // NEWTRUE
        push(true);
        return true;
      case 0x89: // NEWFALSE
        push(false);
        return true;
      case 0x4a: // BININT
        push(r.i32());
        return true;
      case 0x4b: // BININT1
        push(r.u8());
        return true;
      case 0x4d: // BININT2
        push(r.u16());
        return true;
      case 0x8a: // LONG1
        push(longFrom(r.take(r.u8())));
        return true;
      case 0x8b: // LONG4
        push(longFrom(r.take(r.u32())));
        return true;
      case 0x49: { // INT (text; "00"/"01" are bools)
        const s = r.line();
        push(s === "00" ? false : s === "01" ? true : parseInt(s, 10));
        return true;
      }
      case 0x4c: // LONG (text)
        push(parseInt(r.line().replace(/L$/, ""), 10));
        return true;
      case 0x47: // BINFLOAT
        push(r.f64be());
        return true;
      case 0x46: // FLOAT (text)
        push(parseFloat(r.line()));
        return true;
      case 0x58: // BINUNICODE
      case 0x54: // BINSTRING
        push(r.text(r.u32()));
        return true;
      case 0x8c: // SHORT_BINUNICODE
      case 0x55: // SHORT_BINSTRING
        push(r.text(r.u8()));
        return true;
      case 0x8d: // BINUNICODE8
        push(r.text(r.u64()));
        return true;
      case 0x42: // BINBYTES
        push(r.take(r.u32()).slice());
        return true;
      case 0x43: // SHORT_BINBYTES
        push(r.take(r.u8()).slice());
        return true;
      case 0x8e: // BINBYTES8
        push(r.take(r.u64()).slice());
        return true;
    }
    return false;
  }

  /** MARK and the stack, lists, tuples and dicts. */
  private container(op: number): boolean {
    const stack = this.stack;
    switch (op) {
      case 0x28: // MARK
        this.metastack.push(stack.splice(0));
        return true;
      case 0x30: // POP
        this.pop();
        return true;
      case 0x31: // POP_MARK
        this.popMark();
        return true;
      case 0x32: // DUP
        stack.push(this.top());
        return true;
      case 0x5d: // EMPTY_LIST
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        return true;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        return true;
      case 0x6c: // LIST
      case 0x74: // TUPLE
        stack.push(this.popMark());
        return true;
      case 0x85: // TUPLE1
        stack.push([this.pop()]);
        return true;
      case 0x86: { // TUPLE2
        const b = this.pop();
        stack.push([this.pop(), b]);
        return true;
      }
      case 0x87: { // TUPLE3
        const c = this.pop();
        const b = this.pop();
        stack.push([this.pop(), b, c]);
        return true;
      }
      case 0x64: { // DICT
        const m: PickleDict = new Map();
        this.setItems(m, this.popMark());
        stack.push(m);
        return true;
      }
      case 0x61: { // APPEND
        const v = this.pop();
        const l = this.top();
        if (!Array.isArray(l)) this.r.fail("APPEND to a non-list");
        (l as unknown[]).push(v);
        return true;
      }
      case 0x65: { // APPENDS
        const items = this.popMark();
        const l = this.top();
        if (!Array.isArray(l)) this.r.fail("APPENDS to a non-list");
        (l as unknown[]).push(...items);
        return true;
      }
      case 0x73: { // SETITEM
        const v = this.pop();
        const k = this.pop();
        this.setItems(this.top(), [k, v]);
        return true;
      }
      case 0x75: { // SETITEMS
        const items = this.popMark();
        this.setItems(this.top(), items);
        return true;
      }
    }
    return false;
  }

  private memoOp(op: number): boolean {
    const r = this.r, memo = this.memo;
    switch (op) {
      case 0x71: // BINPUT
        memo.set(r.u8(), this.top());
        return true;
      case 0x72: // LONG_BINPUT
        memo.set(r.u32(), this.top());
        return true;
      case 0x70: // PUT
        memo.set(parseInt(r.line(), 10), this.top());
        return true;
      case 0x94: // MEMOIZE
        memo.set(memo.size, this.top());
        return true;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: { // GET
        const k = op === 0x68 ? r.u8() : op === 0x6a ? r.u32() : parseInt(r.line(), 10);
        if (!memo.has(k)) r.fail(`memo key ${k} missing`);
        this.stack.push(memo.get(k));
        return true;
      }
    }
    return false;
  }

  /** Globals (allowed ones only), calls, BUILD and persistent ids (torch storages). */
  private object(op: number): boolean {
    const r = this.r;
    switch (op) {
      case 0x63: { // GLOBAL "module\nname\n"
        const module = r.line();
        const name = r.line();
        this.stack.push(resolveGlobal(module, name, r.source));
        return true;
      }
      case 0x93: { // STACK_GLOBAL
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== "string" || typeof name !== "string") r.fail("STACK_GLOBAL needs two strings");
        this.stack.push(resolveGlobal(module as string, name as string, r.source));
        return true;
      }
      case 0x52: { // REDUCE
        const args = this.pop();
        const fn = this.pop();
        if (!Array.isArray(args)) r.fail("REDUCE arguments are not a tuple");
        this.stack.push(this.call(fn, args as unknown[]));
        return true;
      }
      case 0x62: { // BUILD: only instance dicts of OrderedDicts (state_dict._metadata) and parameters' state
        const state = this.pop();
        const obj = this.top();
        if (!(obj instanceof Map) && !isTensor(obj)) {
          r.fail("BUILD on an object that is not a dict or tensor");
        }
        if (state !== null && !(state instanceof Map) && !Array.isArray(state)) {
          r.fail("BUILD with unexpected state");
        }
        return true;
      }
      case 0x51: // BINPERSID
        this.stack.push(this.persistentLoad(this.pop()));
        return true;
    }
    return false;
  }

  private call(fn: unknown, args: unknown[]): unknown {
    const g = fn as GlobalRef;
    if (!g || g.kind !== "global") this.r.fail("REDUCE on a value that is not an allowed callable");
    switch (g.qualname) {
      case "collections.OrderedDict": {
        const m: PickleDict = new Map();
        if (args.length > 0 && Array.isArray(args[0])) {
          for (const [k, v] of args[0] as unknown[][]) m.set(k, v);
        }
        return m;
      }
      case "torch._utils._rebuild_tensor_v2":
        return rebuildTensor(args, this.r.source);
      case "torch._utils._rebuild_parameter":
      case "torch._utils._rebuild_parameter_with_state":
        if (!isTensor(args[0])) this.r.fail("_rebuild_parameter without a tensor");
        return args[0];
    }
    return this.r.fail(`callable ${g.qualname} not allowed`);
  }
}

/** Runs one pickle starting at byte `start`; returns its value and the offset just past its STOP. */
export function unpickleAt(
  data: Uint8Array,
  start: number,
  persistentLoad: (pid: unknown) => unknown,
  source = "pickle",
): { value: unknown; end: number } {
  const reader = new PickleReader(data, start, source);
  const value = new PickleMachine(reader, persistentLoad).run();
  return { value, end: reader.p };
}

/** Loads a `torch.save` zip checkpoint into plain values (Map for dicts, arrays for lists/tuples, Tensor). */
export function parseTorchCheckpoint(bytes: Uint8Array, source = "checkpoint"): unknown {
  if (bytes[0] === 0x80) return parseLegacyCheckpoint(bytes, source);
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b)) {
    throw new Error(
      `${source}: not a PyTorch checkpoint (neither a torch.save zip nor the legacy pickle format)`,
    );
  }
  const zip = new ZipReader(bytes, source);
  const pkl = [...zip.entries.keys()].find((n) => n === "data.pkl" || n.endsWith("/data.pkl"));
  if (!pkl) throw new Error(`${source}: zip has no data.pkl (not a torch.save checkpoint)`);
  const prefix = pkl.slice(0, pkl.length - "data.pkl".length);
  const storages = new Map<string, Storage>();
  const persistentLoad = (pid: unknown): Storage => {
    if (!Array.isArray(pid) || pid[0] !== "storage") throw new Error(`${source}: unexpected persistent id`);
    const [, type, key, , numel] = pid as [string, StorageType, string, string, number];
    if (!type || type.kind !== "storage_type") {
      throw new Error(`${source}: storage ${key} has no storage type`);
    }
    const cached = storages.get(String(key));
    if (cached) return cached;
    const raw = zip.read(`${prefix}data/${key}`);
    if (raw.length < Number(numel) * type.width) {
      throw new Error(
        `${source}: storage ${key} holds ${raw.length} bytes, expected ${Number(numel) * type.width}`,
      );
    }
    const s: Storage = { kind: "storage", dtype: type.dtype, width: type.width, bytes: raw };
    storages.set(String(key), s);
    return s;
  };
  return unpickle(zip.read(pkl), persistentLoad, source);
}

/**
 * The pre-1.6 `torch.save` format (`_use_new_zipfile_serialization=False`): pickles of the magic number, the
 * protocol version and sys_info, then the object (storages as persistent ids), then the list of storage keys,
 * then each storage as an int64 element count followed by its raw data. The object pickle is read twice:
 * once to find where the storages start, once with the storages in hand.
 */
function parseLegacyCheckpoint(bytes: Uint8Array, source: string): unknown {
  const none = () => {
    throw new Error(`${source}: unexpected persistent id in a header pickle`);
  };
  const magic = unpickleAt(bytes, 0, none, source);
  if (magic.value !== Number(0x1950a86a20f9469cfc6cn)) {
    throw new Error(`${source}: not a PyTorch checkpoint (bad magic number)`);
  }
  const protocol = unpickleAt(bytes, magic.end, none, source);
  if (protocol.value !== 1001) throw new Error(`${source}: unsupported legacy protocol ${protocol.value}`);
  const sysInfo = unpickleAt(bytes, protocol.end, none, source);
  if (sysInfo.value instanceof Map && sysInfo.value.get("little_endian") === false) {
    throw new Error(`${source}: big-endian checkpoints are not supported`);
  }
  type Pid = [string, StorageType, string, string, number, [string, number, number] | null];
  const types = new Map<string, StorageType>();
  const parsePid = (pid: unknown): Pid => {
    if (!Array.isArray(pid) || pid[0] !== "storage") throw new Error(`${source}: unexpected persistent id`);
    const t = pid as Pid;
    if (!t[1] || t[1].kind !== "storage_type") {
      throw new Error(`${source}: storage ${t[2]} has no storage type`);
    }
    return t;
  };
  const first = unpickleAt(bytes, sysInfo.end, (pid) => {
    const [, type, key] = parsePid(pid);
    types.set(String(key), type);
    return {
      kind: "storage",
      dtype: type.dtype,
      width: type.width,
      bytes: new Uint8Array(0),
      placeholder: true,
    };
  }, source);
  const keys = unpickleAt(bytes, first.end, none, source);
  if (!Array.isArray(keys.value)) throw new Error(`${source}: storage key list missing`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const roots = new Map<string, Storage>();
  let o = keys.end;
  for (const k of keys.value as unknown[]) {
    const type = types.get(String(k));
    if (!type) throw new Error(`${source}: storage ${k} listed but never used`);
    if (o + 8 > bytes.length) throw new Error(`${source}: truncated storage ${k}`);
    const n = Number(dv.getBigInt64(o, true));
    o += 8;
    if (o + n * type.width > bytes.length) throw new Error(`${source}: truncated storage ${k}`);
    roots.set(String(k), {
      kind: "storage",
      dtype: type.dtype,
      width: type.width,
      bytes: bytes.subarray(o, o + n * type.width),
    });
    o += n * type.width;
  }
  return unpickleAt(bytes, sysInfo.end, (pid) => {
    const [, , key, , , view] = parsePid(pid);
    const root = roots.get(String(key));
    if (!root) throw new Error(`${source}: storage ${key} has no data`);
    if (!view) return root;
    const [, offset, size] = view;
    return {
      ...root,
      bytes: root.bytes.subarray(Number(offset) * root.width, (Number(offset) + Number(size)) * root.width),
    };
  }, source).value;
}

export async function readTorchCheckpoint(path: string): Promise<unknown> {
  return parseTorchCheckpoint(await Deno.readFile(path), path);
}

/**
 * The tensors of a checkpoint as a flat name → tensor map: the object itself when it is a state dict, else
 * its `key` entry (e.g. DAC's {"state_dict": ..., "metadata": ...}). Non-tensor entries are an error.
 */
export function stateDictOf(obj: unknown, source = "checkpoint", key = "state_dict"): TensorMap {
  let d = obj;
  if (d instanceof Map && d.has(key) && d.get(key) instanceof Map) d = d.get(key);
  if (!(d instanceof Map)) throw new Error(`${source}: checkpoint is not a state dict`);
  const out: TensorMap = new Map();
  for (const [k, v] of d as PickleDict) {
    if (!isTensor(v)) throw new Error(`${source}: state dict entry '${String(k)}' is not a tensor`);
    out.set(String(k), v);
  }
  return out;
}

export async function readTorchStateDict(path: string, key = "state_dict"): Promise<TensorMap> {
  return stateDictOf(await readTorchCheckpoint(path), path, key);
}
