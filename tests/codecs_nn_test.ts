/**
 * The codec building blocks: safetensors, the restricted PyTorch unpickler (real torch.save files made by
 * torch 1.13, committed under tests/fixtures/codecs, and hostile pickles), the ONNX writer, and every graph layer
 * against a direct TypeScript transcription of the PyTorch semantics (padding modes incl. short inputs,
 * weight norm, strides/dilation/groups, ELU, Snake, (Bi)LSTM with PyTorch gate order, Euclidean RVQ).
 */
import { assert, assertEquals, assertLessOrEqual, assertStringIncludes, assertThrows } from "@std/assert";
import {
  concatChannels,
  conv1d,
  type ConvWeights,
  elu,
  euclideanRvq,
  foldWeightNorm,
  lstm,
  type LstmDirection,
  Net,
  type PadMode,
  seanetPadding,
  snake,
  timeMajor,
} from "../lib/codecs/nn/layers.ts";
import { createSession, DType, float, GraphBuilder, runSession } from "../lib/formats/onnx.ts";
import { parseTensorMap } from "../lib/formats/safetensors.ts";
import { parseTorchCheckpoint, stateDictOf, unpickle } from "../lib/formats/torch_pickle.ts";
import { Rng } from "../lib/common/random.ts";

const FIX = new URL("./fixtures/codecs/", import.meta.url).pathname;

function randn(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

function close(got: ArrayLike<number>, exp: ArrayLike<number>, tol: number, what: string): void {
  assertEquals(got.length, exp.length, `${what}: length`);
  let m = 0;
  for (let i = 0; i < exp.length; i++) m = Math.max(m, Math.abs(got[i] - exp[i]));
  assertLessOrEqual(m, tol, `${what}: max|Δ| ${m}`);
}

// ---------------------------------------------------------------------------------------------------------
// safetensors

Deno.test("nn: safetensors reads F32/F16/BF16/I64/I32 with shapes", () => {
  const parts: [string, string, number[], Uint8Array][] = [];
  const f32 = new Float32Array([1.5, -2, 3.25, 0]);
  parts.push(["a", "F32", [2, 2], new Uint8Array(f32.buffer)]);
  parts.push(["h", "F16", [3], new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3555]).buffer)]);
  parts.push(["b", "BF16", [2], new Uint8Array(new Uint16Array([0x3fc0, 0xc080]).buffer)]);
  parts.push(["l", "I64", [2], new Uint8Array(new BigInt64Array([7n, -3n]).buffer)]);
  parts.push(["i", "I32", [1], new Uint8Array(new Int32Array([42]).buffer)]);
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let off = 0;
  for (const [n, dt, shape, b] of parts) {
    header[n] = { dtype: dt, shape, data_offsets: [off, off + b.length] };
    off += b.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const hb = new TextEncoder().encode(json);
  const bytes = new Uint8Array(8 + hb.length + off);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(hb.length), true);
  bytes.set(hb, 8);
  let o = 8 + hb.length;
  for (const [, , , b] of parts) (bytes.set(b, o), (o += b.length));
  const m = parseTensorMap(bytes, "test.safetensors");
  assertEquals(Array.from(m.get("a")!.data), [1.5, -2, 3.25, 0]);
  assertEquals(m.get("a")!.shape, [2, 2]);
  close(m.get("h")!.data, [1, -2, 0.333251953125], 0, "f16");
  assertEquals(Array.from(m.get("b")!.data), [1.5, -4]);
  assert(m.get("l")!.data instanceof Int32Array);
  assertEquals(Array.from(m.get("l")!.data), [7, -3]);
  assertEquals(Array.from(m.get("i")!.data), [42]);
  assertThrows(() => parseTensorMap(bytes.subarray(0, 40), "cut.safetensors"), Error, "cut.safetensors");
});

// ---------------------------------------------------------------------------------------------------------
// PyTorch checkpoints

