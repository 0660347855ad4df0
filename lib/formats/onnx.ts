/**
 * ONNX: a minimal ModelProto writer (protobuf wire format by hand: varints and length-delimited fields, no
 * dependency) plus a GraphBuilder, and sessions over onnxruntime-node. The codecs build their graphs from
 * config + weights in TypeScript and let onnxruntime run them (measured ~5× faster than tfjs-wasm here).
 *
 * Field numbers are those of onnx/onnx.proto3 (ModelProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto, ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto).
 */
import * as ort from "onnxruntime-node";

// ---------------------------------------------------------------------------------------------------------
// Protobuf wire format

export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private cur = new Uint8Array(256);
  private pos = 0;
  length = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.flush();
    if (n > this.cur.length) this.cur = new Uint8Array(Math.max(n, 256));
  }

  private flush(): void {
    if (this.pos > 0) this.chunks.push(this.cur.slice(0, this.pos));
    this.pos = 0;
  }

  varint(v: number | bigint): void {
    let b = BigInt.asUintN(64, BigInt(v));
    if (b < 0x80n) {
      this.ensure(1);
      this.cur[this.pos++] = Number(b);
      this.length++;
      return;
    }
    this.ensure(10);
    while (b >= 0x80n) {
      this.cur[this.pos++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
      this.length++;
    }
    this.cur[this.pos++] = Number(b);
    this.length++;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytes(b: Uint8Array): void {
    this.flush();
    this.chunks.push(b);
    this.length += b.length;
  }

  fixed32f(v: number): void {
    this.ensure(4);
    new DataView(this.cur.buffer).setFloat32(this.pos, v, true);
    this.pos += 4;
    this.length += 4;
  }

  /** field as varint */
  int(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }

  str(field: number, s: string): void {
    this.lenDelim(field, new TextEncoder().encode(s));
  }

  lenDelim(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.bytes(b);
  }

  message(field: number, m: ProtoWriter): void {
    this.tag(field, 2);
    this.varint(m.length);
    m.flush();
    for (const c of m.chunks) this.bytes(c);
  }

  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------
// ONNX model

/** ONNX TensorProto.DataType values used here. */
export const DType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9 } as const;

export type InitData = Float32Array | Int32Array | BigInt64Array;

/** Attribute values: plain numbers are INTs, number[] INTS, strings STRING; floats must be tagged. */
export type AttrValue =
  | number
  | number[]
  | string
  | { float: number }
  | { floats: number[] }
  | { tensor: { data: InitData; dims: number[] } }
  | { graph: GraphBuilder };

export const float = (v: number): { float: number } => ({ float: v });
export const floats = (v: number[]): { floats: number[] } => ({ floats: v });

interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  name: string;
  domain: string;
}

interface ValueSpec {
  name: string;
  elemType: number;
  dims?: (number | string)[];
}

function dtypeOf(data: InitData): number {
  if (data instanceof Float32Array) return DType.FLOAT;
  if (data instanceof Int32Array) return DType.INT32;
  return DType.INT64;
}

function tensorProto(name: string, data: InitData, dims: number[]): ProtoWriter {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new Error(`ONNX tensor '${name}': ${data.length} values for dims [${dims}]`);
  }
  const w = new ProtoWriter();
  for (const d of dims) w.int(1, d);
  w.int(2, dtypeOf(data));
  w.str(8, name);
  // raw_data is little-endian; typed arrays on every supported platform are too.
  w.lenDelim(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return w;
}

function valueInfo(v: ValueSpec): ProtoWriter {
  const w = new ProtoWriter();
  w.str(1, v.name);
  const tensorType = new ProtoWriter();
  tensorType.int(1, v.elemType);
  if (v.dims) {
    const shape = new ProtoWriter();
    for (const d of v.dims) {
      const dim = new ProtoWriter();
      if (typeof d === "number") dim.int(1, d);
      else dim.str(2, d);
      shape.message(1, dim);
    }
    tensorType.message(2, shape);
  }
  const type = new ProtoWriter();
  type.message(1, tensorType);
  w.message(2, type);
  return w;
}

function attribute(name: string, v: AttrValue): ProtoWriter {
  const w = new ProtoWriter();
  w.str(1, name);
  if (typeof v === "number") {
    if (!Number.isInteger(v)) {
      throw new Error(`attribute ${name}: ${v} is not an integer; wrap floats in float()`);
    }
    w.int(3, v);
    w.int(20, 2);
  } else if (typeof v === "string") {
    w.str(4, v);
    w.int(20, 3);
  } else if (Array.isArray(v)) {
    for (const x of v) w.int(8, x);
    w.int(20, 7);
  } else if ("float" in v) {
    w.tag(2, 5);
    w.fixed32f(v.float);
    w.int(20, 1);
  } else if ("floats" in v) {
    for (const x of v.floats) {
      w.tag(7, 5);
      w.fixed32f(x);
    }
    w.int(20, 6);
  } else if ("graph" in v) {
    w.message(6, v.graph.encodeGraph());
    w.int(20, 5);
  } else {
    w.message(5, tensorProto("", v.tensor.data, v.tensor.dims));
    w.int(20, 4);
  }
  return w;
}

