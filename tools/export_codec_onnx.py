#!/usr/bin/env python3
"""Export a PyTorch codec's ê path to ONNX for nac-sae, with the JSON sidecar that registers it.

nac-sae runs any codec exported as  audio float32 (1, 1, samples) -> ê float32 (1, T, d), where ê is the
*dequantized* representation (codes mapped back through the codebooks). Put `<name>.onnx` and `<name>.json`
in your models directory (`--models DIR` or NAC_SAE_MODELS) and the sidecar's id works everywhere:

    deno task cli codecs --models DIR
    deno task cli extract --codec ID --audio x.wav --frames --out e.npy --models DIR

Your side: a factory `module:function` returning an nn.Module whose forward(audio) returns ê (1, T, d); for a
typical codec that is `decode(encode(encoder(audio)))` of its residual VQ, transposed from (1, d, T). Example:

    class EHat(torch.nn.Module):
        def __init__(self, codec, n_q):
            super().__init__(); self.codec, self.n_q = codec, n_q
        def forward(self, audio):                       # (1, 1, samples), samples a multiple of the hop
            e = self.codec.encoder(audio)               # (1, d, T)
            codes = self.codec.quantizer.encode(e, n_q=self.n_q)
            return self.codec.quantizer.decode(codes).transpose(1, 2)   # (1, T, d)

    python3 tools/export_codec_onnx.py --factory mycodec_export:build --id mycodec-6kbps \\
        --sample-rate 24000 --hop 320 --d 128 --bitrate-kbps 6 --source "my/codec v1, MIT" --out models/mycodec.onnx

The two traps of tracing exports, and what this script does about them:
 1. The traced audio length gets baked into the graph. `torch.onnx.export` records operations, not Python:
    any Python arithmetic on tensor shapes (`n = x.shape[-1]; pad = (hop - n % hop) % hop`, `math.ceil(...)`,
    "extra padding" helpers, `.view(*shape)` / `.reshape(b, c, t)` with ints read from `.shape`) becomes a
    constant of the traced length. Avoid it: the adapter already zero-pads audio to a multiple of the hop
    (so drop such padding helpers), use `.flatten`, `.transpose`, `.reshape(1, -1, d)` with -1 for time, and
    mark the samples axis dynamic (done here).
 2. A graph that only works at the traced length passes any check at that length. So the export is verified
    against PyTorch eager on at least two *other* lengths (not multiples of the traced one, one shorter and one
    longer): first the traced TorchScript in Python, then the ONNX file through nac-sae's own adapter (Deno
    + onnxruntime), which must match within --tolerance.

`--demo` exports a tiny stand-in codec (Conv1d with stride = hop, then a 2-level residual VQ) with seeded
weights; the project uses it for its tests (tests/fixtures/onnx/ is generated with `--demo --refs`).
`--demo-trap` builds the same model with a shape-arithmetic padding helper, to show the verification failing.
"""
import argparse
import importlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F


class TinyCodec(torch.nn.Module):
    """Stand-in codec: encoder Conv1d(1, d, hop, stride=hop) -> residual VQ (n_q codebooks of k entries)."""

    def __init__(self, hop=40, d=8, n_q=2, k=16, trap=False):
        super().__init__()
        self.hop, self.trap = hop, trap
        self.encoder = torch.nn.Conv1d(1, d, kernel_size=hop, stride=hop)
        self.codebooks = torch.nn.Parameter(torch.randn(n_q, k, d))

    def forward(self, audio):
        e = self.encoder(audio)  # (1, d, T)
        if self.trap:
            # The trap: Python arithmetic on a traced shape (as in "extra padding" helpers). math.ceil runs
            # once, at the traced length, and the frame count is frozen into the graph as a constant.
            frames = math.ceil(audio.shape[-1] / self.hop)
            e = e[:, :, :frames]
        e = e.transpose(1, 2)  # (1, T, d)
        residual, out = e, torch.zeros_like(e)
        for q in range(self.codebooks.shape[0]):
            cb = self.codebooks[q]  # (k, d)
            dist = (residual.unsqueeze(2) - cb).pow(2).sum(-1)  # (1, T, k)
            chosen = F.embedding(dist.argmin(-1), cb)  # (1, T, d)
            out, residual = out + chosen, residual - chosen
        return out


def load_factory(spec):
    mod_name, _, fn_name = spec.partition(":")
    if not fn_name:
        sys.exit(f"--factory must look like module:function, got {spec!r}")
    sys.path.insert(0, os.getcwd())
    return getattr(importlib.import_module(mod_name), fn_name)


