#!/usr/bin/env python3
"""PyTorch's side of `make bench`: the same jobs as Sources/Experiments/Bench.swift, on
the same CPU, with the same thread count, medians over repeated steps after warm-up.

    python3 tools/bench_torch.py --jobs model:resnet-mini --repeats 3
    python3 tools/bench_torch.py --count-params      # parameter counts only (for a test)

Jobs: sgemm, conv2d, attention, model:<mini preset> (inference, then training steps),
scalekd:<teacher>:<student> (one ScaleKD distillation step). Each job runs in a child
process of its own so that its peak RSS (ru_maxrss) is its own, as on the Swift side.
The models (zoo_torch.py) and the distiller (scalekd_torch.py) must have exactly the
parameter counts of ours: `--expect-params` (JSON, passed by `scalekd bench`) is
asserted before anything is timed. Prints one JSON object
{row name: {"value": ..., "peak_rss_mib": ..., "start_rss_mib": ...}}; the row names match the Swift side's."""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scalekd_torch import ScaleKDDistiller  # noqa: E402
from zoo_torch import PRESETS, Attention, param_count  # noqa: E402

BATCH = 128
# The process's high-water mark before any work: the libraries of `import torch` (included in every peak).
START_RSS_MIB = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
# BenchJob.standard in Bench.swift (scalekd bench always passes --jobs; this is for standalone runs).
STANDARD_JOBS = (["sgemm", "conv2d", "attention"]
                 + [f"model:{n}" for n in ("resnet-mini", "mobilenet-mini", "convnext-mini", "mixer-mini-s", "mixer-mini-b",
                                           "vit-mini-s", "vit-mini-b", "swin-mini-t", "swin-mini-l")]
                 + ["scalekd:swin-mini-l:resnet-mini"])


def timed(fn, warmup=2, repeats=7):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def row(value):
    return {"value": value, "peak_rss_mib": peak_rss_mib(), "start_rss_mib": START_RSS_MIB}


def adamw(named_params):
    """AdamW with weight decay 0.05 except on norms, biases and position tables (parameterSlots in Optimizers.swift)."""
    decay, exempt = [], []
    for name, p in named_params:
        if p.requires_grad:
            skip = p.dim() <= 1 or name.endswith("pos_embed") or "relative_position_bias_table" in name
            (exempt if skip else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": exempt, "weight_decay": 0.0}], lr=1e-3)


def images():
    return torch.rand(BATCH, 1, 32, 32) - 0.5, torch.arange(BATCH) % 10


def check_count(what, ours, expected):
    if expected is None:
        return
    assert what in expected, f"--expect-params has no count for {what}"
    assert ours == expected[what], f"{what}: PyTorch has {ours} parameters, the Swift zoo {expected[what]}"


def build_distiller(job):
    _, teacher, student = job.split(":")
    return ScaleKDDistiller(PRESETS[teacher](), PRESETS[student]())


def counts(jobs):
    """Parameter counts under the keys of Bench.expectedParameters."""
    out = {}
    for job in jobs:
        if job.startswith("model:"):
            out[job[6:]] = param_count(PRESETS[job[6:]]())
        elif job.startswith("scalekd:"):
            d = build_distiller(job)
            out.update({f"{job} teacher": param_count(d.teacher), f"{job} student": param_count(d.student),
                        f"{job} projectors": param_count(d.caps)})
    return out


def kernel_rows(job):
    if job == "sgemm":
        out = {}
        for n in (256, 512, 1024, 2048):
            a, b = torch.full((n, n), 0.5), torch.full((n, n), 0.25)
            s = timed(lambda: torch.mm(a, b), repeats=5 if n >= 2048 else 9)
            out[f"sgemm {n}x{n}x{n}"] = row(2 * n**3 / s / 1e9)
        return out
    if job == "conv2d":
        conv = torch.nn.Conv2d(64, 64, 3, padding=1)
        x = (torch.rand(128, 64, 16, 16) - 0.5).requires_grad_()

        def conv_step():
            x.grad = None
            conv.zero_grad()
            conv(x).sum().backward()

        return {"conv2d 3x3 64->64 16x16 fwd+bwd": row(128 / timed(conv_step))}
    if job == "attention":
        attn = Attention(192, 3)
        y = (torch.rand(128, 64, 192) - 0.5).requires_grad_()

        def attn_step():
            y.grad = None
            attn.zero_grad()
            attn(y).sum().backward()

        return {"self-attention 64 tok, 192 wide, 3 heads fwd+bwd": row(128 / timed(attn_step))}
    raise SystemExit(f"unknown job {job}")


def model_rows(name, repeats, expected):
    """Inference (eval, no grad), then training steps; inference first so its peak RSS excludes training's."""
    model = PRESETS[name]()
    check_count(name, param_count(model), expected)
    x, labels = images()
    model.eval()
    with torch.inference_mode():
        s = timed(lambda: model(x), repeats=repeats)
    out = {f"infer {name}": row(BATCH / s)}
    model.train()
    opt = adamw(model.named_parameters())

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), labels).backward()
        opt.step()

    out[f"train {name}"] = row(BATCH / timed(step, repeats=repeats))
    return out


def scalekd_rows(job, repeats, expected):
    d = build_distiller(job)
    for part, m in (("teacher", d.teacher), ("student", d.student), ("projectors", d.caps)):
        check_count(f"{job} {part}", param_count(m), expected)
    x, labels = images()
    d.train()
    trainable = [(f"student.{n}", p) for n, p in d.student.named_parameters()] + \
                [(f"caps.{n}", p) for n, p in d.caps.named_parameters()]
    opt = adamw(trainable)

    def step():
        opt.zero_grad(set_to_none=True)
        d.loss(x, labels).backward()
        opt.step()

    _, teacher, student = job.split(":")
    return {f"scalekd step {teacher} -> {student}": row(BATCH / timed(step, repeats=repeats))}


def run_job(job, repeats, expected):
    if job.startswith("model:"):
        return model_rows(job[6:], repeats, expected)
    if job.startswith("scalekd:"):
        return scalekd_rows(job, repeats, expected)
    return kernel_rows(job)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10, help="timed steps per model row, after 2 warm-up steps")
    ap.add_argument("--jobs", default=",".join(STANDARD_JOBS))
    ap.add_argument("--expect-params", help="JSON {key: count} from the Swift side; asserted before timing")
    ap.add_argument("--count-params", action="store_true", help="print the parameter counts of --jobs and exit")
    ap.add_argument("--job", help=argparse.SUPPRESS)  # child mode: one job in this process
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    jobs = [j for j in args.jobs.split(",") if j]
    if args.count_params:
        print(json.dumps(counts(jobs)))
        return
    expected = json.loads(args.expect_params) if args.expect_params else None
    if args.job:
        print(json.dumps(run_job(args.job, args.repeats, expected)))
        return
    out = {}
    for job in jobs:
        print(f"bench: {job} (PyTorch)", file=sys.stderr, flush=True)
        cmd = [sys.executable, os.path.abspath(__file__), "--job", job, "--threads", str(args.threads),
               "--repeats", str(args.repeats)] + (["--expect-params", args.expect_params] if args.expect_params else [])
        child = subprocess.run(cmd, stdout=subprocess.PIPE)
        if child.returncode != 0:  # its own message (e.g. a parameter-count mismatch) is already on stderr
            sys.exit(f"bench_torch.py: job {job} failed (exit status {child.returncode})")
        out.update(json.loads(child.stdout))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
