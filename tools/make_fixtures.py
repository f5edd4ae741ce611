#!/usr/bin/env python3
"""Golden fixtures for the engine's ops, computed by PyTorch (float64 math, stored as
float32) on fixed inputs. Each case stores its inputs, a fixed upstream gradient R,
the output, and the gradients of L = sum(out * R) for every input and parameter.
Run by developers (pip install torch h5py scipy); the files are committed and CI
only reads them.

    python3 tools/make_fixtures.py   # writes Tests/TensorTests/Fixtures/ops.h5
"""
import os

import h5py
import numpy as np
import scipy.fft
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "TensorTests", "Fixtures", "ops.h5")
gen = torch.Generator().manual_seed(2024)


def rnd(*shape, lo=-1.0, hi=1.0):
    return (torch.rand(*shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo).requires_grad_()


def store(f, name, inputs, out, attrs=None):
    """inputs: dict name -> leaf tensor (requires_grad). Stores out, R and grads."""
    g = f.create_group(name)
    r = torch.rand(out.shape, generator=gen, dtype=torch.float64) - 0.5
    (out * r).sum().backward()
    for k, t in inputs.items():
        g[k] = t.detach().numpy().astype(np.float32)
        if t.grad is not None:
            g["grad_" + k] = t.grad.numpy().astype(np.float32)
    g["out"] = out.detach().numpy().astype(np.float32)
    g["r"] = r.numpy().astype(np.float32)
    for k, v in (attrs or {}).items():
        g.attrs[k] = v


def main():
    with h5py.File(OUT + ".tmp", "w") as f:
        f.attrs["torch_version"] = str(torch.__version__)
        # conv2d: plain, strided, grouped, depthwise
        for name, (cin, cout, k, s, p, groups) in {
            "conv2d_plain": (3, 5, 3, 1, 1, 1),
            "conv2d_stride2": (4, 6, 3, 2, 1, 1),
            "conv2d_groups": (4, 6, 3, 2, 1, 2),
            "conv2d_depthwise": (6, 6, 3, 1, 1, 6),
            "conv2d_patch4": (1, 8, 4, 4, 0, 1),
        }.items():
            x, w, b = rnd(2, cin, 9, 8), rnd(cout, cin // groups, k, k), rnd(cout)
            store(f, name, {"x": x, "w": w, "b": b}, F.conv2d(x, w, b, stride=s, padding=p, groups=groups),
                  {"stride": s, "padding": p, "groups": groups})
        # batch norm, training mode (batch statistics + running-stat update) and eval mode
        x, w, b = rnd(4, 3, 5, 5), rnd(3), rnd(3)
        rm, rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
        out = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5)
        store(f, "batch_norm_train", {"x": x, "w": w, "b": b}, out)
        f["batch_norm_train/running_mean"] = rm.numpy().astype(np.float32)
        f["batch_norm_train/running_var"] = rv.numpy().astype(np.float32)
        x, w, b = rnd(4, 3, 5, 5), rnd(3), rnd(3)
        rm, rv = torch.rand(3, generator=gen, dtype=torch.float64), torch.rand(3, generator=gen, dtype=torch.float64) + 0.5
        store(f, "batch_norm_eval", {"x": x, "w": w, "b": b},
              F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-5))
        f["batch_norm_eval/running_mean"] = rm.numpy().astype(np.float32)
        f["batch_norm_eval/running_var"] = rv.numpy().astype(np.float32)
        # layer norm over the last axis
        x, w, b = rnd(2, 5, 12), rnd(12), rnd(12)
        store(f, "layer_norm", {"x": x, "w": w, "b": b}, F.layer_norm(x, (12,), w, b, eps=1e-6), {"eps": 1e-6})
        # GELU (exact erf form)
        x = rnd(3, 17, lo=-4, hi=4)
        store(f, "gelu", {"x": x}, F.gelu(x))
        # softmax cross-entropy with label smoothing (mean over the batch)
        x = rnd(6, 10, lo=-3, hi=3)
        labels = torch.tensor([0, 9, 3, 3, 7, 1])
        store(f, "cross_entropy_ls", {"x": x}, F.cross_entropy(x, labels, label_smoothing=0.1),
              {"label_smoothing": 0.1})
        f["cross_entropy_ls/labels"] = labels.numpy().astype(np.int64)
        # multi-head self-attention in timm's layout (qkv fused, proj), with an additive logit bias
        B, L, C, H = 2, 7, 12, 3
        x, wqkv, bqkv, wp, bp, bias = rnd(B, L, C), rnd(3 * C, C), rnd(3 * C), rnd(C, C), rnd(C), rnd(H, L, L)
        qkv = F.linear(x, wqkv, bqkv).reshape(B, L, 3, H, C // H).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = (q @ k.transpose(-2, -1)) * (C // H) ** -0.5 + bias
        out = F.linear((a.softmax(-1) @ v).transpose(1, 2).reshape(B, L, C), wp, bp)
        store(f, "self_attention", {"x": x, "qkv_weight": wqkv, "qkv_bias": bqkv, "proj_weight": wp,
                                    "proj_bias": bp, "bias": bias}, out, {"heads": H})
        # orthonormal 2-D DCT-II over the last two axes and its inverse, checked against scipy
        x = rnd(2, 3, 8, 6)
        d_h = torch.tensor(scipy.fft.dct(np.eye(8), norm="ortho", axis=0), dtype=torch.float64)
        d_w = torch.tensor(scipy.fft.dct(np.eye(6), norm="ortho", axis=0), dtype=torch.float64)
        y = d_h @ x @ d_w.T
        assert np.allclose(y.detach().numpy(), scipy.fft.dctn(x.detach().numpy(), axes=(-2, -1), norm="ortho"))
        store(f, "dct2d", {"x": x}, y)
        x = rnd(2, 3, 8, 6)
        store(f, "idct2d", {"x": x}, d_h.T @ x @ d_w)
    os.replace(OUT + ".tmp", OUT)
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
