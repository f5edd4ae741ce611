#!/usr/bin/env python3
"""timm (PyTorch Image Models) parity fixtures for Tests/ModelsTests/TimmParityTests.swift:
one small timm model per zoo family, built with the code path of the paper preset, its
state_dict and the logits it gives on a fixed input batch. CI has no Python packages;
the Swift tests only read the committed files. Run by developers:

    python3 -m venv /tmp/timmenv
    echo 'torch==2.13.0+cpu' > /tmp/timm-constraints.txt    # the CPU wheel PIP_FIND_LINKS offers
    /tmp/timmenv/bin/pip install -c /tmp/timm-constraints.txt timm==1.0.31
    /tmp/timmenv/bin/python tools/make_timm_fixtures.py

(A bare `pip install timm` resolves the newest torch from PyPI, a CUDA build with
several GB of nvidia-* wheels; the constraint keeps the local CPU wheel.)

writes Tests/ModelsTests/Fixtures/timm/, for each case NAME:
  NAME.safetensors     the timm model's state_dict exactly as `model.state_dict()` holds it
                       (integer buffers such as num_batches_tracked included, as I64), with
                       "__metadata__" {"timm_fixture": JSON}: the timm constructor ("builder",
                       "kwargs"), timm/torch versions, and "float32_relative_error": how far
                       timm's own float32 forward lies from the float64 reference logits.
  NAME.io.safetensors  "input" [2, C, H, W] and "logits" [2, classes]: timm's eval-mode
                       logits computed in float64 from the float32 weights and input (so the
                       reference carries no float32 rounding of its own), stored as float32.

Every float tensor is redrawn at random (see `randomise`), so a tensor loaded into the
wrong place changes the logits. All cases together take about 3.6 MB.

    /tmp/timmenv/bin/python tools/make_timm_fixtures.py --check DIR

loads every DIR/NAME.safetensors written by the Swift saver (TimmParityTests with
SCALEKD_TIMM_EXPORT=DIR) into a fresh timm model and compares its logits on the fixture
input with the fixture's. The saver writes no integer buffers, so loading is
non-strict and may miss only those (PyTorch's BatchNorm fills in num_batches_tracked
itself, so strict loading passes too).

    python3 tools/make_timm_fixtures.py --full /tmp/timm-full [--only resnet50,swin-t]

checks the paper-size presets at full size, by hand (the files take about 4.5 GB, so they
never go under Tests/): for each preset of FULL (every scale-paper preset of
`scalekd models`), its timm counterpart at 1000 classes and 224 px, randomised as above,
written as DIR/PRESET.safetensors and DIR/PRESET.io.safetensors (input [2, 3, 224, 224]).
Then

    SCALEKD_TIMM_FULL=/tmp/timm-full swift test -c release --filter TimmParityTests/testPaperPresetsAtFullSize

loads each into `Zoo.preset(named:)` and compares the logits as the small cases do. With
SCALEKD_TIMM_EXPORT=DIR2 set too, the test saves each loaded preset to DIR2, and
`--check DIR2 --full /tmp/timm-full [--only ...]` loads those into timm. All 16 presets take
about 8 minutes to write on one thread (beit-l14 2 minutes, swin-l 1.3).
"""
import argparse
import json
import os
import sys
import time

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ModelsTests", "Fixtures", "timm")


def import_timm():
    """Imports timm. PyPI's torchvision wheels for Linux are CUDA builds: next to the CPU
    torch their C extension does not load, and torchvision 0.28 then fails at import on
    an unguarded fake-kernel registration for its nms ops. timm only needs torchvision's
    Python parts (transforms, FrozenBatchNorm2d), so the two op schemas are declared and
    the import retried; with a torchvision whose extension loads, nothing is touched."""
    try:
        import torchvision  # noqa: F401
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        library = torch.library.Library("torchvision", "DEF")
        library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        library.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import_timm.keep = library
        import torchvision  # noqa: F401
    import timm
    return timm


timm = import_timm()
from safetensors.torch import load_file, save_file  # noqa: E402  (timm brings safetensors)


