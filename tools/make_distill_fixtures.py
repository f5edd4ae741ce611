#!/usr/bin/env python3
"""Golden fixture for the Distill module: CAP, the DFM losses and a two-stage TPP path,
built in PyTorch with fixed weights on fixed inputs, mirroring ../shared/METHOD.md and
the authors' AttentionProjector / FreqMaskingDistillLossv2. Stores inputs, every
parameter (under the Swift module's dotted names), each loss term, and the gradients of
the summed loss with respect to the student features and every projector parameter.

    python3 tools/make_distill_fixtures.py   # writes Tests/DistillTests/Fixtures/scalekd.h5

The stand-in teacher's last stage is avg-pool 2x2 -> frozen 1x1 conv -> channel
LayerNorm (Swift: Tests/DistillTests/StubModels.swift builds the same)."""
import os

import h5py
import numpy as np
import torch
import torch.nn.functional as F

from scalekd_torch import CAP, norm_mse, remove_dc

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "DistillTests", "Fixtures", "scalekd.h5")
torch.manual_seed(7)
torch.set_default_dtype(torch.float32 if os.environ.get("F32") else torch.float64)


def main():
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


if __name__ == "__main__":
    main()
