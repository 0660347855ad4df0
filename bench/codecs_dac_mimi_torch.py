"""PyTorch CPU reference timing for bench/codecs_dac_mimi.ts: the DAC 24 kHz and Mimi encoder + quantizer
architectures at official size, written with the same torch ops as the official code (DAC: weight_norm Conv1d with
symmetric padding, the TorchScript Snake, factorised RVQ with F.normalize distances; Mimi: causal Conv1d with left
padding, ELU, pre-norm transformer with interleaved RoPE and a sliding-window mask, replicate-padded stride-2 conv,
split RVQ via torch.cdist + argmin and decode), random weights. ê for 3 s of audio, float32, eval, no_grad.

usage: codecs_dac_mimi_torch.py {dac|mimi} N_Q THREADS REPEATS WARMUP  -> last line JSON {median, min} ms
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import weight_norm


# ----- DAC (descript-audio-codec dac/nn/layers.py, dac/model/dac.py, dac/nn/quantize.py) -----

@torch.jit.script
def snake(x, alpha):
    shape = x.shape
    x = x.reshape(shape[0], shape[1], -1)
    x = x + (alpha + 1e-9).reciprocal() * torch.sin(alpha * x).pow(2)
    return x.reshape(shape)


class Snake1d(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.alpha = nn.Parameter(torch.empty(1, c, 1).uniform_(0.3, 2.0))

    def forward(self, x):
        return snake(x, self.alpha)


def wn(cin, cout, k, **kw):
    return weight_norm(nn.Conv1d(cin, cout, k, **kw))


class RU(nn.Module):
    def __init__(self, c, d):
        super().__init__()
        self.block = nn.Sequential(Snake1d(c), wn(c, c, 7, dilation=d, padding=3 * d), Snake1d(c), wn(c, c, 1))

    def forward(self, x):
        return x + self.block(x)


class DacEncoder(nn.Module):
    def __init__(self, dim=64, rates=(2, 4, 5, 8), latent=1024):
        super().__init__()
        layers = [wn(1, dim, 7, padding=3)]
        for s in rates:
            layers += [RU(dim, 1), RU(dim, 3), RU(dim, 9), Snake1d(dim),
                       wn(dim, 2 * dim, 2 * s, stride=s, padding=math.ceil(s / 2))]
            dim *= 2
        layers += [Snake1d(dim), wn(dim, latent, 3, padding=1)]
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        return self.block(x)


class DacVQ(nn.Module):
    def __init__(self, d=1024, cd=8, k=1024):
        super().__init__()
        self.in_proj, self.out_proj = wn(d, cd, 1), wn(cd, d, 1)
        self.codebook = nn.Embedding(k, cd)

    def forward(self, z):
        z_e = self.in_proj(z)
        enc = F.normalize(z_e.transpose(1, 2).reshape(-1, z_e.shape[1]))
        cb = F.normalize(self.codebook.weight)
        dist = enc.pow(2).sum(1, keepdim=True) - 2 * enc @ cb.t() + cb.pow(2).sum(1, keepdim=True).t()
        idx = (-dist).max(1)[1].reshape(z.shape[0], -1)
        z_q = self.codebook(idx).transpose(1, 2)
        z_q = z_e + (z_q - z_e)
        return self.out_proj(z_q), idx


class Dac(nn.Module):
    def __init__(self, n_q):
        super().__init__()
        self.encoder = DacEncoder()
        self.quantizers = nn.ModuleList([DacVQ() for _ in range(32)])
        self.n_q = n_q

    def forward(self, audio):
        x = F.pad(audio, (0, math.ceil(audio.shape[-1] / 320) * 320 - audio.shape[-1]))
        r = self.encoder(x)
        z = 0
        for q in self.quantizers[: self.n_q]:
            out, _ = q(r)
            z = z + out
            r = r - out
        return z


# ----- Mimi (moshi modules/seanet.py, conv.py, transformer.py, rope.py, quantization/*) -----

class CConv(nn.Module):
    def __init__(self, cin, cout, k, stride=1, bias=True, mode="constant"):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, k, stride, bias=bias)
        self.pad, self.mode = k - stride, mode

    def forward(self, x):
        return self.conv(F.pad(x, (self.pad, 0), mode=self.mode))


class Res(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.block = nn.Sequential(nn.ELU(), CConv(c, c // 2, 3), nn.ELU(), CConv(c // 2, c, 1))

    def forward(self, x):
        return x + self.block(x)


def rope(q, k, max_period=10000.0):
    B, H, T, D = q.shape
    ds = torch.arange(D // 2, dtype=torch.float32)
    freqs = torch.exp(ds * (-math.log(max_period) * 2 / D))
    ts = torch.arange(T, dtype=torch.float32).view(-1, 1)
    rotr, roti = torch.cos(freqs * ts), torch.sin(freqs * ts)
    out = []
    for x in (q, k):
        x = x.view(B, H, T, D // 2, 2)
        xr, xi = x[..., 0], x[..., 1]
        out.append(torch.stack([xr * rotr - xi * roti, xr * roti + xi * rotr], dim=-1).view(B, H, T, D))
    return out


class Layer(nn.Module):
    def __init__(self, d=512, h=8, ff=2048, context=250):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d, eps=1e-5), nn.LayerNorm(d, eps=1e-5)
        self.in_proj = nn.Linear(d, 3 * d, bias=False)
        self.out_proj = nn.Linear(d, d, bias=False)
        self.linear1, self.linear2 = nn.Linear(d, ff, bias=False), nn.Linear(ff, d, bias=False)
        self.ls1, self.ls2 = nn.Parameter(torch.full((d,), 0.01)), nn.Parameter(torch.full((d,), 0.01))
        self.h, self.context = h, context

    def forward(self, x):
        B, T, C = x.shape
        qkv = self.in_proj(self.norm1(x)).view(B, T, 3, self.h, C // self.h).permute(2, 0, 3, 1, 4)
        q, k = rope(qkv[0], qkv[1])
        pos = torch.arange(T)
        delta = pos.view(-1, 1) - pos.view(1, -1)
        mask = (delta >= 0) & (delta < self.context)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(C // self.h)
        att = torch.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)
        y = (att @ qkv[2]).transpose(1, 2).reshape(B, T, C)
        x = x + self.ls1 * self.out_proj(y)
        return x + self.ls2 * self.linear2(F.gelu(self.linear1(self.norm2(x))))


class Rvq(nn.Module):
    def __init__(self, levels, d=512, cd=256, bins=2048):
        super().__init__()
        self.input_proj = nn.Conv1d(d, cd, 1, bias=False)
        self.output_proj = nn.Conv1d(cd, d, 1, bias=False)
        self.books = [torch.randn(bins, cd) for _ in range(levels)]

    def forward(self, latent):
        r = self.input_proj(latent).transpose(1, 2).reshape(-1, self.input_proj.out_channels)
        codes = []
        for E in self.books:
            c = torch.cdist(r[None], E[None], p=2)[0].argmin(-1)
            codes.append(c)
            r = r - F.embedding(c, E)
        q = torch.tensor(0.0)
        for E, c in zip(self.books, codes):
            q = q + F.embedding(c, E)
        return self.output_proj(q.view(latent.shape[0], -1, q.shape[-1]).transpose(1, 2))


class Mimi(nn.Module):
    def __init__(self, n_q):
        super().__init__()
        layers, c = [CConv(1, 64, 7)], 64
        for r in (4, 5, 6, 8):
            layers += [Res(c), nn.ELU(), CConv(c, 2 * c, 2 * r, stride=r)]
            c *= 2
        layers += [nn.ELU(), CConv(c, 512, 3)]
        self.encoder = nn.Sequential(*layers)
        self.layers = nn.ModuleList([Layer() for _ in range(8)])
        self.downsample = CConv(512, 512, 4, stride=2, bias=False, mode="replicate")
        self.first, self.rest = Rvq(1), Rvq(n_q - 1)

    def forward(self, audio):
        x = F.pad(audio, (0, math.ceil(audio.shape[-1] / 1920) * 1920 - audio.shape[-1]))
        h = self.encoder(x).transpose(1, 2)
        for layer in self.layers:
            h = layer(h)
        latent = self.downsample(h.transpose(1, 2))
        return self.first(latent) + self.rest(latent)


def main():
    codec, n_q, threads, repeats, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = (Dac(n_q) if codec == "dac" else Mimi(n_q)).eval()
    i = torch.arange(72000, dtype=torch.float32)
    audio = (0.3 * torch.sin(i * 0.05) * torch.sin(i * 0.0013) + 0.01 * torch.sin(i * 1.7)).view(1, 1, -1)
    ms = []
    with torch.no_grad():
        for _ in range(warmup):
            model(audio)
        for _ in range(repeats):
            t0 = time.perf_counter()
            e = model(audio)
            ms.append((time.perf_counter() - t0) * 1000)
    assert e.shape == ((1, 1024, 225) if codec == "dac" else (1, 512, 38)), e.shape
    ms.sort()
    print(json.dumps({"median": ms[len(ms) // 2], "min": ms[0]}))


if __name__ == "__main__":
    main()
