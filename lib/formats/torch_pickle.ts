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

/** Runs one pickle starting at byte `start`; returns its value and the offset just past its STOP. */
export function unpickleAt(
  data: Uint8Array,
  start: number,
  persistentLoad: (pid: unknown) => unknown,
  source = "pickle",
): { value: unknown; end: number } {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const td = new TextDecoder();
  const stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let p = start;
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg} (pickle offset ${p})`);
  };
  const need = (n: number) => {
    if (p + n > data.length) fail("truncated pickle");
  };
  const u8 = () => (need(1), data[p++]);
  const u16 = () => (need(2), (p += 2), dv.getUint16(p - 2, true));
  const u32 = () => (need(4), (p += 4), dv.getUint32(p - 4, true));
  const i32 = () => (need(4), (p += 4), dv.getInt32(p - 4, true));
  const u64 = () => (need(8), (p += 8), Number(dv.getBigUint64(p - 8, true)));
  const take = (n: number) => (need(n), (p += n), data.subarray(p - n, p));
  const line = () => {
    const end = data.indexOf(0x0a, p);
    if (end < 0) fail("unterminated text line");
    const s = td.decode(data.subarray(p, end));
    p = end + 1;
    return s;
  };
  const pop = () => (stack.length === 0 ? fail("stack underflow") : stack.pop());
  const popMark = (): unknown[] => {
    const items = stack.splice(0);
    const prev = metastack.pop();
    if (!prev) fail("MARK missing");
    stack.push(...prev!);
    return items;
  };
  const top = () => stack[stack.length - 1];
  const setItems = (d: unknown, items: unknown[]) => {
    if (!(d instanceof Map)) fail("SETITEM on a non-dict");
    for (let i = 0; i + 1 < items.length; i += 2) (d as PickleDict).set(items[i], items[i + 1]);
  };
  const longFrom = (b: Uint8Array) => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b.length > 0 && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return Number(v);
  };
  const call = (fn: unknown, args: unknown[]): unknown => {
    const g = fn as GlobalRef;
    if (!g || g.kind !== "global") fail("REDUCE on a value that is not an allowed callable");
    switch (g.qualname) {
      case "collections.OrderedDict": {
        const m: PickleDict = new Map();
        if (args.length > 0 && Array.isArray(args[0])) {
          for (const [k, v] of args[0] as unknown[][]) m.set(k, v);
        }
        return m;
      }
      case "torch._utils._rebuild_tensor_v2":
        return rebuildTensor(args, source);
      case "torch._utils._rebuild_parameter":
      case "torch._utils._rebuild_parameter_with_state":
        if (!isTensor(args[0])) fail("_rebuild_parameter without a tensor");
        return args[0];
    }
    return fail(`callable ${g.qualname} not allowed`);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        return { value: pop(), end: p };
      case 0x28: // MARK
        metastack.push(stack.splice(0));
        stack.length = 0;
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(longFrom(take(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(longFrom(take(u32())));
        break;
      case 0x49: { // INT (text; "00"/"01" are bools)
        const s = line();
        stack.push(s === "00" ? false : s === "01" ? true : parseInt(s, 10));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(parseInt(line().replace(/L$/, ""), 10));
        break;
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(dv.getFloat64(p, false));
        p += 8;
        break;
      case 0x46: // FLOAT (text)
        stack.push(parseFloat(line()));
        break;
      case 0x58: // BINUNICODE
        stack.push(td.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(td.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(td.decode(take(u64())));
        break;
      case 0x54: // BINSTRING
        stack.push(td.decode(take(u32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(td.decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x6c: // LIST
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x64: { // DICT
        const m: PickleDict = new Map();
        setItems(m, popMark());
        stack.push(m);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) fail("APPEND to a non-list");
        (l as unknown[]).push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) fail("APPENDS to a non-list");
        (l as unknown[]).push(...items);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: // PUT
        memo.set(parseInt(line(), 10), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: { // GET
        const k = op === 0x68 ? u8() : op === 0x6a ? u32() : parseInt(line(), 10);
        if (!memo.has(k)) fail(`memo key ${k} missing`);
        stack.push(memo.get(k));
        break;
      }
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name, source));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings");
        stack.push(resolveGlobal(module as string, name as string, source));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!Array.isArray(args)) fail("REDUCE arguments are not a tuple");
        stack.push(call(fn, args as unknown[]));
        break;
      }
      case 0x62: { // BUILD: only instance dicts of OrderedDicts (state_dict._metadata) and parameters' state
        const state = pop();
        const obj = top();
        if (!(obj instanceof Map) && !isTensor(obj)) fail("BUILD on an object that is not a dict or tensor");
        if (state !== null && !(state instanceof Map) && !Array.isArray(state)) {
          fail("BUILD with unexpected state");
        }
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop()));
        break;
      default:
        fail(`unsupported or disallowed pickle opcode 0x${op.toString(16).padStart(2, "0")}`);
    }
  }
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