# name -> (builder, kwargs, input shape). Each mirrors a Swift config in TimmParityTests.
CASES = {
    # resnet18/50/152 layout (7x7 stem + max-pool, v1.5 bottleneck). timm's 7x7 stem is
    # always 64 wide (stem_width sizes only the deep stems), as the zoo's is for widths[0] = 64,
    # so stage 1 keeps the paper's 64 planes and the later stages are narrow.
    "resnet_basic": ("timm.models.resnet.ResNet", dict(block="BasicBlock", layers=[1, 1, 1, 1], channels=[64, 8, 16, 32],
                                                       num_classes=10), [2, 3, 32, 32]),
    "resnet_bottleneck": ("timm.models.resnet.ResNet", dict(block="Bottleneck", layers=[1, 2, 1, 1], channels=[64, 8, 16, 32],
                                                            num_classes=10), [2, 3, 32, 32]),
    # Plain ViT with a class token (DeiT / vit_*): the class-token head; the same weights
    # with mean pooling over the patch tokens (the paper presets' head) give "logits_avg".
    "vit": ("timm.models.vision_transformer.VisionTransformer",
            dict(img_size=32, patch_size=8, embed_dim=32, depth=4, num_heads=2, num_classes=10, global_pool="token"),
            [2, 3, 32, 32]),
    # timm beit_*: relative position bias per block (class-token rows included), layer
    # scale gamma_1/gamma_2, q/v biases, no absolute positions; the norm before pooling.
    "beit": ("timm.models.beit.Beit",
             dict(img_size=32, patch_size=8, embed_dim=32, depth=4, num_heads=2, num_classes=10, use_abs_pos_emb=False,
                  use_rel_pos_bias=True, init_values=0.1, qkv_bias=True, global_pool="avg", use_fc_norm=False),
             [2, 3, 32, 32]),
    # swin_*: window 7, patch merging, shifted windows in stages 1-3 (56/28/14 grids), one
    # window in stage 4 (7x7). Patch 2 on 112 px keeps the input small.
    "swin": ("timm.models.swin_transformer.SwinTransformer",
             dict(img_size=112, patch_size=2, window_size=7, embed_dim=8, depths=(2, 2, 2, 1), num_heads=(1, 2, 4, 8),
                  num_classes=10), [2, 3, 112, 112]),
    # convnext_*: patchify stem, 7x7 depthwise, layer scale, LayerNorm2d downsamples.
    "convnext": ("timm.models.convnext.ConvNeXt",
                 dict(depths=(1, 1, 2, 1), dims=(8, 16, 32, 64), num_classes=10), [2, 3, 32, 32]),
    "mixer": ("timm.models.mlp_mixer.MlpMixer",
              dict(img_size=32, patch_size=8, embed_dim=32, num_blocks=4, num_classes=10), [2, 3, 32, 32]),
    # mobilenetv1_100 at a quarter of the width (the paper's 1.0x layout: units 1-13).
    # timm registers mobilenetv1_100/_125 with the width fixed; the generator behind them
    # takes the channel multiplier. act_layer="relu": the zoo's MobileNet-V1 uses ReLU,
    # timm's default for this family is ReLU6.
    "mobilenetv1": ("timm.models.efficientnet._gen_mobilenet_v1",
                    dict(variant="mobilenetv1_100", channel_multiplier=0.25, num_classes=10, act_layer="relu"),
                    [2, 3, 32, 32]),
}

