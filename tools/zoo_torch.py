"""The mini presets of the zoo (Sources/Models/*.swift, `scalekd models --scale small`) in
PyTorch: same layers, same shapes, same parameter counts (bench_torch.py asserts them
against the Swift counts). 1x32x32 input, 10 classes. Each model has `stage_features(x)
-> ([four stage maps NCHW], logits)` like the Swift ImageClassifier; Swin also has
`forward_last_stage` (the ScaleKD teacher's TPP hook). Initialisation is PyTorch's
default: only speed and shapes matter here, and neither depends on it."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def drop_path(x, p, training):
    """Stochastic depth per sample (timm's drop_path); the Swift models apply it in training too."""
    if not training or p == 0:
        return x
    keep = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(1 - p) / (1 - p)
    return x * keep


def mlp(dim, hidden, act=nn.GELU):
    return nn.Sequential(nn.Linear(dim, hidden), act(), nn.Linear(hidden, dim))


# ResNet.swift: CIFAR stem (3x3 stride 1, no pool), basic blocks, depths 1-1-1-1, widths 16-32-64-128.
class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False), nn.BatchNorm2d(planes)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
                           if stride != 1 or cin != planes else None)

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + (self.downsample(x) if self.downsample is not None else x))


class ResNetMini(nn.Module):
    def __init__(self, widths=(16, 32, 64, 128), classes=10):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0])
        cin, layers = widths[0], []
        for i, w in enumerate(widths):
            layers.append(BasicBlock(cin, w, 2 if i > 0 else 1))
            cin = w
        self.layers = nn.ModuleList(layers)
        self.fc = nn.Linear(cin, classes)
        self.stage_channels, self.stage_grids = list(widths), [32, 16, 8, 4]

    def stage_features(self, x):
        h, maps = F.relu(self.bn1(self.conv1(x))), []
        for layer in self.layers:
            h = layer(h)
            maps.append(h)
        return maps, self.fc(h.mean((2, 3)))

    def forward(self, x):
        return self.stage_features(x)[1]


# MobileNetV1.swift, miniConfig: width x0.25, stride-1 stem and first downsample, 2 middle units.
class MobileNetMini(nn.Module):
    UNITS = [(8, 1), (16, 1), (32, 1), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (128, 1), (256, 2), (256, 1)]

    def __init__(self, classes=10):
        super().__init__()
        c0, s0 = self.UNITS[0]
        units = [nn.Sequential(nn.Conv2d(1, c0, 3, s0, 1, bias=False), nn.BatchNorm2d(c0), nn.ReLU())]
        for (cin, _), (cout, stride) in zip(self.UNITS, self.UNITS[1:]):
            units.append(nn.Sequential(
                nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU(),
                nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()))
        self.model = nn.Sequential(*units)
        self.fc = nn.Linear(self.UNITS[-1][0], classes)

    def forward(self, x):
        return self.fc(self.model(x).mean((2, 3)))


# ConvNeXt.swift, miniConfig: 3x3 stem stride 1, 3x3 depthwise, depths 1-1-2-1, dims 16-32-64-128, drop path 0.1.
class LayerNorm2d(nn.LayerNorm):
    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim, kernel, drop):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = mlp(dim, 4 * dim)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))
        self.drop = drop

    def forward(self, x):
        y = self.mlp(self.norm(self.conv_dw(x).permute(0, 2, 3, 1))) * self.gamma
        return x + drop_path(y.permute(0, 3, 1, 2), self.drop, self.training)


class ConvNeXtMini(nn.Module):
    def __init__(self, depths=(1, 1, 2, 1), dims=(16, 32, 64, 128), kernel=3, drop_path_rate=0.1, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, dims[0], 3, 1, 1), LayerNorm2d(dims[0], eps=1e-6))
        total, k, stages = sum(depths), 0, []
        for i, (d, dim) in enumerate(zip(depths, dims)):
            down = [] if i == 0 else [LayerNorm2d(dims[i - 1], eps=1e-6), nn.Conv2d(dims[i - 1], dim, 2, 2)]
            blocks = [ConvNeXtBlock(dim, kernel, drop_path_rate * (k + j) / (total - 1)) for j in range(d)]
            stages.append(nn.Sequential(*down, *blocks))
            k += d
        self.stages = nn.Sequential(*stages)
        self.head_norm, self.fc = nn.LayerNorm(dims[-1], eps=1e-6), nn.Linear(dims[-1], classes)

    def forward(self, x):
        return self.fc(self.head_norm(self.stages(self.stem(x)).mean((2, 3))))


