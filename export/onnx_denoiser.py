"""Export a denoiser (transformer + MoG head) to ONNX, with the hash of its weights as metadata.

image: tokens int64 (B, N, D) (MASK = V in masked slots), labels int64 (B,)
speech: tokens int64 (B, N, D), cond int64 (B, N), or (B, N, F) for F ids per position (phoneme ids
        per target position, PROMPT id on the prompt, NULL_TEXT for the unconditional pass; the
        speech model's only class is 0); a self-conditioned model also takes prev float32 (B, N, E), the
        previous step's latent estimate
Both return logits float32 (B, N, K) and means float32 (B, N, K, E); B and N are dynamic.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch

import resgen
from resgen.core.denoiser import Denoiser
from resgen.core.weights import file_sha256

OPSET = 17
INPUTS = {"image": ("tokens", "labels"), "speech": ("tokens", "cond")}
OUTPUTS = ("logits", "means")


class DenoiserForONNX(torch.nn.Module):
    """Tensor-only forward with a fixed output tuple: (tokens, labels) -> (logits, means)."""

    def __init__(self, denoiser: Denoiser):
        super().__init__()
        self.denoiser = denoiser

    def forward(self, tokens, labels):
        out = self.denoiser(tokens, labels)
        return out.logits, out.means


class SpeechDenoiserForONNX(torch.nn.Module):
    """The speech model's denoiser: (tokens, cond) -> (logits, means); class 0 is built in."""

    def __init__(self, denoiser: Denoiser):
        super().__init__()
        self.denoiser = denoiser

    def forward(self, tokens, cond):
        labels = torch.zeros(tokens.shape[0], dtype=torch.long, device=tokens.device)
        out = self.denoiser(tokens, labels, cond)
        return out.logits, out.means


class SelfCondSpeechDenoiserForONNX(SpeechDenoiserForONNX):
    """A self-conditioned speech denoiser: (tokens, cond, prev) -> (logits, means)."""

    def forward(self, tokens, cond, prev):
        labels = torch.zeros(tokens.shape[0], dtype=torch.long, device=tokens.device)
        out = self.denoiser(tokens, labels, cond, prev=prev)
        return out.logits, out.means


def example_inputs(cfg, batch: int = 2, positions: int | None = None, seed: int = 0, task: str = "image"):
    """Random (tokens, labels) for images or (tokens, cond) for speech (and prev when self-conditioned), of a
    denoiser config."""
    g = torch.Generator().manual_seed(seed)
    N = positions or cfg.positions
    tokens = torch.randint(0, cfg.codebook_size + 1, (batch, N, cfg.depth), generator=g)
    if task == "speech":
        F = [cfg.cond_frames] if cfg.cond_frames > 1 else []
        cond = torch.randint(0, cfg.cond_vocab, (batch, N, *F), generator=g)
        return (tokens, cond) + ((torch.randn(batch, N, cfg.code_dim, generator=g),) if cfg.self_cond else ())
    return tokens, torch.randint(0, cfg.num_classes + 1, (batch,), generator=g)


def export_denoiser(denoiser: Denoiser, weights: Path, out: Path, task: str, opset: int = OPSET) -> Path:
    """Write `out` (.onnx), check it with onnx.checker, stamp the sha256 of `weights` into it."""
    import onnx

    denoiser = denoiser.eval()
    self_cond = task == "speech" and denoiser.cfg.self_cond
    wrapper = ((SelfCondSpeechDenoiserForONNX if self_cond else SpeechDenoiserForONNX)(denoiser) if task == "speech"
               else DenoiserForONNX(denoiser))
    names = INPUTS[task] + (("prev",) if self_cond else ())
    second = {0: "B", 1: "N"} if task == "speech" else {0: "B"}
    axes = {"tokens": {0: "B", 1: "N"}, names[1]: second, "logits": {0: "B", 1: "N"}, "means": {0: "B", 1: "N"},
            **({"prev": {0: "B", 1: "N"}} if self_cond else {})}
    tmp = out.with_name(out.name + ".tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, example_inputs(denoiser.cfg, task=task), str(tmp), dynamo=False, opset_version=opset,
            input_names=list(names), output_names=list(OUTPUTS), dynamic_axes=axes)
    return stamp_and_save(onnx.load(str(tmp)), tmp, out, task, weights, opset)


def stamp_and_save(model, tmp: Path, out: Path, task: str, weights: Path, opset: int,
                   extra: dict[str, str] | None = None) -> Path:
    """Stamp the task, version, opset, the sha256 of `weights` (and `extra`) into an onnx model's metadata, check
    it, write it to `tmp`, then move it to `out` (never a half-written `out`)."""
    import onnx
    meta = {"resgen_task": task, "resgen_version": resgen.__version__,
            "weights_sha256": file_sha256(weights), "opset": str(opset), **(extra or {})}
    for k, v in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, str(tmp))
    tmp.replace(out)
    return out


def task_denoiser(pipe) -> Denoiser:
    """The Denoiser module inside a loaded pipeline (the speech model holds one beside its duration
    predictor)."""
    return pipe.model.denoiser if hasattr(pipe, "model") else pipe.denoiser


def export_task(task: str, model_dir: Path | None = None, out: Path | None = None, opset: int = OPSET) -> Path:
    pipe = resgen.load(task, backend="torch", model_dir=model_dir)
    out = out or pipe.model_dir / "denoiser.onnx"
    return export_denoiser(task_denoiser(pipe), pipe.model_dir / pipe.denoiser_weights, Path(out), task, opset)
