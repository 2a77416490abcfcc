"""HiFi-GAN behind one callable, log-mel (B, 80, F) -> audio (B, F * 256), on torch or onnxruntime.

The vocoder is most of a speech sample's time on a CPU (2.6 of 3 s for 4.5 s of speech), so it runs where it
is fastest, as the denoiser does (resgen/core/backends.py):
  torch  - the HiFi-GAN module of vocoder.safetensors (CPU, or CUDA when the pipeline lives there)
  onnx   - an onnxruntime session over vocoder.onnx beside it (`python -m export vocoder-onnx`)
  auto   - torch on CUDA; on a CPU whichever is faster on this machine, timed once on a 1-s mel and cached
           (resgen/core/backend_choice.py)
The shipped vocoder.onnx runs the residual blocks of the first three upsampling stages in int8, all but stage 3's
11-tap block (`python -m export vocoder-onnx --int8-stages 1,2,3 --float-blocks 3:11 --calibration DIR`,
export/vocoder_int8.py): about 1.5 times as fast as the float graph; with the pause gate that every HiFi-GAN output
goes through (resgen/speech/pause_gate.py) its speech measures level with the float module's (docs/backends.md). The
torch backend is the float module. `python -m export vocoder-onnx` alone writes a float graph that computes what torch
computes. `auto` times whichever graph is there: the choice is cached per graph, not per weights.
vocoder.onnx carries the sha256 of the safetensors it was exported from; a missing, unloadable or stale graph,
or no onnxruntime, falls back to torch with a warning.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from resgen.speech.vocoder import load_hifigan

PROBE_FRAMES = 86           # 1 s of mel frames: long enough to time the convolutions, short enough to wait for
PROBE_REPEATS = 3


class OrtHifiGan:
    """An onnxruntime session over vocoder.onnx as a callable: mel (B, 80, F) -> audio (B, F * 256)."""

    def __init__(self, path: str | Path, threads: int | None = None):
        import onnxruntime as ort

        from resgen.core.backends import session_options
        self.session = ort.InferenceSession(str(path), sess_options=session_options(threads),
                                            providers=["CPUExecutionProvider"])
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, mel: torch.Tensor) -> torch.Tensor:
        out = self.session.run(None, {self.input_name: mel.detach().cpu().numpy().astype(np.float32)})[0]
        return torch.from_numpy(out).to(mel.device)


def precision(vocoder) -> str:
    """What a loaded vocoder computes in: "float", or the int8 part of an onnxruntime graph's export (its metadata),
    e.g. "int8 stages 1,2,3 (3:11 float)"."""
    meta = getattr(vocoder, "metadata", {})
    stages, kept = meta.get("int8_stages", "none"), meta.get("int8_float_blocks", "none")
    if stages == "none":
        return "float"
    return f"int8 stages {stages}" + ("" if kept == "none" else f" ({kept} float)")


def open_onnx(weights: Path, weights_sha256: str | None = None) -> tuple[OrtHifiGan | None, str | None]:
    """-> (session, None) for the vocoder.onnx beside `weights`, or (None, why it cannot be used)."""
    from resgen.core.backends import open_checked
    from resgen.core.weights import file_sha256
    return open_checked(weights.with_suffix(".onnx"), weights_sha256 or file_sha256(weights), OrtHifiGan,
                        "python -m export vocoder-onnx")


def load_vocoder(weights: str | Path, backend: str = "auto", device: str | torch.device = "cpu"):
    """-> (callable mel -> audio, "torch" or "onnxruntime"). The torch module is always loaded: it checks the
    weights file and is the fallback."""
    from resgen.core.backends import BACKENDS
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    weights = Path(weights)
    model = load_hifigan(weights, device)
    if backend == "torch" or torch.device(device).type == "cuda":
        return model, "torch"
    from resgen.core.weights import file_sha256
    sha = file_sha256(weights)
    session, why = open_onnx(weights, sha)
    if session is None:
        warnings.warn(f"{why}; the vocoder runs on torch", stacklevel=2)
        return model, "torch"
    if backend == "auto":
        from resgen.core.backend_choice import choose_fastest
        probe = torch.full((1, 80, PROBE_FRAMES), -5.0, device=torch.device(device))
        probe[:, :40] += torch.linspace(0, 3, PROBE_FRAMES)       # some structure, so no branch is trivial
        # keyed by the graph, not the weights: a re-exported graph (float or part int8) is timed afresh
        choice, _ = choose_fastest(file_sha256(weights.with_suffix(".onnx")), model, session, (probe,), PROBE_REPEATS)
        if choice == "torch":
            return model, "torch"
    return session, "onnxruntime"