Deno.test("nn: torch.save state dicts (zip and legacy; f32/f16/bf16/int64, strided views, Parameter, nested dict) read exactly", async () => {
  const ref = JSON.parse(await Deno.readTextFile(`${FIX}state_dict.json`)) as Record<
    string,
    { shape: number[]; values: number[] }
  >;
  const sd = stateDictOf(parseTorchCheckpoint(await Deno.readFile(`${FIX}state_dict.pt`), "state_dict.pt"));
  assertEquals([...sd.keys()], Object.keys(ref));
  for (const [k, r] of Object.entries(ref)) {
    assertEquals(sd.get(k)!.shape, r.shape, k);
    close(sd.get(k)!.data, r.values, 0, k);
  }
  assertEquals(sd.get("i")!.dtype, "I64");
  assertEquals(sd.get("bf")!.dtype, "BF16");
  const nested = parseTorchCheckpoint(await Deno.readFile(`${FIX}nested.pth`), "nested.pth") as Map<
    string,
    unknown
  >;
  const kwargs = (nested.get("metadata") as Map<string, unknown>).get("kwargs") as Map<string, unknown>;
  assertEquals([...kwargs.entries()], [["a", 1], ["b", [1.5, "x"]], ["c", null]]);
  assertEquals([...stateDictOf(nested, "nested.pth").keys()], Object.keys(ref));
  // The legacy (pre-1.6, non-zip) format of the same state dict.
  const legacy = stateDictOf(
    parseTorchCheckpoint(await Deno.readFile(`${FIX}state_dict_legacy.pt`), "legacy.pt"),
  );
  for (const [k, r] of Object.entries(ref)) {
    assertEquals(legacy.get(k)!.shape, r.shape, k);
    close(legacy.get(k)!.data, r.values, 0, `legacy ${k}`);
  }
});

Deno.test("nn: hostile checkpoints are refused without running anything", async () => {
  const marker = "/tmp/nac_sae_pwned";
  await Deno.remove(marker).catch(() => {});
  // A torch.save file whose pickle calls os.system (posix.system) through __reduce__.
  const err = assertThrows(() => parseTorchCheckpoint(Deno.readFileSync(`${FIX}hostile.pt`), "hostile.pt"));
  assertStringIncludes(err.message, "hostile.pt: refusing to load global 'posix.system'");
  const legacy = assertThrows(() =>
    parseTorchCheckpoint(Deno.readFileSync(`${FIX}hostile_legacy.pt`), "old.pt")
  );
  assertStringIncludes(legacy.message, "old.pt: refusing to load global 'posix.system'");
  // Hand-written pickles: protocol 0 GLOBAL, protocol 4 STACK_GLOBAL, builtins.eval, and object-building opcodes.
  const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  const pid = () => {
    throw new Error("no storages");
  };
  const cases: [string, string][] = [
    ["cos\nsystem\n(S'touch /tmp/nac_sae_pwned'\ntR.", "os.system"],
    ["\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x011\x85R.", "builtins.eval"],
    ["\x80\x02csubprocess\nPopen\nq\x00.", "subprocess.Popen"],
    ["(i__builtin__\nobject\n.", "opcode 0x69"],
    ["\x80\x02ccollections\nOrderedDict\n)\x81.", "opcode 0x81"],
  ];
  for (const [p, expect] of cases) {
    const e = assertThrows(() => unpickle(enc(p), pid, "evil.pkl"));
    assertStringIncludes(e.message, expect);
  }
  assertThrows(() => parseTorchCheckpoint(enc("\x80\x02}q\x00."), "bad.pt"), Error, "bad magic number");
  assert(!(await Deno.stat(marker).then(() => true, () => false)), "the hostile pickle ran code");
});

// ---------------------------------------------------------------------------------------------------------
// ONNX writer