/** Builds one ONNX graph; names are unique per builder. */
export class GraphBuilder {
  private nodes: NodeSpec[] = [];
  private inits: { name: string; data: InitData; dims: number[] }[] = [];
  private inputs: ValueSpec[] = [];
  private outputs: ValueSpec[] = [];
  // Shared by a graph and its subgraphs: ONNX names are one scope across nested graphs.
  private names: { used: Set<string>; reserved: Set<string>; defined: Set<string>; counter: number };

  constructor(readonly graphName = "graph", readonly opset = 18, private readonly parent?: GraphBuilder) {
    this.names = parent
      ? parent.names
      : { used: new Set(), reserved: new Set(), defined: new Set(), counter: 0 };
  }

  /**
   * A nested graph for control flow (If/Loop bodies). It sees every name of the enclosing graphs; its
   * constants are stored once, as initializers of the outermost graph.
   */
  subgraph(name: string): GraphBuilder {
    return new GraphBuilder(name, this.opset, this);
  }

  /** A fresh name with the given prefix. */
  fresh(prefix: string): string {
    const names = this.names;
    let n = `${prefix}_${names.counter++}`;
    while (names.used.has(n)) n = `${prefix}_${names.counter++}`;
    names.used.add(n);
    names.reserved.add(n);
    return n;
  }

  /** Registers a caller-chosen name (or one just returned by `fresh`, which is reserved but not yet defined). */
  private claim(name: string): string {
    const { used, reserved, defined } = this.names;
    if (defined.has(name) || (used.has(name) && !reserved.has(name))) {
      throw new Error(`ONNX graph: name '${name}' used twice`);
    }
    reserved.delete(name);
    used.add(name);
    defined.add(name);
    return name;
  }

  /** A graph input; dims may be symbolic (strings). elemType defaults to float. */
  input(name: string, dims: (number | string)[], elemType: number = DType.FLOAT): string {
    if (this.parent) {
      throw new Error(`ONNX subgraph '${this.graphName}': inputs belong to the outermost graph`);
    }
    this.inputs.push({ name: this.claim(name), dims, elemType });
    return name;
  }

  /** A constant tensor stored in the model. */
  initializer(name: string, data: InitData, dims: number[]): string {
    if (this.parent) return this.parent.initializer(name, data, dims);
    this.inits.push({ name: this.claim(name), data, dims });
    return name;
  }

  /** A constant with a generated name. */
  constant(prefix: string, data: InitData, dims: number[]): string {
    return this.initializer(this.fresh(prefix), data, dims);
  }

  /** An int64 1-D constant (shapes, axes, pads given statically). */
  ints(values: number[]): string {
    return this.constant("i64", BigInt64Array.from(values.map((v) => BigInt(v))), [values.length]);
  }