# --full: every paper-size preset of the zoo (`scalekd models`, scale paper) -> the timm model
# computing the same function, (builder, kwargs), each at 1000 classes and 224 px. The one
# place this map lives; each row mirrors the preset's Swift config (Sources/Models/).
FULL_INPUT = [2, 3, 224, 224]
# ViT.paper and BEiT.evaLarge14 pool the mean of the patch tokens after the final norm;
# timm's "avg" would switch the final norm to fc_norm (after pooling) unless told not to.
_MEAN_AFTER_NORM = dict(global_pool="avg", fc_norm=False)
FULL = {
    "resnet18": ("timm.models.resnet.resnet18", {}),
    "resnet50": ("timm.models.resnet.resnet50", {}),
    "resnet152": ("timm.models.resnet.resnet152", {}),
    # MobileNetV1.Config.standard(): 1.0x, five 14x14 units; ReLU as in the small case.
    "mobilenet-v1": ("timm.models.efficientnet._gen_mobilenet_v1",
                     dict(variant="mobilenetv1_100", channel_multiplier=1.0, act_layer="relu")),
    "convnext-t": ("timm.models.convnext.convnext_tiny", {}),
    "mixer-s16": ("timm.models.mlp_mixer.mixer_s16_224", {}),
    "mixer-b16": ("timm.models.mlp_mixer.mixer_b16_224", {}),
    # No timm name: mixer_b16_224 with patch 14 (16x16 grid, token MLPs 256 -> 384 -> 256).
    "mixer-b14": ("timm.models.mlp_mixer.MlpMixer", dict(patch_size=14, num_blocks=12, embed_dim=768)),
    "vit-s16": ("timm.models.vision_transformer.vit_small_patch16_224", _MEAN_AFTER_NORM),
    "vit-b16": ("timm.models.vision_transformer.vit_base_patch16_224", _MEAN_AFTER_NORM),
    # No timm name: vit_base_patch16_224 with patch 14.
    "vit-b14": ("timm.models.vision_transformer.VisionTransformer",
                dict(patch_size=14, embed_dim=768, depth=12, num_heads=12, **_MEAN_AFTER_NORM)),
    "swin-t": ("timm.models.swin_transformer.swin_tiny_patch4_window7_224", {}),
    "swin-s": ("timm.models.swin_transformer.swin_small_patch4_window7_224", {}),
    "swin-b": ("timm.models.swin_transformer.swin_base_patch4_window7_224", {}),
    "swin-l": ("timm.models.swin_transformer.swin_large_patch4_window7_224", {}),
    # BEiT.evaLarge14 (EVA-L/14) is a plain ViT-L/14: absolute positions, class token, fused
    # qkv bias, no relative position bias or layer scale. (timm's Eva class names its q/v
    # biases apart, so its state_dict would not match.)
    "beit-l14": ("timm.models.vision_transformer.vit_large_patch14_224", _MEAN_AFTER_NORM),
}


def build(builder, kwargs):
    """builder: the dotted path of a timm class or function; a "block" argument names a class of its module."""
    import importlib
    module_name, attribute = builder.rsplit(".", 1)
    module = importlib.import_module(module_name)
    kwargs = dict(kwargs)
    if "block" in kwargs:
        kwargs["block"] = getattr(module, kwargs["block"])
    return getattr(module, attribute)(**kwargs)


def randomise(model, gen):
    """Redraws every float tensor, so that each one matters: timm initialises many to a
    constant (norm scales and shifts, biases, BatchNorm statistics, layer scale, q/v
    biases; the Mixer head to zero, the BEiT head scaled by 0.001) and its transformer
    weights to std 0.02, which leaves the blocks' residuals small next to the stream."""
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "running_var":
                t.copy_(0.5 + torch.rand(t.shape, generator=gen))
            elif leaf == "running_mean":
                t.copy_(0.2 * torch.randn(t.shape, generator=gen))
            elif leaf in ("relative_position_bias_table", "pos_embed", "cls_token"):
                t.copy_(0.5 * torch.randn(t.shape, generator=gen))
            elif leaf in ("gamma", "gamma_1", "gamma_2"):
                t.copy_(0.5 + 0.2 * torch.randn(t.shape, generator=gen))
            elif t.dim() == 1 and ("norm" in name or "bn" in name) and leaf == "weight":
                t.copy_(1 + 0.2 * torch.randn(t.shape, generator=gen))
            elif t.dim() == 1:  # biases, norm shifts, q_bias / v_bias
                t.copy_(0.1 * torch.randn(t.shape, generator=gen))
            else:  # Linear and conv weights: variance 1 / fan-in
                t.copy_(torch.randn(t.shape, generator=gen) / (t[0].numel() ** 0.5))


def logits(model, x, pool=None):
    if pool is not None:
        model.global_pool = pool
    with torch.no_grad():
        return model(x)


def relative_error(a, b):
    return float((a.double() - b.double()).norm() / b.double().norm())