Deno.test("nn: GraphBuilder writes a valid model (symbolic dims, float/int/string attributes, int64 initializers)", async () => {
  const g = new GraphBuilder("t");
  const x = g.input("x", [1, 2, "T"]);
  const p = g.op("Pad", [x, g.ints([0, 0, 2, 0, 0, 1])], { mode: "reflect" });
  const y = g.op("LeakyRelu", [p], { alpha: float(0.5) });
  g.output(y, "y");
  g.output(g.op("Shape", [y]), "shape", [3], DType.INT64);
  const s = await createSession(g.toBytes(), { threads: 1 });
  const r = await runSession(s, { x: { data: new Float32Array([1, -2, 3, 4, 5, -6]), dims: [1, 2, 3] } });
  assertEquals(r.y.dims, [1, 2, 6]);
  assertEquals(Array.from(r.y.data as Float32Array), [3, -1, 1, -1, 3, -1, -3, 5, 4, 5, -3, 5]);
  assertEquals(Array.from(r.shape.data as BigInt64Array), [1n, 2n, 6n]);
  assertThrows(() => g.input("x", [1]), Error, "used twice");
  await s.release();
});

// ---------------------------------------------------------------------------------------------------------
// Layers against PyTorch semantics written out in TypeScript

/** torch F.pad 1-D on one channel row; reflect follows SConv1d's pad1d (zero-extend short inputs first). */
function refPad(x: Float32Array, left: number, right: number, mode: PadMode): Float32Array {
  if (mode === "reflect") {
    const maxPad = Math.max(left, right);
    let extra = 0;
    let src = x;
    if (x.length <= maxPad) {
      extra = maxPad - x.length + 1;
      src = new Float32Array(x.length + extra);
      src.set(x);
    }
    const L = src.length;
    const out = new Float32Array(L + left + right);
    for (let i = 0; i < out.length; i++) {
      let j = i - left;
      if (j < 0) j = -j;
      if (j >= L) j = 2 * (L - 1) - j;
      out[i] = src[j];
    }
    return out.subarray(0, out.length - extra);
  }
  const out = new Float32Array(x.length + left + right);
  for (let i = 0; i < out.length; i++) {
    const j = i - left;
    out[i] = j >= 0 && j < x.length ? x[j] : mode === "edge" ? x[Math.min(Math.max(j, 0), x.length - 1)] : 0;
  }
  return out;
}

/** torch conv1d on [C, L] rows. */
function refConv(
  x: Float32Array[],
  w: ConvWeights,
  stride: number,
  dilation: number,
  groups: number,
): Float32Array[] {
  const [out, inPg, k] = w.shape;
  const L = x[0].length;
  const T = Math.floor((L - (k - 1) * dilation - 1) / stride) + 1;
  const outPg = out / groups;
  return Array.from({ length: out }, (_, o) => {
    const y = new Float32Array(T);
    const g = Math.floor(o / outPg);
    for (let t = 0; t < T; t++) {
      let s = w.bias ? w.bias[o] : 0;
      for (let c = 0; c < inPg; c++) {
        for (let j = 0; j < k; j++) {
          s += w.weight[(o * inPg + c) * k + j] * x[g * inPg + c][t * stride + j * dilation];
        }
      }
      y[t] = s;
    }
    return y;
  });
}

async function runNet(
  net: Net,
  out: string,
  audio: Float32Array,
): Promise<{ data: Float32Array; dims: number[] }> {
  net.g.output(out, "out");
  const feeds = net.feeds(audio);
  const s = await createSession(net.finish(), { threads: 1 });
  const r = await runSession(s, feeds);
  await s.release();
  return { data: r.out.data as Float32Array, dims: r.out.dims };
}