# MLPMixer.swift, mini: patch 4 (8x8 = 64 tokens), depth 4, token MLP 64 -> 32 -> 64, channel MLP 4x.
class MixerBlock(nn.Module):
    def __init__(self, width, tokens, tokens_hidden):
        super().__init__()
        self.norm1, self.mlp_tokens = nn.LayerNorm(width, eps=1e-6), mlp(tokens, tokens_hidden)
        self.norm2, self.mlp_channels = nn.LayerNorm(width, eps=1e-6), mlp(width, 4 * width)

    def forward(self, x):
        x = x + self.mlp_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.mlp_channels(self.norm2(x))


class MixerMini(nn.Module):
    def __init__(self, width, depth=4, tokens_hidden=32, classes=10):
        super().__init__()
        self.stem = nn.Conv2d(1, width, 4, 4)
        self.blocks = nn.Sequential(*[MixerBlock(width, 64, tokens_hidden) for _ in range(depth)])
        self.norm, self.head = nn.LayerNorm(width, eps=1e-6), nn.Linear(width, classes)

    def forward(self, x):
        return self.head(self.norm(self.blocks(self.stem(x).flatten(2).transpose(1, 2))).mean(1))


# ViT.swift, mini: patch 4, no class token, absolute positions, fused qkv bias, depth 4, 2 heads, GAP head.
class Attention(nn.Module):  # timm's Attention layout
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.qkv, self.proj = heads, nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x):
        b, l, c = x.shape
        qkv = self.qkv(x).reshape(b, l, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        a = (qkv[0] @ qkv[1].transpose(-2, -1)) * (c // self.heads) ** -0.5
        return self.proj((a.softmax(-1) @ qkv[2]).transpose(1, 2).reshape(b, l, c))


class ViTBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim, eps=1e-6), Attention(dim, heads)
        self.norm2, self.mlp = nn.LayerNorm(dim, eps=1e-6), mlp(dim, 4 * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViTMini(nn.Module):
    def __init__(self, width, depth=4, heads=2, classes=10):
        super().__init__()
        self.patch_embed = nn.Conv2d(1, width, 4, 4)
        self.pos_embed = nn.Parameter(torch.zeros(1, 64, width))
        self.blocks = nn.Sequential(*[ViTBlock(width, heads) for _ in range(depth)])
        self.norm, self.head = nn.LayerNorm(width, eps=1e-6), nn.Linear(width, classes)

    def forward(self, x):
        t = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed
        return self.head(self.norm(self.blocks(t)).mean(1))


# Swin.swift, mini: 3x3 stride-1 patch embedding (every pixel a token), window 4, grids 32/16/8/4,
# heads 1-2-4-8, drop path 0.1; channels-last [B, H, W, C] as timm >= 0.9.
def window_partition(x, w):  # [B, H, W, C] -> [B*nW, w*w, C]
    b, h, wd, c = x.shape
    return x.reshape(b, h // w, w, wd // w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, c)


def window_reverse(x, w, h, wd):  # [B*nW, w*w, C] -> [B, H, W, C]
    c = x.shape[-1]
    return x.reshape(-1, h // w, wd // w, w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, h, wd, c)


def shifted_window_mask(g, w, s):  # [nW, w*w, w*w], 0 within a region, -100 across (timm's attn_mask)
    img = torch.zeros(1, g, g, 1)
    cnt = 0
    for hs in (slice(0, -w), slice(-w, -s), slice(-s, None)):
        for ws in (slice(0, -w), slice(-w, -s), slice(-s, None)):
            img[:, hs, ws, :] = cnt
            cnt += 1
    ids = window_partition(img, w).squeeze(-1)
    m = ids.unsqueeze(1) - ids.unsqueeze(2)
    return m.masked_fill(m != 0, -100.0).masked_fill(m == 0, 0.0)


class WindowAttention(nn.Module):
    def __init__(self, dim, heads, w):
        super().__init__()
        self.attn = Attention(dim, heads)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * w - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (w - 1)
        self.register_buffer("index", rel[..., 0] * (2 * w - 1) + rel[..., 1], persistent=False)
        self.heads = heads

    def forward(self, x, mask):
        bw, n, c = x.shape
        h, d = self.heads, c // self.heads
        qkv = self.attn.qkv(x).reshape(bw, n, 3, h, d).permute(2, 0, 3, 1, 4)
        logits = (qkv[0] @ qkv[1].transpose(-2, -1)) * d ** -0.5  # [B', h, N, N]
        bias = self.relative_position_bias_table[self.index.view(-1)].view(n, n, h).permute(2, 0, 1)
        if mask is not None:  # one broadcast add of (bias + mask) [nW, h, N, N] over the windows of every image
            nw = mask.shape[0]
            logits = (logits.view(bw // nw, nw, h, n, n) + (bias + mask.unsqueeze(1))).view(bw, h, n, n)
        else:
            logits = logits + bias
        return self.attn.proj((logits.softmax(-1) @ qkv[2]).transpose(1, 2).reshape(bw, n, c))


class SwinBlock(nn.Module):
    def __init__(self, dim, heads, grid, window, shifted, drop):
        super().__init__()
        self.w = min(window, grid)
        self.s = window // 2 if shifted and grid > window else 0
        self.norm1, self.attn = nn.LayerNorm(dim), WindowAttention(dim, heads, self.w)
        self.norm2, self.mlp = nn.LayerNorm(dim), mlp(dim, 4 * dim)
        self.register_buffer("mask", shifted_window_mask(grid, self.w, self.s) if self.s else None, persistent=False)
        self.drop = drop

    def forward(self, x):
        h, w = x.shape[1], x.shape[2]
        y = self.norm1(x)
        if self.s:
            y = torch.roll(y, (-self.s, -self.s), (1, 2))
        y = window_reverse(self.attn(window_partition(y, self.w), self.mask), self.w, h, w)
        if self.s:
            y = torch.roll(y, (self.s, self.s), (1, 2))
        x = x + drop_path(y, self.drop, self.training)
        return x + drop_path(self.mlp(self.norm2(x)), self.drop, self.training)


class PatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm, self.reduction = nn.LayerNorm(4 * dim), nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        b, h, w, c = x.shape
        x = x.reshape(b, h // 2, 2, w // 2, 2, c).permute(0, 1, 3, 4, 2, 5).reshape(b, h // 2, w // 2, 4 * c)
        return self.reduction(self.norm(x))


class SwinMini(nn.Module):
    def __init__(self, embed_dim, depths, heads=(1, 2, 4, 8), window=4, drop_path_rate=0.1, classes=10):
        super().__init__()
        self.proj, self.embed_norm = nn.Conv2d(1, embed_dim, 3, 1, 1), nn.LayerNorm(embed_dim)
        dims, grids = [embed_dim * m for m in (1, 2, 4, 8)], [32, 16, 8, 4]
        total, k, layers = sum(depths), 0, []
        for i in range(4):
            blocks = []
            for j in range(depths[i]):
                blocks.append(SwinBlock(dims[i], heads[i], grids[i], window, j % 2 == 1, drop_path_rate * k / (total - 1)))
                k += 1
            layers.append(nn.Sequential(*([PatchMerging(dims[i - 1])] if i else []), *blocks))
        self.layers = nn.ModuleList(layers)
        self.norm, self.fc = nn.LayerNorm(dims[3]), nn.Linear(dims[3], classes)
        self.stage_channels, self.stage_grids = dims, grids

    def stage_features(self, x):
        t, maps = self.embed_norm(self.proj(x).permute(0, 2, 3, 1)), []
        for i, layer in enumerate(self.layers):
            t = layer(t)
            if i == 3:
                t = self.norm(t)
            maps.append(t.permute(0, 3, 1, 2))
        return maps, self.fc(t.mean((1, 2)))

    def forward(self, x):
        return self.stage_features(x)[1]

    def forward_last_stage(self, stage3):  # patch merging of the stage-3 grid, stage-4 blocks, final norm
        return self.norm(self.layers[3](stage3.permute(0, 2, 3, 1))).permute(0, 3, 1, 2)


PRESETS = {
    "resnet-mini": ResNetMini,
    "mobilenet-mini": MobileNetMini,
    "convnext-mini": ConvNeXtMini,
    "mixer-mini-s": lambda: MixerMini(64),
    "mixer-mini-b": lambda: MixerMini(96),
    "vit-mini-s": lambda: ViTMini(48),
    "vit-mini-b": lambda: ViTMini(80),
    "swin-mini-t": lambda: SwinMini(16, (1, 1, 3, 1)),
    "swin-mini-s": lambda: SwinMini(16, (1, 1, 6, 2)),
    "swin-mini-b": lambda: SwinMini(20, (1, 1, 6, 3)),
    "swin-mini-l": lambda: SwinMini(24, (1, 1, 6, 4)),
}


def param_count(m):
    return sum(p.numel() for p in m.parameters())
