#!/usr/bin/env python3
"""Golden fixtures for the Distill module, built in PyTorch with fixed weights on fixed
inputs, mirroring ../shared/METHOD.md and the authors' AttentionProjector /
FreqMaskingDistillLossv2. Each stores inputs, every parameter (under the Swift modules'
dotted names), each loss term, and the gradients of the summed loss with respect to the
student features (and logits) and every projector parameter.

    python3 tools/make_distill_fixtures.py [stub] [swin] [vit]   # default: all three

- stub -> Tests/DistillTests/Fixtures/scalekd.h5: CAP, both DFM views and the two-stage
  TPP path with a stand-in teacher last stage (avg-pool 2x2 -> frozen 1x1 conv -> channel
  LayerNorm; Swift: Tests/DistillTests/StubModels.swift builds the same), heads [2, 3].
- swin -> scalekd_swin.h5: TPP through a real Swin last stage (patch merging, a window
  block and a shifted-window block, final norm) with the Swin-S teacher's released
  settings: KD off, stage-4 frequency weight 0 (swin-s_distill_res50_img_s3_s4.py), and
  ScaleKDOptions' default heads [4, 4]. Logit terms included (CE alone, unscaled).
- vit -> scalekd_vit.h5: TPP through the last two blocks of a BEiT-style ViT (relative
  position bias, layer scale, q/v biases) plus its final norm, as the authors run BEiT-L
  (blocks 22-23 of 24), with stage 3 tapped one block earlier than TPP starts; KD on
  (a 0.5, T 1), per-stage weights that differ between the stages, heads [2, 4].
The teacher-mode (train) path is random and is unit-tested in Swift instead."""
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

from scalekd_torch import CAP, norm_mse, remove_dc
from zoo_torch import shifted_window_mask, window_partition, window_reverse

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "Tests", "DistillTests", "Fixtures")
OUT = os.path.join(FIXTURES, "scalekd.h5")
torch.set_default_dtype(torch.float32 if os.environ.get("F32") else torch.float64)


def stub_case():
    torch.manual_seed(7)
    N, CS3, CS4, CT3, CT4, G3, G4 = 2, 6, 8, 8, 12, 8, 4
    s3 = torch.randn(N, CS3, G3, G3, requires_grad=True)
    s4 = torch.randn(N, CS4, G4, G4, requires_grad=True)
    t3 = torch.randn(N, CT3, G3, G3)
    t4 = torch.randn(N, CT4, G4, G4) + 0.5  # a non-zero mean, so the DC view matters
    # Stand-in frozen teacher last stage: avg-pool 2x2, 1x1 conv CT3 -> CT4, channel LayerNorm.
    tw, tb = torch.randn(CT4, CT3, 1, 1) * 0.3, torch.randn(CT4) * 0.1
    tln_w, tln_b = 1 + 0.1 * torch.randn(CT4), 0.1 * torch.randn(CT4)

    def teacher_last_stage(x):
        y = F.conv2d(F.avg_pool2d(x, 2), tw, tb)
        return F.layer_norm(y.permute(0, 2, 3, 1), (CT4,), tln_w, tln_b).permute(0, 3, 1, 2)

    caps = {
        "cap_s3_spatial": CAP(CS3, G3, CT3, G3, 2, 5.0, True),
        "cap_s3_frequency": CAP(CS3, G3, CT3, G3, 2, 5.0, True),
        "cap_s4_spatial": CAP(CS4, G4, CT4, G4, 3, 5.0, False),
        "cap_s4_frequency": CAP(CS4, G4, CT4, G4, 3, 5.0, False),
    }
    for c in caps.values():  # non-trivial BN affine and biases
        with torch.no_grad():
            # Positions must differ clearly: the DC-removed (frequency) view of nearly equal
            # tokens is ill-conditioned in float32, which would test rounding, not the method.
            c.pos_embed.normal_(0, 0.5)
            c.proj_student[1].weight.uniform_(0.5, 1.5)
            c.proj_student[1].bias.uniform_(-0.2, 0.2)
            c.norm.weight.uniform_(0.8, 1.2)
    tok = lambda m: m.flatten(2).transpose(1, 2)
    T4 = tok(t4)

    def through_teacher(y):  # tokens on the teacher's stage-3 grid -> teacher stage 4 -> tokens
        return tok(teacher_last_stage(y.transpose(1, 2).reshape(N, CT3, G3, G3)))

    z_sp = through_teacher(caps["cap_s3_spatial"](s3))
    z_fr = through_teacher(caps["cap_s3_frequency"](s3))
    y_sp = caps["cap_s4_spatial"](s4, z_sp)
    y_fr = caps["cap_s4_frequency"](s4, z_fr)
    a_sp, a_fr = 0.08, 0.06
    terms = {
        "s3_spatial": a_sp * norm_mse(z_sp, T4),
        "s3_frequency": a_fr * norm_mse(remove_dc(z_fr, G4), remove_dc(T4, G4)),
        "s4_spatial": a_sp * norm_mse(y_sp, T4),
        "s4_frequency": a_fr * norm_mse(remove_dc(y_fr, G4), remove_dc(T4, G4)),
    }
    sum(terms.values()).backward()
    # DC removal equals mean subtraction (METHOD.md 2).
    assert torch.allclose(remove_dc(T4, G4), T4 - T4.mean(1, keepdim=True), atol=1e-5)

    f32 = lambda t: t.detach().numpy().astype(np.float32)
    with h5py.File(OUT + ".tmp", "w") as f:
        f.attrs["torch_version"] = str(torch.__version__)
        for k, v in {"s3": s3, "s4": s4, "t3": t3, "t4": t4, "teacher_conv_weight": tw, "teacher_conv_bias": tb,
                     "teacher_norm_weight": tln_w, "teacher_norm_bias": tln_b}.items():
            f[k] = f32(v)
        f["grad_s3"], f["grad_s4"] = f32(s3.grad), f32(s4.grad)
        for k, v in terms.items():
            f[f"terms/{k}"] = np.array(v.item(), dtype=np.float32)
        for name, cap in caps.items():
            for pname, p in cap.state_dict().items():
                if "num_batches_tracked" in pname:
                    continue
                f[f"projectors/{name}.{pname}"] = f32(p)
            for pname, p in cap.named_parameters():
                f[f"grads/{name}.{pname}"] = f32(p.grad)
    os.replace(OUT + ".tmp", OUT)
    print("wrote", os.path.normpath(OUT), {k: round(v.item(), 6) for k, v in terms.items()})