Deno.test("nn: conv1d with SEANet padding (causal/non-causal, reflect/zero/edge, stride, dilation, groups, short inputs)", async () => {
  const rng = new Rng(7);
  const cases = [
    { k: 7, s: 1, d: 1, causal: true, mode: "reflect" as PadMode, groups: 1 },
    { k: 10, s: 5, d: 1, causal: true, mode: "reflect" as PadMode, groups: 1 },
    { k: 3, s: 1, d: 3, causal: false, mode: "reflect" as PadMode, groups: 1 },
    { k: 16, s: 8, d: 1, causal: false, mode: "reflect" as PadMode, groups: 1 },
    { k: 4, s: 2, d: 1, causal: true, mode: "edge" as PadMode, groups: 1 },
    { k: 7, s: 1, d: 2, causal: true, mode: "constant" as PadMode, groups: 3 },
  ];
  for (const c of cases) {
    const cin = 3;
    const cout = 6;
    const v = randn(rng, cout * (cin / c.groups) * c.k);
    const gain = Float32Array.from({ length: cout }, () => 0.5 + rng.next());
    const w: ConvWeights = {
      weight: foldWeightNorm(gain, v, [cout, cin / c.groups, c.k]),
      shape: [cout, cin / c.groups, c.k],
      bias: randn(rng, cout),
    };
    for (const L of [1, 2, 5, 17, 64, 333]) {
      const net = new Net();
      const a = net.audio();
      // lift the single audio channel to cin channels with a fixed 1×1 conv, then the conv under test
      const lift: ConvWeights = { weight: Float32Array.from([1, -0.5, 0.25]), shape: [3, 1, 1] };
      const h = conv1d(net, a, lift);
      const padding = seanetPadding({
        kernel: c.k,
        stride: c.s,
        dilation: c.d,
        causal: c.causal,
        mode: c.mode,
      });
      const y = conv1d(net, h, w, { stride: c.s, dilation: c.d, groups: c.groups, padding });
      const audio = randn(rng, L);
      const got = await runNet(net, y.name, audio);
      // reference
      const rows = [1, -0.5, 0.25].map((m) => audio.map((x) => x * m));
      const left = typeof padding.left === "number" ? padding.left : padding.left(L);
      const right = typeof padding.right === "number" ? padding.right : padding.right(L);
      const exp = refConv(rows.map((r) => refPad(r, left, right, c.mode)), w, c.s, c.d, c.groups);
      assertEquals(got.dims, [1, cout, exp[0].length], `${JSON.stringify(c)} L=${L}`);
      assertEquals(y.len(L), exp[0].length);
      const flat = new Float32Array(cout * exp[0].length);
      exp.forEach((r, o) => flat.set(r, o * exp[0].length));
      close(got.data, flat, 1e-4, `${JSON.stringify(c)} L=${L}`);
    }
  }
});

Deno.test("nn: weight norm folds g·v/‖v‖ per output row", () => {
  const w = foldWeightNorm(new Float32Array([2, 1]), new Float32Array([3, 4, 0, 0, 1, 0]), [2, 3, 1]);
  close(w, [1.2, 1.6, 0, 0, 1, 0], 1e-7, "fold");
});

function sigmoid(x: number) {
  return 1 / (1 + Math.exp(-x));
}

/** torch.nn.LSTM, one direction, gates i,f,g,o; x: T × in. */
function refLstmDir(x: Float32Array[], d: LstmDirection, H: number, reverse: boolean): Float32Array[] {
  const T = x.length;
  const inSize = x[0].length;
  let h = new Float32Array(H);
  let c = new Float32Array(H);
  const out: Float32Array[] = new Array(T);
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const gates = new Float64Array(4 * H);
    for (let r = 0; r < 4 * H; r++) {
      let v = d.bIh[r] + d.bHh[r];
      for (let j = 0; j < inSize; j++) v += d.wIh[r * inSize + j] * x[t][j];
      for (let j = 0; j < H; j++) v += d.wHh[r * H + j] * h[j];
      gates[r] = v;
    }
    const nh = new Float32Array(H);
    const nc = new Float32Array(H);
    for (let j = 0; j < H; j++) {
      const i = sigmoid(gates[j]),
        f = sigmoid(gates[H + j]),
        g = Math.tanh(gates[2 * H + j]),
        o = sigmoid(gates[3 * H + j]);
      nc[j] = f * c[j] + i * g;
      nh[j] = o * Math.tanh(nc[j]);
    }
    h = nh;
    c = nc;
    out[t] = h;
  }
  return out;
}

