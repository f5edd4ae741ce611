"""ScaleKD's pieces in PyTorch, shared by the golden fixture (make_distill_fixtures.py)
and the speed comparison (bench_torch.py): the Cross Attention Projector (CAP), the DFM
losses, and a distiller that wires them to a teacher and a student as
Sources/Distill/Distiller.swift does (TPP: the stage-3 projections run through the
frozen teacher's last stage, and query the stage-4 projectors). Mirrors
../shared/METHOD.md and the authors' AttentionProjector / FreqMaskingDistillLossv2.

Nothing here sets the default dtype: the fixture runs in float64, the bench in float32."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class CrossAttention(nn.Module):
    def __init__(self, qdim, kdim, dim, heads, scale):
        super().__init__()
        self.q, self.k, self.v, self.proj = nn.Linear(qdim, dim), nn.Linear(kdim, dim), nn.Linear(kdim, dim), nn.Linear(dim, dim)
        self.heads, self.scale = heads, scale

    def forward(self, q, kv):
        b, lq, _ = q.shape
        lk = kv.shape[1]
        d = self.q.out_features // self.heads
        qh = self.q(q).reshape(b, lq, self.heads, d).transpose(1, 2)
        kh = self.k(kv).reshape(b, lk, self.heads, d).transpose(1, 2)
        vh = self.v(kv).reshape(b, lk, self.heads, d).transpose(1, 2)
        a = (qh @ kh.transpose(-2, -1)) * (d ** -0.5) * self.scale
        return self.proj((a.softmax(-1) @ vh).transpose(1, 2).reshape(b, lq, -1))


class MLP(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class CAP(nn.Module):
    """METHOD.md section 1."""
    def __init__(self, cs, gs, ct, gq, heads, scale, self_query):
        super().__init__()
        self.proj_student = nn.Sequential(nn.Conv2d(cs, cs, 3, 1, 1), nn.BatchNorm2d(cs))
        self.pos_embed = nn.Parameter(torch.randn(1, cs, gs, gs) * 0.02)
        self.query = nn.Parameter(torch.randn(gq * gq, ct)) if self_query else None
        self.proj_pos = nn.Conv2d(ct, ct, 1)
        self.attention = CrossAttention(ct, cs, ct, heads, scale)
        self.norm = nn.LayerNorm(ct)
        self.ffn = MLP(ct, 4 * ct)
        self.gq, self.ct = gq, ct

    def forward(self, x, queries=None):
        n = x.shape[0]
        keys = (F.relu(self.proj_student(x)) + self.pos_embed).flatten(2).transpose(1, 2)
        q0 = queries if queries is not None else self.query.unsqueeze(0).expand(n, -1, -1)
        qmap = q0.transpose(1, 2).reshape(n, self.ct, self.gq, self.gq)
        q = F.relu(self.proj_pos(qmap)).flatten(2).transpose(1, 2)
        y = self.norm(self.attention(q, keys))
        return y + self.ffn(y)


def norm_mse(s, t):  # tokens [N, L, C]
    return ((F.normalize(s, dim=-1) - F.normalize(t, dim=-1)) ** 2).sum() / s.shape[0]


def dct_matrix(n):
    k = torch.arange(n).unsqueeze(1).to(torch.get_default_dtype())
    i = torch.arange(n).unsqueeze(0).to(torch.get_default_dtype())
    d = torch.cos(torch.pi * (2 * i + 1) * k / (2 * n)) * (2.0 / n) ** 0.5
    d[0] /= 2 ** 0.5
    return d


def remove_dc(tokens, g):
    n, l, c = tokens.shape
    m = tokens.transpose(1, 2).reshape(n, c, g, g)
    d = dct_matrix(g)
    coeff = d @ m @ d.T
    mask = torch.ones(g, g)
    mask[0, 0] = 0
    back = d.T @ (coeff * mask) @ d
    return back.reshape(n, c, l).transpose(1, 2)


def frequency_loss(s, t):
    """DFM's frequency view. Zeroing the DC coefficient of an orthonormal DCT is subtracting
    each channel's spatial mean (the fixture asserts it), which is what the Swift side runs."""
    return norm_mse(s - s.mean(1, keepdim=True), t - t.mean(1, keepdim=True))


def tokens(m):  # [N, C, H, W] -> [N, HW, C]
    return m.flatten(2).transpose(1, 2)


def token_map(t, g):  # [N, g*g, C] -> [N, C, g, g]
    return t.transpose(1, 2).reshape(t.shape[0], t.shape[2], g, g)


class ScaleKDDistiller(nn.Module):
    """Distiller.swift with the default ScaleKDOptions: stages 3 and 4, CAP, DFM (a spatial
    and a frequency projector per stage), TPP, logit KD (weight 0.5, T 1), heads 4, softmax
    scale 5. The teacher needs `stage_features(x) -> (maps, logits)` and
    `forward_last_stage(stage3_map)`; the student `stage_features`. Only the student and the
    projectors are trainable."""
    def __init__(self, teacher, student, alpha_spatial=0.08, alpha_frequency=0.06, kd_weight=0.5, heads=4, scale=5.0):
        super().__init__()
        teacher.eval().requires_grad_(False)
        self.teacher, self.student = teacher, student
        tc, tg = teacher.stage_channels, teacher.stage_grids
        sc, sg = student.stage_channels, student.stage_grids
        self.caps = nn.ModuleDict()
        for stage in (3, 4):
            s = stage - 1
            target = 2 if stage == 3 else 3  # TPP: stage 3 aims at the teacher's stage-3 input
            for view in ("spatial", "frequency"):
                self.caps[f"cap_s{stage}_{view}"] = CAP(sc[s], sg[s], tc[target], tg[target], heads, scale,
                                                        self_query=stage == 3)
        self.alpha_spatial, self.alpha_frequency, self.kd_weight = alpha_spatial, alpha_frequency, kd_weight

    def train(self, mode=True):  # the teacher stays in eval mode (no drop path, frozen BN)
        super().train(mode)
        self.teacher.eval()
        return self

    def loss(self, images, labels):
        s_maps, s_logits = self.student.stage_features(images)
        with torch.no_grad():
            t_maps, t_logits = self.teacher.stage_features(images)
        ce = F.cross_entropy(s_logits, labels)
        kd = -(t_logits.softmax(-1) * s_logits.log_softmax(-1)).sum(-1).mean()
        total = ce * (1 - self.kd_weight) + kd * self.kd_weight
        target = tokens(t_maps[3])
        g3 = t_maps[2].shape[2]
        for view, alpha, loss in (("spatial", self.alpha_spatial, norm_mse), ("frequency", self.alpha_frequency, frequency_loss)):
            # TPP: the stage-3 projection through the frozen teacher's own last stage.
            z = tokens(self.teacher.forward_last_stage(token_map(self.caps[f"cap_s3_{view}"](s_maps[2]), g3)))
            y = self.caps[f"cap_s4_{view}"](s_maps[3], z)
            total = total + alpha * (loss(z, target) + loss(y, target))
        return total