def verify_lengths(traced, hop):
    """Two lengths other than the traced one (not multiples of it): shorter and longer, ragged."""
    short = max(hop + 1, traced // 2 - hop // 3)
    long = 2 * traced + hop + hop // 2 + 1
    return [n for n in (short, long) if n != traced]


def padded(x, hop):
    n = x.shape[-1]
    return F.pad(x, (0, (-n) % hop))  # eager-only helper: the adapter pads the same way before the graph


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--factory", help="module:function returning the ê-path nn.Module")
    ap.add_argument("--demo", action="store_true", help="export the tiny stand-in codec instead")
    ap.add_argument("--demo-trap", action="store_true", help="the stand-in with a shape-arithmetic trap")
    ap.add_argument("--id", help="codec id for the sidecar")
    ap.add_argument("--sample-rate", type=int)
    ap.add_argument("--hop", type=int, help="samples per ê frame")
    ap.add_argument("--d", type=int, help="dimension of ê")
    ap.add_argument("--bitrate-kbps", type=float)
    ap.add_argument("--source", help="where the weights come from, licence")
    ap.add_argument("--out", required=True, help="output .onnx (the sidecar is written beside it)")
    ap.add_argument("--trace-samples", type=int, help="length traced (default: 25 hops)")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--tolerance", type=float, default=1e-4, help="max |ONNX - PyTorch| allowed")
    ap.add_argument("--refs", help="also keep the verification audio and PyTorch ê here (.npy) as fixtures")
    ap.add_argument("--no-onnx-check", action="store_true", help="skip running the ONNX file through nac-sae")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    if a.demo or a.demo_trap:
        model = TinyCodec(trap=a.demo_trap)
        a.id = a.id or ("tiny-onnx-trap" if a.demo_trap else "tiny-onnx")
        a.sample_rate, a.hop, a.d = a.sample_rate or 16000, model.hop, 8
        a.source = a.source or "nac-sae tools/export_codec_onnx.py --demo (seeded random weights, test stand-in)"
    else:
        missing = [f for f in ("factory", "id", "sample_rate", "hop", "d", "source") if getattr(a, f) is None]
        if missing:
            sys.exit("missing: " + ", ".join("--" + m.replace("_", "-") for m in missing))
        model = load_factory(a.factory)()
    model.eval()
    hop = a.hop
    traced_n = a.trace_samples or 25 * hop
    if traced_n % hop:
        sys.exit(f"--trace-samples must be a multiple of the hop ({hop}): the adapter always feeds whole hops")

    g = torch.Generator().manual_seed(a.seed + 1)
    example = 0.1 * torch.randn(1, 1, traced_n, generator=g)
    with torch.no_grad():
        ref = model(example)
    if ref.dim() != 3 or ref.shape[0] != 1 or ref.shape[2] != a.d:
        sys.exit(f"the model returns shape {tuple(ref.shape)}; expected (1, T, {a.d})")

    # Trap 2, first line of defence: the traced program must agree with eager PyTorch at other lengths.
    lengths = verify_lengths(traced_n, hop)
    checks = [(n, 0.1 * torch.randn(1, 1, n, generator=g)) for n in lengths]
    with torch.no_grad():
        jit = torch.jit.trace(model, example, check_trace=False)
        for n, x in checks:
            want, got = model(padded(x, hop)), None
            try:
                got = jit(padded(x, hop))
            except Exception as e:  # noqa: BLE001 - report any failure as the trap it is
                sys.exit(f"traced model fails at {n} samples (traced at {traced_n}): {e}\n"
                         "The traced length is baked into the graph; see trap 1 in this script's help.")
            if got.shape != want.shape or (got - want).abs().max().item() > a.tolerance:
                sys.exit(f"traced model disagrees with PyTorch at {n} samples (traced at {traced_n}): shapes "
                         f"{tuple(got.shape)} vs {tuple(want.shape)}. The traced length is baked into the graph; "
                         "see trap 1 in this script's help.")

    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(model, example, a.out, input_names=["audio"], output_names=["e_hat"],
                          dynamic_axes={"audio": {2: "samples"}, "e_hat": {1: "frames"}}, opset_version=a.opset)
    sidecar = {"id": a.id, "sample_rate": a.sample_rate, "d": a.d, "hop": hop,
               "frame_rate": a.sample_rate / hop, "min_samples": hop, "source": a.source,
               "input": "audio", "output": "e_hat", "onnx": os.path.basename(a.out)}
    if a.bitrate_kbps is not None:
        sidecar["bitrate_kbps"] = a.bitrate_kbps
    sidecar_path = os.path.splitext(a.out)[0] + ".json"
    with open(sidecar_path, "w") as f:
        json.dump(sidecar, f, indent=2)
        f.write("\n")

    # References: audio at the verification lengths (and the traced one) with PyTorch's ê.
    refs = a.refs or tempfile.mkdtemp(prefix="nac-sae-onnx-")
    os.makedirs(refs, exist_ok=True)
    with torch.no_grad():
        for n, x in [(traced_n, example)] + checks:
            np.save(os.path.join(refs, f"audio_{n}.npy"), x.reshape(-1).numpy().astype(np.float32))
            np.save(os.path.join(refs, f"ehat_{n}.npy"), model(padded(x, hop))[0].numpy().astype(np.float32))
    print(f"wrote {a.out} and {sidecar_path}; references for lengths {[traced_n] + lengths} in {refs}")

    # Trap 2, the real check: the ONNX file through nac-sae's adapter at the other lengths.
    if not a.no_onnx_check:
        deno = shutil.which("deno")
        here = os.path.dirname(os.path.abspath(__file__))
        if deno is None:
            print("warning: deno not found; verify with: deno run -A tools/verify_codec_onnx.ts "
                  f"{sidecar_path} {refs}")
        else:
            r = subprocess.run([deno, "run", "--allow-read", "--allow-env", "--allow-ffi", "--allow-sys",
                                os.path.join(here, "verify_codec_onnx.ts"), sidecar_path, refs,
                                "--tolerance", str(a.tolerance)], cwd=os.path.dirname(here))
            if r.returncode != 0:
                sys.exit("ONNX verification failed (see above); the export is not usable as is")
    if a.refs is None:
        shutil.rmtree(refs, ignore_errors=True)


if __name__ == "__main__":
    main()
