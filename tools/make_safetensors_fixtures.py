#!/usr/bin/env python3
"""Reference safetensors files for Tests/StoreTests/SafeTensorsTests.swift, written by the
reference implementation (the `safetensors` package, Rust serializer), so the Swift
reader is checked against real files and the Swift writer against real bytes.

    python3 -m venv /tmp/st && /tmp/st/bin/pip install safetensors==0.8.0 numpy
    /tmp/st/bin/python tools/make_safetensors_fixtures.py

writes Tests/StoreTests/Fixtures/
  reference_f32.safetensors    F32 only, one metadata key (a HashMap on the Rust side,
                               so one key keeps the header byte-deterministic); the
                               Swift writer must reproduce it byte for byte.
  reference_mixed.safetensors  F32, F16 and BF16 with "__metadata__"; the reference
                               orders data by dtype size (F32 first), then by name,
                               so the data order differs from the name order.
CI has no Python packages: the tests only read the committed files."""
import os

import numpy as np
from safetensors import _safetensors_rust as rust
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "StoreTests", "Fixtures")


def spec(dtype, shape, buffer, keep):
    keep.append(buffer)
    return rust.TensorSpec(dtype=dtype, shape=tuple(shape), data_ptr=buffer.ctypes.data, data_len=buffer.nbytes)


def main():
    os.makedirs(OUT, exist_ok=True)
    save_file({
        "stem.weight": np.array([[0.5, -1.25], [3.0, 1e-3]], dtype=np.float32),
        "head.bias": np.array([-0.0, 65504.0, 1e-30], dtype=np.float32),
        "scalar": np.array(7.0, dtype=np.float32),
    }, os.path.join(OUT, "reference_f32.safetensors"), metadata={"format": "pt"})

    # numpy has no bfloat16: BF16 values are the top halves of float32 values that
    # bfloat16 holds exactly (1, -3.140625, 2^-7, the largest finite bf16, -inf).
    bf16_source = np.array([1.0, -3.140625, 0.0078125, 3.3895313892515355e38, -np.inf], dtype=np.float32)
    bf16 = (bf16_source.view(np.uint32) >> 16).astype("<u2")
    # F16: 1, -2.5, the smallest subnormal 2^-24, a subnormal 3 * 2^-16, the largest
    # finite 65504, +inf.
    f16 = np.array([1.0, -2.5, 2.0 ** -24, 3 * 2.0 ** -16, 65504.0, np.inf], dtype="<f2")
    f32 = np.array([[0.5, -1.25, 3.0], [1e-3, -0.0, 123456.0]], dtype="<f4")
    keep = []
    tensors = {
        "a.bf16": spec("bfloat16", [5], bf16, keep),
        "blocks.0.bias": spec("float16", [2, 3], f16, keep),
        "blocks.0.weight": spec("float32", [2, 3], f32, keep),
        "scalar": spec("float32", [], np.array(7.0, dtype="<f4"), keep),
        "empty": spec("float32", [0, 3], np.zeros(0, dtype="<f4"), keep),
    }
    rust.serialize_file(tensors, os.path.join(OUT, "reference_mixed.safetensors"),
                        metadata={"format": "pt", "source": "tools/make_safetensors_fixtures.py"})


if __name__ == "__main__":
    main()
