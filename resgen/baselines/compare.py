"""Image generators side by side on the same RVQ tokens: what is installed, and one run record.

A models folder (assets/ by default) may hold, next to the shipped ResGEN model `image/`:
  image-d<D>/   ResGEN on a depth-D tokenizer (a model folder like image/: config.json, ...; an
                optional "label" in config.json names it, e.g. with its training recipe)
  image-ar/     the autoregressive baseline (ar.json + ar.safetensors, `resgen train image-ar`);
                its samples are decoded by the ResGEN model folder whose tokenizer it was trained on

Every run, whatever the model, becomes a `CompareRun` whose `arrays` follow the trace-file format
(resgen/core/trace.py) with F frames, so one renderer shows both:
  ResGEN  F = T frames, one per sampling step (one network call each; its CFG rows ride in the same batch)
  AR      F = N frames, one per position in raster order; each frame draws that position's D
          tokens, depth 1 first (D network calls per frame; its CFG rows ride in the same batch)
`frame_calls[f]` counts the network calls made by the end of frame f, so two runs can be shown
at the same share of their work.

Shape legend: B batch, N positions, D depth, F frames.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from resgen.core.trace import trace_arrays
from resgen.core.weights import ModelFileError, read_json

AR_FOLDER = "image-ar"


@dataclass(frozen=True)
class ModelEntry:
    name: str      # shown to users, e.g. "ResGEN D=8 (shipped)"
    kind: str      # "resgen" or "ar"
    folder: Path
    depth: int


def installed_image_models(root: str | Path) -> list[ModelEntry]:
    """The image generators under `root`: ResGEN models (shipped first, then by depth), then the AR
    baseline. Folders without their config file are skipped; broken files are reported on load."""
    root = Path(root)
    out = []
    for folder in [root / "image"] + sorted(root.glob("image-d*"), key=lambda p: _depth_of(p.name)):
        if not (folder / "config.json").exists() or (folder.name != "image" and _depth_of(folder.name) < 0):
            continue
        label = None
        try:
            meta = read_json(folder / "config.json")
            depth, label = int(meta["denoiser"]["depth"]), meta.get("label")
        except (ModelFileError, KeyError, TypeError, ValueError):
            depth = _depth_of(folder.name)
        shipped = " (shipped)" if folder.name == "image" else ""
        out.append(ModelEntry(str(label or f"ResGEN D={depth}{shipped}"), "resgen", folder, depth))
    ar = root / AR_FOLDER
    if (ar / "ar.json").exists():
        label = None
        try:
            meta = read_json(ar / "ar.json")
            depth, label = int(meta["ar"]["depth"]), meta.get("label")
        except (ModelFileError, KeyError, TypeError, ValueError):
            depth = 0
        out.append(ModelEntry(str(label or f"Autoregressive D={depth} (RQ-Transformer baseline)"), "ar", ar, depth))
    return out


def _depth_of(name: str) -> int:
    m = re.fullmatch(r"image-d(\d+)", name)
    return int(m.group(1)) if m else -1


@dataclass
class CompareRun:
    name: str
    images: np.ndarray        # uint8 (B, 28, 28)
    arrays: dict              # trace arrays with F frames (resgen/core/trace.py format)
    frame_calls: np.ndarray   # int (F,) network calls made by the end of each frame
    seconds: float            # sampling + decoding, this process
    settings: dict = field(default_factory=dict)

    @property
    def calls(self) -> int:
        return int(self.frame_calls[-1])

    @property
    def frames(self) -> int:
        return len(self.frame_calls)

    def frame_at(self, share: float) -> int:
        """The last frame done when `share` (0..1] of this run's network calls are made (0-based)."""
        need = max(1, int(np.ceil(min(max(share, 0.0), 1.0) * self.calls)))
        return int(np.searchsorted(self.frame_calls, need))


def run_resgen(pipe, name: str, labels: list[int], seed: int, cfg: float, steps: int | None = None,
               temperature: float | None = None, top_p: float | None = None) -> CompareRun:
    """Sample with an ImagePipeline; one frame per step."""
    res = pipe.generate(labels, steps=steps, cfg=cfg, temperature=temperature, top_p=top_p, seed=seed)
    T = len(res.traces)
    return CompareRun(name, res.images, trace_arrays(res.traces), np.arange(1, T + 1), res.seconds,
                      dict(res.settings, backend=res.backend, depth=pipe.depth))


def check_ar_tokens(model_folder: str | Path, pipe) -> None:
    """Raise ModelFileError unless the AR model was trained on the tokens of `pipe`'s tokenizer."""
    meta = read_json(Path(model_folder) / "ar.json")
    want = meta.get("tokenizer_sha256")
    have = pipe.weights_sha256("tokenizer.safetensors")
    if want != have:
        raise ModelFileError(f"{model_folder} was trained on the tokens of another tokenizer "
                             f"({str(want)[:12]}..., not {have[:12]}... of {pipe.model_dir})")


def run_ar(model, pipe, name: str, labels: list[int], seed: int, cfg: float, temperature: float = 1.0,
           top_p: float = 1.0) -> CompareRun:
    """Sample the AR baseline (resgen.baselines.ar.RQTransformer) and decode with `pipe`'s tokenizer."""
    from resgen.baselines.ar import sample
    if not 0 <= cfg <= 20:
        raise ValueError("cfg must be between 0 and 20")
    t0 = time.perf_counter()
    y = torch.tensor(labels)
    res = sample(model, y, torch.Generator().manual_seed(int(seed)), cfg=cfg, temperature=temperature, top_p=top_p)
    images = pipe.to_uint8(pipe.decode(res.codes))
    seconds = time.perf_counter() - t0
    N, D = res.codes.shape[1:]
    settings = {"cfg": float(cfg), "temperature": float(temperature), "top_p": float(top_p), "seed": int(seed),
                "backend": "torch", "depth": int(D)}
    return CompareRun(name, images, ar_trace_arrays(res.codes, res.logp), np.arange(1, N + 1) * D, seconds, settings)


def ar_trace_arrays(codes: torch.Tensor, logp: torch.Tensor) -> dict[str, np.ndarray]:
    """An AR sample as trace arrays: codes (B, N, D), logp (B, N, D) -> arrays with F = N frames;
    frame f has positions 0..f drawn (f revealed at that frame), the rest masked."""
    codes, logp = codes.cpu(), logp.cpu().float()
    B, N, D = codes.shape
    drawn = (torch.arange(N)[None, :] <= torch.arange(N)[:, None])              # (F, N): position drawn by frame f
    mask = ~drawn[:, None, :, None].expand(N, B, N, D)                            # (F, B, N, D)
    now = torch.eye(N, dtype=torch.bool)[:, None, :, None].expand(N, B, N, D)
    frame_codes = torch.where(mask, 0, codes[None].expand(N, B, N, D))
    conf = torch.where(now, logp[None].expand(N, B, N, D), torch.tensor(float("nan")))
    return {"codes": frame_codes.numpy().astype(np.int16), "mask": mask.numpy().copy(),
            "revealed": now.numpy().copy(), "confidence": conf.numpy().astype(np.float32),
            "pred_codes": frame_codes.numpy().astype(np.int16),
            "component": np.zeros((N, B, N), np.int16),
            "masked": mask[:, 0].reshape(N, -1).sum(1).numpy().astype(np.int32)}


def revealed_share(run: CompareRun, sample: int = 0) -> np.ndarray:
    """Share of the N*D slots of one sample known after each frame -> float (F,)."""
    mask = run.arrays["mask"][:, sample]
    return 1.0 - mask.reshape(mask.shape[0], -1).mean(1)