# --- Teachers' last stages as functions of named parameters (the Swift modules' names) ----

def make_params(spec, seed):
    """spec: [(name, shape, kind)] -> {name: tensor}. Non-trivial values everywhere, so a
    wrongly wired scale, bias or table shows in the result."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64).to(torch.get_default_dtype())
    out = {}
    for name, shape, kind in spec:
        if kind == "ln_w":
            out[name] = 1 + 0.1 * r(*shape)
        elif kind == "bias":
            out[name] = 0.1 * r(*shape)
        elif kind == "linear":
            out[name] = r(*shape) / shape[-1] ** 0.5
        elif kind == "table":
            out[name] = 0.5 * r(*shape)
        elif kind == "gamma":
            out[name] = 0.5 + 0.1 * r(*shape)
        else:
            raise ValueError(kind)
    return out


def ln(x, P, name, eps):
    return F.layer_norm(x, (x.shape[-1],), P[name + ".weight"], P[name + ".bias"], eps)


def lin(x, P, name, bias=True):
    return F.linear(x, P[name + ".weight"], P[name + ".bias"] if bias else None)


def mlp(x, P, name):
    return lin(F.gelu(lin(x, P, name + ".fc1")), P, name + ".fc2")


def relative_index(g):  # [g^2 * g^2] rows of a (2g-1)^2 table (timm's relative_position_index)
    c = torch.stack(torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")).flatten(1)
    rel = (c[:, :, None] - c[:, None, :]).permute(1, 2, 0) + (g - 1)
    return (rel[..., 0] * (2 * g - 1) + rel[..., 1]).reshape(-1)


def attention(x, P, name, heads, qkv_bias, table, window):
    """Multi-head self-attention of [B, L, C] with a relative position bias of a window x window grid."""
    b, l, c = x.shape
    d = c // heads
    qkv = F.linear(x, P[name + ".qkv.weight"], qkv_bias).reshape(b, l, 3, heads, d).permute(2, 0, 3, 1, 4)
    logits = (qkv[0] @ qkv[1].transpose(-2, -1)) * d ** -0.5
    bias = table[relative_index(window)].view(l, l, heads).permute(2, 0, 1)
    return logits + bias, qkv[2]


def swin_spec(c3, heads, window, depth):
    """Stage 4 of a Swin (timm names, Sources/Models/Swin.swift): merging C3 -> 2 C3, blocks, norm."""
    c = 2 * c3
    spec = [("layers.3.downsample.norm.weight", (4 * c3,), "ln_w"), ("layers.3.downsample.norm.bias", (4 * c3,), "bias"),
            ("layers.3.downsample.reduction.weight", (c, 4 * c3), "linear")]
    for i in range(depth):
        p = f"layers.3.blocks.{i}"
        spec += [(p + ".norm1.weight", (c,), "ln_w"), (p + ".norm1.bias", (c,), "bias"),
                 (p + ".attn.qkv.weight", (3 * c, c), "linear"), (p + ".attn.qkv.bias", (3 * c,), "bias"),
                 (p + ".attn.relative_position_bias_table", ((2 * window - 1) ** 2, heads), "table"),
                 (p + ".attn.proj.weight", (c, c), "linear"), (p + ".attn.proj.bias", (c,), "bias"),
                 (p + ".norm2.weight", (c,), "ln_w"), (p + ".norm2.bias", (c,), "bias"),
                 (p + ".mlp.fc1.weight", (4 * c, c), "linear"), (p + ".mlp.fc1.bias", (4 * c,), "bias"),
                 (p + ".mlp.fc2.weight", (c, 4 * c), "linear"), (p + ".mlp.fc2.bias", (c,), "bias")]
    return spec + [("norm.weight", (c,), "ln_w"), ("norm.bias", (c,), "bias")]


def swin_last_stage(x_map, P, heads, window, depth):
    """[N, C3, g, g] -> [N, 2 C3, g/2, g/2]: patch merging (timm's x0 x1 x2 x3 order), then
    blocks alternating plain and shifted windows (shift w/2, -100 across regions), final norm."""
    x = x_map.permute(0, 2, 3, 1)
    b, h, w, c = x.shape
    x = x.reshape(b, h // 2, 2, w // 2, 2, c).permute(0, 1, 3, 4, 2, 5).reshape(b, h // 2, w // 2, 4 * c)
    x = lin(ln(x, P, "layers.3.downsample.norm", 1e-5), P, "layers.3.downsample.reduction", bias=False)
    g = h // 2
    for i in range(depth):
        p = f"layers.3.blocks.{i}"
        s = window // 2 if i % 2 == 1 and g > window else 0
        y = ln(x, P, p + ".norm1", 1e-5)
        if s:
            y = torch.roll(y, (-s, -s), (1, 2))
        win = window_partition(y, window)
        bw, n, cc = win.shape
        logits, v = attention(win, P, p + ".attn", heads, P[p + ".attn.qkv.bias"],
                              P[p + ".attn.relative_position_bias_table"], window)
        if s:
            mask = shifted_window_mask(g, window, s)
            nw = mask.shape[0]
            logits = (logits.view(bw // nw, nw, heads, n, n) + mask.unsqueeze(1)).view(bw, heads, n, n)
        out = lin((logits.softmax(-1) @ v).transpose(1, 2).reshape(bw, n, cc), P, p + ".attn.proj")
        y = window_reverse(out, window, g, g)
        if s:
            y = torch.roll(y, (s, s), (1, 2))
        x = x + y
        x = x + mlp(ln(x, P, p + ".norm2", 1e-5), P, p + ".mlp")
    return ln(x, P, "norm", 1e-5).permute(0, 3, 1, 2)


def vit_spec(c, heads, grid, blocks):
    """The named blocks of a BEiT-style ViT (timm names, Sources/Models/ViT.swift) and its final norm."""
    spec = []
    for i in blocks:
        p = f"blocks.{i}"
        spec += [(p + ".norm1.weight", (c,), "ln_w"), (p + ".norm1.bias", (c,), "bias"),
                 (p + ".attn.qkv.weight", (3 * c, c), "linear"), (p + ".attn.q_bias", (c,), "bias"),
                 (p + ".attn.v_bias", (c,), "bias"),
                 (p + ".attn.relative_position_bias_table", ((2 * grid - 1) ** 2, heads), "table"),
                 (p + ".attn.proj.weight", (c, c), "linear"), (p + ".attn.proj.bias", (c,), "bias"),
                 (p + ".gamma_1", (c,), "gamma"),
                 (p + ".norm2.weight", (c,), "ln_w"), (p + ".norm2.bias", (c,), "bias"),
                 (p + ".mlp.fc1.weight", (4 * c, c), "linear"), (p + ".mlp.fc1.bias", (4 * c,), "bias"),
                 (p + ".mlp.fc2.weight", (c, 4 * c), "linear"), (p + ".mlp.fc2.bias", (c,), "bias"),
                 (p + ".gamma_2", (c,), "gamma")]
    return spec + [("norm.weight", (c,), "ln_w"), ("norm.bias", (c,), "bias")]


def vit_last_blocks(x_map, P, heads, blocks):
    """[N, C, g, g] -> same: pre-norm blocks x + g1 attn(norm1 x), x + g2 mlp(norm2 x) with
    q/v biases (no k bias) and a per-block relative position bias (no class token), then the
    final norm (LayerNorm eps 1e-6)."""
    n, c, g, _ = x_map.shape
    x = x_map.flatten(2).transpose(1, 2)
    for i in blocks:
        p = f"blocks.{i}"
        qkv_bias = torch.cat([P[p + ".attn.q_bias"], torch.zeros(c), P[p + ".attn.v_bias"]])
        logits, v = attention(ln(x, P, p + ".norm1", 1e-6), P, p + ".attn", heads, qkv_bias,
                              P[p + ".attn.relative_position_bias_table"], g)
        a = lin((logits.softmax(-1) @ v).transpose(1, 2).reshape(n, g * g, c), P, p + ".attn.proj")
        x = x + P[p + ".gamma_1"] * a
        x = x + P[p + ".gamma_2"] * mlp(ln(x, P, p + ".norm2", 1e-6), P, p + ".mlp")
    return ln(x, P, "norm", 1e-6).transpose(1, 2).reshape(n, c, g, g)


def distill_case(out_name, seed, teacher_params, last_stage, dims, heads, alpha_sp, alpha_fr, kd):
    """One ScaleKD configuration (stages 3 and 4, CAP, DFM, TPP) on stub student features and
    a teacher whose last stage is `last_stage(map) -> map` with `teacher_params`.
    dims: (CS3, GS3, CS4, GS4, CT3, GT3, CT4, GT4)."""
    torch.manual_seed(seed)
    N, classes = 2, 10
    CS3, GS3, CS4, GS4, CT3, GT3, CT4, GT4 = dims
    s3 = torch.randn(N, CS3, GS3, GS3, requires_grad=True)
    s4 = torch.randn(N, CS4, GS4, GS4, requires_grad=True)
    t3 = torch.randn(N, CT3, GT3, GT3)
    t4 = torch.randn(N, CT4, GT4, GT4) + 0.5  # a non-zero mean, so the DC view matters
    s_logits = torch.randn(N, classes, requires_grad=True)
    t_logits = 2 * torch.randn(N, classes)
    labels = torch.tensor([3, 7])
    caps = {
        "cap_s3_spatial": CAP(CS3, GS3, CT3, GT3, heads[0], 5.0, True),
        "cap_s3_frequency": CAP(CS3, GS3, CT3, GT3, heads[0], 5.0, True),
        "cap_s4_spatial": CAP(CS4, GS4, CT4, GT4, heads[1], 5.0, False),
        "cap_s4_frequency": CAP(CS4, GS4, CT4, GT4, heads[1], 5.0, False),
    }
    for c in caps.values():
        with torch.no_grad():
            c.pos_embed.normal_(0, 0.5)
            c.proj_student[1].weight.uniform_(0.5, 1.5)
            c.proj_student[1].bias.uniform_(-0.2, 0.2)
            c.norm.weight.uniform_(0.8, 1.2)
    tok = lambda m: m.flatten(2).transpose(1, 2)
    T4 = tok(t4)

    def through_teacher(y):  # tokens on the teacher's stage-3 grid -> its last stage -> tokens
        return tok(last_stage(y.transpose(1, 2).reshape(N, CT3, GT3, GT3)))

    z_sp = through_teacher(caps["cap_s3_spatial"](s3))
    z_fr = through_teacher(caps["cap_s3_frequency"](s3))
    y_sp = caps["cap_s4_spatial"](s4, z_sp)
    y_fr = caps["cap_s4_frequency"](s4, z_fr)
    ce = F.cross_entropy(s_logits, labels)
    terms = {}
    if kd:  # KDLoss alpha 0.5, T 1: CE scaled by 1 - 0.5
        terms["ce"] = 0.5 * ce
        terms["kd"] = 0.5 * -(t_logits.softmax(-1) * s_logits.log_softmax(-1)).sum(-1).mean()
    else:
        terms["ce"] = ce
    terms.update({
        "s3_spatial": alpha_sp[0] * norm_mse(z_sp, T4),
        "s3_frequency": alpha_fr[0] * norm_mse(remove_dc(z_fr, GT4), remove_dc(T4, GT4)),
        "s4_spatial": alpha_sp[1] * norm_mse(y_sp, T4),
        "s4_frequency": alpha_fr[1] * norm_mse(remove_dc(y_fr, GT4), remove_dc(T4, GT4)),
    })
    sum(terms.values()).backward()

    f32 = lambda t: t.detach().numpy().astype(np.float32)
    out = os.path.join(FIXTURES, out_name)
    with h5py.File(out + ".tmp", "w") as f:
        f.attrs["torch_version"] = str(torch.__version__)
        for k, v in {"s3": s3, "s4": s4, "t3": t3, "t4": t4, "student_logits": s_logits, "teacher_logits": t_logits}.items():
            f[k] = f32(v)
        f["labels"] = labels.numpy().astype(np.int64)
        f["grad_s3"], f["grad_s4"], f["grad_logits"] = f32(s3.grad), f32(s4.grad), f32(s_logits.grad)
        for k, v in teacher_params.items():
            f[f"teacher/{k}"] = f32(v)
        for k, v in terms.items():
            f[f"terms/{k}"] = np.array(v.item(), dtype=np.float32)
        for name, cap in caps.items():
            for pname, p in cap.state_dict().items():
                if "num_batches_tracked" in pname:
                    continue
                f[f"projectors/{name}.{pname}"] = f32(p)
            for pname, p in cap.named_parameters():
                f[f"grads/{name}.{pname}"] = f32(p.grad)
    os.replace(out + ".tmp", out)
    print("wrote", os.path.normpath(out), f"{os.path.getsize(out) / 1024:.0f} KiB",
          {k: round(v.item(), 6) for k, v in terms.items()})


def swin_case():
    # Swift: SwinTransformer(embedDim 2, depths [1, 1, 1, 2], heads [1, 1, 2, 2], window 2,
    # 32x32x1 input, stride-1 embedding): stage grids 32/16/8/4, widths 2/4/8/16. Stage 4 has a
    # plain and a shifted (shift 1) window block on its 4x4 grid.
    heads4, window, depth = 2, 2, 2
    P = make_params(swin_spec(8, heads4, window, depth), seed=11)
    distill_case("scalekd_swin.h5", 21, P, lambda m: swin_last_stage(m, P, heads4, window, depth),
                 dims=(6, 8, 8, 4, 8, 8, 16, 4), heads=(4, 4), alpha_sp=(0.08, 0.08), alpha_fr=(0.06, 0.0), kd=False)


def vit_case():
    # Swift: VisionTransformer, 16x16x1 input, patch 2 -> 8x8 grid, width 16, depth 4, 2 heads,
    # BEiT layout (relative position bias, layer scale, q/v biases, no class token), stages
    # tapped after blocks [0, 1, 2, 3] and TPP through the last 2 blocks (2 and 3) + norm.
    P = make_params(vit_spec(16, 2, 8, (2, 3)), seed=12)
    distill_case("scalekd_vit.h5", 22, P, lambda m: vit_last_blocks(m, P, 2, (2, 3)),
                 dims=(6, 8, 8, 4, 16, 8, 16, 8), heads=(2, 4), alpha_sp=(0.08, 0.05), alpha_fr=(0.06, 0.03), kd=True)


if __name__ == "__main__":
    cases = {"stub": stub_case, "swin": swin_case, "vit": vit_case}
    for name in sys.argv[1:] or list(cases):
        cases[name]()
