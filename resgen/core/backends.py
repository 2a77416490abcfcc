"""Runtime backends behind one `predict(tokens, cond) -> MoGParams` callable.

`cond` is what the task conditions on besides the tokens: class labels (B,) for images,
condition ids per position (B, N) or (B, N, F) for speech (the graph's second input, whatever its
name).

The sampler never knows which backend runs the denoiser:
  torch  - the PyTorch module (CPU, or CUDA when the pipeline lives there)
  onnx   - an onnxruntime session over <model>/denoiser.onnx (CUDA provider when it loads, else CPU)
  auto   - torch on CUDA when torch sees a GPU; onnxruntime's CUDA provider when only it can use one; on a CPU
           whichever of torch and onnxruntime is faster for this model on this machine, measured once and cached
           (resgen/core/backend_choice.py); a missing or stale .onnx file, or no onnxruntime, falls back to
           torch with a warning.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from resgen.core.mog import MoGParams

BACKENDS = ("auto", "torch", "onnx")


def _nvidia_driver_present() -> bool:
    """Ask for ORT's CUDA provider only where a GPU driver exists (else it logs a load failure)."""
    return torch.cuda.is_available() or Path("/proc/driver/nvidia/version").exists()


def session_options(threads: int | None = None):
    """CPU session options shared by every onnxruntime session of the project."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads or torch.get_num_threads()
    opts.log_severity_level = 3
    # ORT's idle worker threads spin by default and steal the cores from the torch work of the
    # sampler step between calls (measured: whole samples got slower than torch eager).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


class OrtPredict:
    """An onnxruntime session as a predict callable: torch tensors in, MoGParams out."""

    def __init__(self, path: str | Path, provider: str = "auto", threads: int | None = None):
        import onnxruntime as ort
        opts = session_options(threads)
        wanted = ["CPUExecutionProvider"]
        if (provider in ("auto", "cuda") and "CUDAExecutionProvider" in ort.get_available_providers()
                and _nvidia_driver_present()):
            wanted.insert(0, "CUDAExecutionProvider")
        self.session = ort.InferenceSession(str(path), sess_options=opts, providers=wanted)
        self.provider = self.session.get_providers()[0]
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.input_names = [i.name for i in self.session.get_inputs()]      # tokens, then labels or cond[, prev]
        # a self-conditioned speech denoiser also reads the previous step's estimate (B, N, E): its E
        self.prev_dim = next((i.shape[2] for i in self.session.get_inputs() if i.name == "prev"), None)

    def __call__(self, tokens: torch.Tensor, cond: torch.Tensor, prev: torch.Tensor | None = None) -> MoGParams:
        feed = {self.input_names[0]: tokens.cpu().numpy().astype(np.int64),
                self.input_names[1]: cond.cpu().numpy().astype(np.int64)}
        if self.prev_dim is not None:            # an absent estimate is the zero estimate, as in torch
            feed["prev"] = (np.zeros((*tokens.shape[:2], self.prev_dim), np.float32) if prev is None
                            else prev.cpu().numpy().astype(np.float32))
        logits, means = self.session.run(None, feed)
        dev = tokens.device
        return MoGParams(torch.from_numpy(logits).to(dev), torch.from_numpy(means).to(dev))


def open_checked(path: Path, weights_sha256: str, make, export_cmd: str):
    """-> (make(path), None), or (None, why it cannot be used): a missing file, no onnxruntime, a file that will
    not load, or one exported from other weights (its metadata's weights_sha256)."""
    if not path.exists():
        return None, f"{path} not found"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None, "onnxruntime is not installed"
    try:
        session = make(path)
    except Exception as e:  # a corrupt file or a provider that will not start: fall back, never fail
        return None, f"onnxruntime could not load {path}: {e}"
    if session.metadata.get("weights_sha256") != weights_sha256:
        return None, f"{path} is stale: it was exported from other weights (re-run `{export_cmd}`)"
    return session, None


def load_onnx(model_dir: Path, weights_sha256: str, provider: str = "auto") -> tuple[OrtPredict | None, str | None]:
    """Open <model_dir>/denoiser.onnx once -> (session, None), or (None, why it cannot be used)."""
    return open_checked(model_dir / "denoiser.onnx", weights_sha256, lambda p: OrtPredict(p, provider=provider),
                        "python -m export onnx")


def make_predict(pipe, backend: str = "auto"):
    """-> (predict callable, description of the backend actually used).

    `pipe` provides model_dir, device, torch_predict (the PyTorch callable) and
    weights_sha256(pipe.denoiser_weights) (the weights file the ONNX graph must come from)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    torch_pair = (pipe.torch_predict, f"torch ({pipe.device.type})")
    if backend == "torch" or (backend == "auto" and pipe.device.type == "cuda"):
        return torch_pair
    ort, why = load_onnx(pipe.model_dir, pipe.weights_sha256(pipe.denoiser_weights))
    if ort is not None:
        ort_pair = (ort, f"onnxruntime ({ort.provider.replace('ExecutionProvider', '')})")
        if backend == "auto" and ort.provider == "CPUExecutionProvider":
            from resgen.core.backend_choice import choose
            choice, _ = choose(pipe, ort)
            return torch_pair if choice == "torch" else ort_pair
        return ort_pair
    warnings.warn(f"{why}; using the torch backend", stacklevel=2)
    return torch_pair