def write_case(directory, name, builder, kwargs, shape, seed, pools=()):
    """Builds, randomises and writes one case: NAME.safetensors and NAME.io.safetensors.
    `pools`: extra global_pool settings whose float64 logits go into the io file as
    "logits_<pool>". Returns (tensors, floats, timm float32 vs float64 relative error)."""
    torch.manual_seed(1000 + seed)
    gen = torch.Generator().manual_seed(2000 + seed)
    model = build(builder, kwargs).eval()
    randomise(model, gen)
    x = torch.rand(shape, generator=gen) * 2 - 1
    reference = model.double()
    io = {"input": x.contiguous(), "logits": logits(reference, x.double()).float().contiguous()}
    if pools:
        default = reference.global_pool
        for pool in pools:
            io["logits_" + pool] = logits(reference, x.double(), pool=pool).float().contiguous()
        reference.global_pool = default
    model = model.float()
    float32_error = relative_error(logits(model, x), io["logits"])
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    # One metadata key: the serializer writes the metadata map in hash order, so
    # several keys would make the header differ from run to run.
    metadata = {"timm_fixture": json.dumps({
        "builder": builder, "kwargs": kwargs, "timm_version": timm.__version__, "torch_version": torch.__version__,
        "float32_relative_error": f"{float32_error:.3e}"}, sort_keys=True)}
    save_file(state, os.path.join(directory, name + ".safetensors"), metadata=metadata)
    save_file(io, os.path.join(directory, name + ".io.safetensors"))
    params = sum(v.numel() for v in state.values() if v.is_floating_point())
    return len(state), params, float32_error


def generate():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    for index, (name, (builder, kwargs, shape)) in enumerate(CASES.items()):
        tensors, params, float32_error = write_case(OUT, name, builder, kwargs, shape, index,
                                                    pools=("avg",) if name == "vit" else ())
        print(f"{name}: {tensors} tensors, {params} floats, timm float32 vs float64 logits {float32_error:.2e}")


def full_cases(only):
    """FULL restricted to `only` (comma-separated preset names, or None for all)."""
    names = list(FULL) if only is None else only.split(",")
    unknown = [n for n in names if n not in FULL]
    if unknown:
        sys.exit(f"no full-size preset {unknown}; known: {', '.join(FULL)}")
    return {n: FULL[n] for n in names}


def generate_full(directory, only):
    """Paper-size presets into `directory` (several GB; never under Tests/). Seeds follow
    FULL's order, so --only rewrites a preset's files unchanged."""
    os.makedirs(directory, exist_ok=True)
    torch.set_num_threads(1)
    for name, (builder, kwargs) in full_cases(only).items():
        start = time.time()
        tensors, params, float32_error = write_case(directory, name, builder, kwargs, FULL_INPUT,
                                                    100 + list(FULL).index(name))
        print(f"{name}: {builder.rsplit('.', 1)[-1]}, {tensors} tensors, {params} floats, "
              f"timm float32 vs float64 logits {float32_error:.2e}, {time.time() - start:.0f} s", flush=True)


def check(directory, full=None, only=None):
    """Loads the Swift saver's files into timm and compares the logits. The saver leaves out
    integer buffers (num_batches_tracked), so loading is non-strict and may miss only those.
    `full`: the --full directory; then DIR holds paper-size presets and the inputs and
    reference logits come from there."""
    if full is None:
        cases, io_directory = {name: (builder, kwargs) for name, (builder, kwargs, _) in CASES.items()}, OUT
    else:
        cases, io_directory = full_cases(only), full
    torch.set_num_threads(1)
    failures = 0
    for name, (builder, kwargs) in cases.items():
        path = os.path.join(directory, name + ".safetensors")
        if not os.path.exists(path):
            print(f"{name}: no {path}")
            failures += 1
            continue
        model = build(builder, kwargs).eval()
        integer_buffers = {k for k, v in model.state_dict().items() if not v.is_floating_point()}
        result = model.load_state_dict(load_file(path), strict=False)
        io = load_file(os.path.join(io_directory, name + ".io.safetensors"))
        error = relative_error(logits(model, io["input"]), io["logits"])
        missing = set(result.missing_keys)
        bad = bool(result.unexpected_keys) or not missing <= integer_buffers or error > 1e-5
        print(f"{name}: missing {len(missing)} (integer buffers: {missing <= integer_buffers}), "
              f"unexpected {result.unexpected_keys}, logits relative error {error:.2e}{'  FAIL' if bad else ''}",
              flush=True)
        failures += bad
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", metavar="DIR", help="check the Swift saver's files in DIR instead of writing fixtures")
    parser.add_argument("--full", metavar="DIR", help="write the paper-size presets (FULL) into DIR instead of the "
                        "small fixtures; with --check, DIR holds their inputs and logits")
    parser.add_argument("--only", metavar="A,B", help="with --full: these presets only")
    args = parser.parse_args()
    if args.only and not args.full:
        parser.error("--only needs --full")
    if args.check:
        check(args.check, args.full, args.only)
    elif args.full:
        generate_full(args.full, args.only)
    else:
        generate()
