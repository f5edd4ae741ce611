#!/usr/bin/env python3
"""PyTorch reference figures for `make bench`: the same workloads as
Sources/Experiments/Bench.swift, on the same CPU, medians after warm-up.
Prints one JSON object {workload name: value}; names must match the Swift side."""
import argparse, json, statistics, time

import torch


def timed(fn, warmup=2, repeats=7):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    out = {}
    for n in (256, 512, 1024, 2048):
        a, b = torch.full((n, n), 0.5), torch.full((n, n), 0.25)
        s = timed(lambda: torch.mm(a, b), repeats=5 if n >= 2048 else 9)
        out[f"sgemm {n}x{n}x{n}"] = 2 * n**3 / s / 1e9

    conv = torch.nn.Conv2d(64, 64, 3, padding=1)
    x = (torch.rand(128, 64, 16, 16) - 0.5).requires_grad_()

    def conv_step():
        x.grad = None
        conv.zero_grad()
        conv(x).sum().backward()

    out["conv2d 3x3 64->64 16x16 fwd+bwd"] = 128 / timed(conv_step)

    class Attn(torch.nn.Module):  # timm's Attention layout
        def __init__(self, dim, heads):
            super().__init__()
            self.heads = heads
            self.qkv = torch.nn.Linear(dim, 3 * dim)
            self.proj = torch.nn.Linear(dim, dim)

        def forward(self, x):
            b, l, c = x.shape
            qkv = self.qkv(x).reshape(b, l, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            a = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5
            return self.proj((a.softmax(-1) @ v).transpose(1, 2).reshape(b, l, c))

    attn = Attn(192, 3)
    y = (torch.rand(128, 64, 192) - 0.5).requires_grad_()

    def attn_step():
        y.grad = None
        attn.zero_grad()
        attn(y).sum().backward()

    out["self-attention 64 tok, 192 wide, 3 heads fwd+bwd"] = 128 / timed(attn_step)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