  /** Adds a node; returns its output names. */
  node(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    nOutputs = 1,
    domain = "",
  ): string[] {
    const outputs = Array.from({ length: nOutputs }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({ opType, inputs, outputs, attrs, name: this.fresh(`n_${opType}`), domain });
    return outputs;
  }

  /** A single-output node. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.node(opType, inputs, attrs, 1)[0];
  }

  /** Marks `value` as a graph output under `name` (an Identity node renames it). */
  output(value: string, name: string, dims?: (number | string)[], elemType: number = DType.FLOAT): void {
    this.claim(name);
    this.nodes.push({
      opType: "Identity",
      inputs: [value],
      outputs: [name],
      attrs: {},
      name: this.fresh("n_out"),
      domain: "",
    });
    this.outputs.push({ name, dims, elemType });
  }

  get inputNames(): string[] {
    return this.inputs.map((v) => v.name);
  }

  get outputNames(): string[] {
    return this.outputs.map((v) => v.name);
  }

  /** This graph as a GraphProto message. */
  encodeGraph(): ProtoWriter {
    const g = new ProtoWriter();
    for (const n of this.nodes) g.message(1, nodeProto(n));
    g.str(2, this.graphName);
    for (const t of this.inits) g.message(5, tensorProto(t.name, t.data, t.dims));
    for (const v of this.inputs) g.message(11, valueInfo(v));
    for (const v of this.outputs) g.message(12, valueInfo(v));
    return g;
  }

  /** Serialized ModelProto (IR version 8, default domain at `opset`). */
  toBytes(): Uint8Array {
    if (this.parent) throw new Error(`ONNX subgraph '${this.graphName}' is serialized with its parent`);
    return modelProto(this.encodeGraph(), this.opset, "1");
  }
}

function nodeProto(n: NodeSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.str(1, i);
  for (const o of n.outputs) w.str(2, o);
  w.str(3, n.name);
  w.str(4, n.opType);
  for (const [k, v] of Object.entries(n.attrs)) w.message(5, attribute(k, v));
  if (n.domain) w.str(7, n.domain);
  return w;
}

/** A ModelProto (IR version 8) around one graph, default domain at `opset`. */
function modelProto(graph: ProtoWriter, opset: number, modelVersion?: string): Uint8Array {
  const m = new ProtoWriter();
  m.int(1, 8);
  m.str(2, "nac-sae");
  if (modelVersion !== undefined) m.str(3, modelVersion);
  m.message(7, graph);
  const set = new ProtoWriter();
  set.str(1, "");
  set.int(2, opset);
  m.message(8, set);
  return m.finish();
}

/** A node of a hand-written graph: the caller names every value. */
export interface NamedNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

/** A graph input or output of a hand-written graph (a string dimension is symbolic). */
export interface GraphValue {
  name: string;
  elem: number;
  shape: (number | string)[];
}

/**
 * A single-graph model from hand-named nodes, all inputs fed at run time (no initializers): the SAE's
 * small training graphs. Larger graphs with weights use GraphBuilder.
 */
export function onnxModel(
  name: string,
  nodes: NamedNode[],
  inputs: GraphValue[],
  outputs: GraphValue[],
  opset = 17,
): Uint8Array {
  const g = new ProtoWriter();
  nodes.forEach((n, i) =>
    g.message(
      1,
      nodeProto({
        opType: n.op,
        inputs: n.inputs,
        outputs: n.outputs,
        attrs: n.attrs ?? {},
        name: `${n.op}_${i}`,
        domain: "",
      }),
    )
  );
  g.str(2, name);
  const spec = (v: GraphValue): ValueSpec => ({ name: v.name, elemType: v.elem, dims: v.shape });
  for (const v of inputs) g.message(11, valueInfo(spec(v)));
  for (const v of outputs) g.message(12, valueInfo(spec(v)));
  return modelProto(g, opset);
}

// ---------------------------------------------------------------------------------------------------------
// Sessions

export interface SessionOptions {
  /** Intra-op threads (default: onnxruntime's choice, all cores). */
  threads?: number;
  /** onnxruntime execution providers in order of preference, e.g. ["cuda", "cpu"] (default: CPU). */
  providers?: string[];
}

export type Session = ort.InferenceSession;
export type OrtTensor = ort.Tensor;

export async function createSession(model: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    interOpNumThreads: 1,
  };
  if (opts.threads !== undefined) options.intraOpNumThreads = opts.threads;
  if (opts.providers?.length) options.executionProviders = opts.providers;
  try {
    return await ort.InferenceSession.create(model, options);
  } catch (e) {
    if (!opts.providers?.some((p) => p !== "cpu")) throw e;
    throw new Error(
      `onnxruntime cannot start the execution provider(s) ${opts.providers.join(", ")}: ${
        (e as Error).message
      } ` +
        `(is the provider's library installed here, e.g. onnxruntime-node's CUDA provider with CUDA and cuDNN? ` +
        `docs/slurm.md, GPU nodes)`,
    );
  }
}

export type FeedValue = Float32Array | Int32Array | BigInt64Array;

/** A float32/int32/int64 tensor for a feed. */
export function tensor(data: FeedValue, dims: number[]): OrtTensor {
  if (data instanceof Float32Array) return new ort.Tensor("float32", data, dims);
  if (data instanceof Int32Array) return new ort.Tensor("int32", data, dims);
  return new ort.Tensor("int64", data, dims);
}

export interface RunResult {
  data: Float32Array | Int32Array | BigInt64Array;
  dims: number[];
}

/** Runs the session, returning every requested output as {data, dims}. */
export async function runSession(
  session: Session,
  feeds: Record<string, { data: FeedValue; dims: number[] }>,
  outputs?: string[],
): Promise<Record<string, RunResult>> {
  const f: Record<string, OrtTensor> = {};
  for (const [k, v] of Object.entries(feeds)) f[k] = tensor(v.data, v.dims);
  const res = outputs ? await session.run(f, outputs) : await session.run(f);
  const out: Record<string, RunResult> = {};
  for (const [k, t] of Object.entries(res)) {
    out[k] = { data: t.data as RunResult["data"], dims: [...t.dims] };
  }
  return out;
}
