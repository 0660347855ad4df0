"""PyTorch TopK SAE trainer with the reference's math (checks/ref/sae_ref.py: plain autograd, Adam(lr, eps=6.25e-10),
decoder-gradient projection, decoder renormalisation, metrics on training batches before each step), started from
OUR initial weights and OUR batch orders, so the project's engine can be compared step for step (parity test) and
side by side (benchmark). Run with Debian's python3-torch:

    /usr/bin/python3 bench/sae_torch.py --input X.npy --init CKPT_DIR --perms P.npy \
        [--steps 50] [--threads 2] --out result.json [--weights-out final.safetensors]

CKPT_DIR is a checkpoint written by `deno task cli sae train ... --epochs 0` (model.safetensors: W_enc d_z x d,
W_dec d x d_z, b_pre d; config JSON in the metadata gives k, batch size, lr, eps). P.npy is an int32 array
(epochs x N) of per-epoch sample orders (bench/sae_perms.ts). The last stdout line is a JSON summary; --out
gets the summary plus per-step losses and per-epoch records; --weights-out the final W_enc, W_dec, b_pre (float32
safetensors, the checkpoint's layout), for the weight-level parity fixtures (tools/make_parity_fixtures.ts).
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np


def set_threads(n):
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    import torch
    torch.set_num_threads(n)
    try:  # Debian's torch calls the pthread OpenBLAS for matmuls: limit that pool too
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=n)
    except ImportError:
        pass


def read_safetensors(path):
    """Minimal independent reader (8-byte LE header length, JSON header, raw LE data)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    dtypes = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dtypes[e["dtype"]]).reshape(e["shape"]).copy()
    return out, meta


def write_safetensors(path, tensors):
    """Minimal writer: float32 tensors, JSON header padded to 8 bytes."""
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", required=True)
    ap.add_argument("--init", required=True, help="checkpoint dir (or model.safetensors) with the initial weights")
    ap.add_argument("--perms", required=True, help="int32 .npy, epochs x N sample orders")
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: all epochs in --perms)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out")
    ap.add_argument("--weights-out", help="write the final weights here (float32 safetensors)")
    args = ap.parse_args()
    set_threads(args.threads)
    import torch

    path = args.init if args.init.endswith(".safetensors") else os.path.join(args.init, "model.safetensors")
    tensors, meta = read_safetensors(path)
    cfg = json.loads(meta["config"])
    # Checkpoint metadata is snake_case from format 2 on (camelCase in format 1).
    pick = lambda snake, camel: cfg[snake] if snake in cfg else cfg[camel]
    k, batch, lr, eps = cfg["k"], pick("batch_size", "batchSize"), cfg["lr"], pick("adam_eps", "adamEps")
    aux = cfg.get("aux_k", cfg.get("auxK"))  # optional AuxK (lib/sae/config.ts): k_aux, coef, dead_samples
    pick_aux = lambda snake, camel: aux[snake] if snake in aux else aux[camel]
    X = torch.from_numpy(np.ascontiguousarray(np.load(args.input), dtype=np.float32))
    perms = torch.from_numpy(np.load(args.perms).astype(np.int64))
    n, d = X.shape
    W_enc = torch.nn.Parameter(torch.from_numpy(tensors["W_enc"]))
    W_dec = torch.nn.Parameter(torch.from_numpy(tensors["W_dec"]))
    b_pre = torch.nn.Parameter(torch.from_numpy(tensors["b_pre"]))
    d_z = W_enc.shape[0]
    opt = torch.optim.Adam([W_enc, W_dec, b_pre], lr=lr, eps=eps)
    sst = float(((X.double() - X.double().mean(0)) ** 2).sum())

    since = torch.zeros(d_z, dtype=torch.float64)  # AuxK: samples since each latent last fired
    losses, epochs, step = [], [], 0
    t_train = time.perf_counter()
    for ep in range(perms.shape[0]):
        t0 = time.perf_counter()
        perm = perms[ep]
        sse, l0, active, seen = 0.0, 0, torch.zeros(d_z, dtype=torch.bool), 0
        for i in range(0, n, batch):
            if args.steps and step >= args.steps:
                break
            u = X[perm[i:i + batch]]
            pre = (u - b_pre) @ W_enc.t()
            vals, idx = pre.topk(k, dim=1, sorted=False)
            vals = torch.relu(vals)
            z = torch.zeros_like(pre).scatter(1, idx, vals)
            u_hat = z @ W_dec.t() + b_pre
            loss = torch.nn.functional.mse_loss(u_hat, u)
            total = loss
            if aux:
                # AuxK: top-kAux pre-activations among dead latents reconstruct the detached residual.
                dead_bias = torch.where(since >= pick_aux("dead_samples", "deadSamples"), 0.0, -1e30).float()
                a_vals, a_idx = (pre + dead_bias).topk(pick_aux("k_aux", "kAux"), dim=1, sorted=False)
                z_aux = torch.zeros_like(pre).scatter(1, a_idx, torch.relu(a_vals))
                e = (u - u_hat).detach()
                e_hat = z_aux @ W_dec.t()
                den = ((e + b_pre.detach()) ** 2).sum(1)
                total = loss + aux["coef"] * (((e_hat - e) ** 2).sum(1) / den).mean()
            opt.zero_grad(set_to_none=True)
            total.backward()
            with torch.no_grad():
                g, w = W_dec.grad, W_dec.data
                g -= (g * w).sum(0, keepdim=True) * w
                opt.step()
                W_dec.data /= W_dec.data.norm(dim=0, keepdim=True)
                lv = loss.item()
                losses.append(lv)
                sse += lv * u.shape[0] * d
                on = vals > 0
                l0 += int(on.sum())
                active[idx[on]] = True
                seen += u.shape[0]
                if aux:
                    since += u.shape[0]
                    since[idx[on]] = 0
            step += 1
        wall = time.perf_counter() - t0
        if seen:
            epochs.append({"epoch": ep + 1, "loss": sse / (seen * d), "nmse": sse / sst, "l0": l0 / seen,
                           "dead": int(d_z - active.sum()), "samples_per_s": seen / wall, "wall_s": wall})
        if args.steps and step >= args.steps:
            break
    train_s = time.perf_counter() - t_train
    samples = sum(e["samples_per_s"] * e["wall_s"] for e in epochs)
    last = epochs[-1] if epochs else {}
    summary = {"n": n, "d": d, "d_z": d_z, "k": k, "steps": step, "epochs": len(epochs),
               "final_loss": last.get("loss"), "final_nmse": last.get("nmse"), "final_l0": last.get("l0"),
               "final_dead": last.get("dead"), "samples_per_s": samples / train_s if train_s else None,
               "train_s": train_s, "threads": args.threads, "torch": torch.__version__}
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"summary": summary, "losses": losses, "epochs": epochs}, f)
    if args.weights_out:
        write_safetensors(args.weights_out, {"W_enc": W_enc.detach().numpy(), "W_dec": W_dec.detach().numpy(),
                                             "b_pre": b_pre.detach().numpy()})
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    sys.exit(main())
