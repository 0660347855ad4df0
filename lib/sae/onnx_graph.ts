/**
 * A minimal ONNX ModelProto writer: just enough protobuf (varints, length-delimited fields, packed int64s)
 * to describe the SAE's small compute graphs. lib/sae may not import lib/codecs (stage order), so it keeps
 * this tiny encoder instead of the general graph builder there.
 */

export const ELEM = { FLOAT: 1, INT64: 7, BOOL: 9 } as const;

/** A graph input/output: name, element type and shape (a string is a symbolic dimension). */
export interface ValueInfo {
  name: string;
  elem: number;
  shape: (number | string)[];
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  /** Integer, integer-list or float attributes. */
  attrs?: Record<string, number | number[] | { f: number }>;
}

class Writer {
  private chunks: number[] = [];
  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.chunks.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.chunks.push(Number(x));
  }
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  int(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }
  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    for (const x of b) this.chunks.push(x);
  }
  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, build: (w: Writer) => void): void {
    const w = new Writer();
    build(w);
    this.bytes(field, w.finish());
  }
  float(field: number, f: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, f, true);
    for (const x of b) this.chunks.push(x);
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

function valueInfo(w: Writer, field: number, v: ValueInfo): void {
  w.message(field, (vi) => {
    vi.string(1, v.name);
    vi.message(2, (tp) =>
      tp.message(1, (tt) => {
        tt.int(1, v.elem);
        tt.message(2, (sh) => {
          for (const d of v.shape) {
            sh.message(1, (dim) => typeof d === "number" ? dim.int(1, d) : dim.string(2, d));
          }
        });
      }));
  });
}

function node(w: Writer, n: NodeSpec, i: number): void {
  w.message(1, (nw) => {
    for (const x of n.inputs) nw.string(1, x);
    for (const x of n.outputs) nw.string(2, x);
    nw.string(3, `${n.op}_${i}`);
    nw.string(4, n.op);
    for (const [name, v] of Object.entries(n.attrs ?? {})) {
      nw.message(5, (a) => {
        a.string(1, name);
        if (typeof v === "number") {
          a.int(3, v);
          a.int(20, 2); // INT
        } else if (Array.isArray(v)) {
          for (const x of v) a.int(8, x);
          a.int(20, 7); // INTS
        } else {
          a.float(2, v.f);
          a.int(20, 1); // FLOAT
        }
      });
    }
  });
}

/** Serialises a single-graph ONNX model (IR 8, default-domain opset 17). */
export function onnxModel(
  name: string,
  nodes: NodeSpec[],
  inputs: ValueInfo[],
  outputs: ValueInfo[],
): Uint8Array {
  const w = new Writer();
  w.int(1, 8); // ir_version
  w.string(2, "nac-sae");
  w.message(7, (g) => {
    nodes.forEach((n, i) => node(g, n, i));
    g.string(2, name);
    for (const v of inputs) valueInfo(g, 11, v);
    for (const v of outputs) valueInfo(g, 12, v);
  });
  w.message(8, (op) => {
    op.string(1, "");
    op.int(2, 17);
  });
  return w.finish();
}
