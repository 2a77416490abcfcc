"""Export a denoiser (transformer + MoG head) to ONNX, with the hash of its weights as metadata.

The graph takes tokens int64 (B, N, D) (MASK = V in masked slots) and labels int64 (B,) and
returns logits float32 (B, N, K) and means float32 (B, N, K, E); B and N are dynamic.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch

import resgen
from resgen.denoiser import Denoiser
from resgen.weights import file_sha256

OPSET = 17
INPUTS = ("tokens", "labels")
OUTPUTS = ("logits", "means")


class DenoiserForONNX(torch.nn.Module):
    """Tensor-only forward with a fixed output tuple."""

    def __init__(self, denoiser: Denoiser):
        super().__init__()
        self.denoiser = denoiser

    def forward(self, tokens, labels):
        out = self.denoiser(tokens, labels)
        return out.logits, out.means


def example_inputs(cfg, batch: int = 2, positions: int | None = None, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    N = positions or cfg.positions
    tokens = torch.randint(0, cfg.codebook_size + 1, (batch, N, cfg.depth), generator=g)
    labels = torch.randint(0, cfg.num_classes + 1, (batch,), generator=g)
    return tokens, labels


def export_denoiser(denoiser: Denoiser, weights: Path, out: Path, task: str, opset: int = OPSET) -> Path:
    """Write `out` (.onnx), check it with onnx.checker, stamp the sha256 of `weights` into it."""
    import onnx

    denoiser = denoiser.eval()
    wrapper = DenoiserForONNX(denoiser)
    tmp = out.with_name(out.name + ".tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, example_inputs(denoiser.cfg), str(tmp), dynamo=False, opset_version=opset,
            input_names=list(INPUTS), output_names=list(OUTPUTS),
            dynamic_axes={"tokens": {0: "B", 1: "N"}, "labels": {0: "B"},
                          "logits": {0: "B", 1: "N"}, "means": {0: "B", 1: "N"}})
    model = onnx.load(str(tmp))
    meta = {"resgen_task": task, "resgen_version": resgen.__version__,
            "weights_sha256": file_sha256(weights), "opset": str(opset)}
    for k, v in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, str(tmp))
    tmp.replace(out)
    return out


def export_task(task: str, model_dir: Path | None = None, out: Path | None = None, opset: int = OPSET) -> Path:
    pipe = resgen.load(task, backend="torch", model_dir=model_dir)
    out = out or pipe.model_dir / "denoiser.onnx"
    return export_denoiser(pipe.denoiser, pipe.model_dir / "denoiser.safetensors", Path(out), task, opset)