Deno.test("nn: LSTM and BiLSTM (2 layers) match torch.nn.LSTM semantics; SEANet skips", async () => {
  const rng = new Rng(11);
  const C = 4;
  const H = 4;
  for (const bidirectional of [false, true]) {
    const nd = bidirectional ? 2 : 1;
    const weights: LstmDirection[][] = [0, 1].map((l) =>
      Array.from({ length: nd }, () => ({
        wIh: randn(rng, 4 * H * (l === 0 ? C : nd * H), 0.5),
        wHh: randn(rng, 4 * H * H, 0.5),
        bIh: randn(rng, 4 * H, 0.3),
        bHh: randn(rng, 4 * H, 0.3),
      }))
    );
    const net = new Net();
    const lift: ConvWeights = { weight: Float32Array.from([1, -1, 0.5, 2]), shape: [C, 1, 1] };
    const x = conv1d(net, net.audio(), lift);
    const y = lstm(net, x, weights, H);
    const skip = bidirectional ? concatChannels(net, [x, x]) : x;
    const out = net.g.op("Add", [y.name, skip.name]);
    const audio = randn(rng, 9);
    const got = await runNet(net, out, audio);
    // reference
    let seq = Array.from(audio, (a) => Float32Array.from([1, -1, 0.5, 2], (m) => a * m));
    const inputSeq = seq;
    for (const dirs of weights) {
      const outs = dirs.map((d, i) => refLstmDir(seq, d, H, i === 1));
      seq = seq.map((_, t) => {
        const r = new Float32Array(nd * H);
        outs.forEach((o, i) => r.set(o[t], i * H));
        return r;
      });
    }
    const T = audio.length;
    const exp = new Float32Array(nd * H * T);
    for (let t = 0; t < T; t++) {
      for (let ch = 0; ch < nd * H; ch++) exp[ch * T + t] = seq[t][ch] + inputSeq[t][ch % C];
    }
    assertEquals(got.dims, [1, nd * H, T]);
    close(got.data, exp, 1e-5, bidirectional ? "BiLSTM" : "LSTM");
  }
});

Deno.test("nn: ELU and Snake", async () => {
  const rng = new Rng(3);
  const alpha = Float32Array.from([0.5, 1.7]);
  const net = new Net();
  const x = conv1d(net, net.audio(), { weight: Float32Array.from([1, 2]), shape: [2, 1, 1] });
  const y = snake(net, elu(net, x), alpha);
  const audio = randn(rng, 20, 2);
  const got = await runNet(net, y.name, audio);
  const exp = new Float32Array(40);
  for (let c = 0; c < 2; c++) {
    for (let t = 0; t < 20; t++) {
      const v = audio[t] * (c + 1);
      const e = v > 0 ? v : Math.expm1(v);
      exp[c * 20 + t] = e + (1 / (alpha[c] + 1e-9)) * Math.sin(alpha[c] * e) ** 2;
    }
  }
  close(got.data, exp, 1e-5, "elu+snake");
});

Deno.test("nn: Euclidean RVQ picks the nearest code per stage and sums the codewords", async () => {
  const rng = new Rng(5);
  const D = 6;
  const K = 16;
  const books = [randn(rng, K * D), randn(rng, K * D, 0.5), randn(rng, K * D, 0.25)];
  const net = new Net();
  const lift: ConvWeights = { weight: randn(rng, D), shape: [D, 1, 1], bias: randn(rng, D) };
  const x = conv1d(net, net.audio(), lift);
  const tm = timeMajor(net, x);
  const { codes, ehat } = euclideanRvq(net, tm, books, D);
  net.g.output(codes, "codes", undefined, DType.INT64);
  const audio = randn(rng, 30);
  const got = await runNet(net, ehat, audio);
  const T = audio.length;
  const exp = new Float32Array(T * D);
  for (let t = 0; t < T; t++) {
    const r = Float32Array.from({ length: D }, (_, d) => audio[t] * lift.weight[d] + lift.bias![d]);
    for (const E of books) {
      let best = 0;
      let bestD = Infinity;
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += (r[d] - E[k * D + d]) ** 2;
        if (s < bestD) (bestD = s), (best = k);
      }
      for (let d = 0; d < D; d++) {
        r[d] -= E[best * D + d];
        exp[t * D + d] += E[best * D + d];
      }
    }
  }
  close(got.data, exp, 1e-5, "rvq ê");
});
