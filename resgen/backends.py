"""Runtime backends behind one `predict(tokens, cond) -> MoGParams` callable.

The sampler never knows which backend runs the denoiser. Today: PyTorch eager. The ONNX Runtime
backend (issue: ONNX-exported denoisers) plugs in here.
"""
from __future__ import annotations

import warnings

BACKENDS = ("auto", "torch", "onnx")


def make_predict(pipe, backend: str = "auto"):
    """-> (predict callable, name of the backend actually used)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    onnx_path = pipe.model_dir / "denoiser.onnx"
    if backend == "onnx" and not onnx_path.exists():
        warnings.warn(f"{onnx_path} not found; using the torch backend", stacklevel=2)
    return pipe.denoiser, f"torch ({pipe.device.type})"
