"""PyTorch CPU reference timing for bench/codecs_seanet.ts: the EnCodec 24 kHz / SpeechTokenizer encoder + RVQ
architecture at official size, written with the same torch ops as the official code (weight_norm Conv1d,
SConv1d reflect padding with extra right padding, ELU, nn.LSTM + skip, Euclidean RVQ encode + decode),
random weights. ê for 3 s of audio, float32, eval, no_grad.

usage: codecs_seanet_torch.py {encodec|speechtokenizer} N_Q THREADS REPEATS WARMUP  -> last line JSON {median, min} ms
       REPEATS = 0: serve mode, one timed run per line read from stdin, its time (ms) printed per line, so a
       caller can interleave these runs with its own under the same machine load.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import weight_norm


class SConv1d(nn.Module):
    def __init__(self, cin, cout, k, stride=1, dilation=1, causal=True):
        super().__init__()
        self.conv = weight_norm(nn.Conv1d(cin, cout, k, stride, dilation=dilation))
        self.k, self.s, self.d, self.causal = k, stride, dilation, causal

    def forward(self, x):
        k_eff = (self.k - 1) * self.d + 1
        pad_total = k_eff - self.s
        L = x.shape[-1]
        n_frames = (L - k_eff + pad_total) / self.s + 1
        extra = (math.ceil(n_frames) - 1) * self.s + (k_eff - pad_total) - L
        if self.causal:
            x = F.pad(x, (pad_total, extra), mode="reflect")
        else:
            right = pad_total // 2
            x = F.pad(x, (pad_total - right, right + extra), mode="reflect")
        return self.conv(x)


class ResBlock(nn.Module):
    def __init__(self, c, causal):
        super().__init__()
        self.block = nn.Sequential(nn.ELU(), SConv1d(c, c // 2, 3, causal=causal), nn.ELU(), SConv1d(c // 2, c, 1, causal=causal))
        self.shortcut = SConv1d(c, c, 1, causal=causal)

    def forward(self, x):
        return self.shortcut(x) + self.block(x)


class SLSTM(nn.Module):
    def __init__(self, c, bidirectional):
        super().__init__()
        self.lstm = nn.LSTM(c, c, 2, bidirectional=bidirectional)
        self.bi = bidirectional

    def forward(self, x):
        x = x.permute(2, 0, 1)
        y, _ = self.lstm(x)
        y = y + (torch.cat([x, x], -1) if self.bi else x)
        return y.permute(1, 2, 0)


def encoder(n_filters, dim, causal, bidirectional):
    layers = [SConv1d(1, n_filters, 7, causal=causal)]
    c = n_filters
    for s in [2, 4, 5, 8]:
        layers += [ResBlock(c, causal), nn.ELU(), SConv1d(c, 2 * c, 2 * s, stride=s, causal=causal)]
        c *= 2
    layers += [SLSTM(c, bidirectional), nn.ELU(), SConv1d(c * (2 if bidirectional else 1), dim, 7, causal=causal)]
    return nn.Sequential(*layers)


def rvq_ehat(z, books):
    x = z.transpose(1, 2).reshape(-1, z.shape[1])
    r = x
    codes = []
    for e in books:
        embed = e.t()
        dist = -(r.pow(2).sum(1, keepdim=True) - 2 * r @ embed + embed.pow(2).sum(0, keepdim=True))
        idx = dist.max(dim=-1).indices
        q = F.embedding(idx, e)
        r = r - q
        codes.append(idx)
    out = torch.zeros_like(x)
    for e, idx in zip(books, codes):  # quantizer.decode
        out = out + F.embedding(idx, e)
    return out


def main():
    codec, nq, threads, repeats, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if codec == "encodec":
        enc, sr, dim, bins = encoder(32, 128, True, False), 24000, 128, 1024
    else:
        enc, sr, dim, bins = encoder(64, 1024, False, True), 16000, 1024, 1024
    enc.eval()
    books = [torch.randn(bins, dim) * 0.1 for _ in range(nq)]
    wav = torch.randn(1, 1, 3 * sr) * 0.1
    times = []
    with torch.no_grad():
        for _ in range(warmup):
            rvq_ehat(enc(wav), books)
        if repeats == 0:
            print("ready", flush=True)
            for _ in sys.stdin:
                t0 = time.perf_counter()
                rvq_ehat(enc(wav), books)
                print((time.perf_counter() - t0) * 1000, flush=True)
            return
        for _ in range(repeats):
            t0 = time.perf_counter()
            rvq_ehat(enc(wav), books)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(json.dumps({"median": times[len(times) // 2], "min": times[0]}))


main()
