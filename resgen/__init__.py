"""ResGEN: masked generation over residual-vector-quantised tokens (Kim et al., ICML 2025).

    import resgen
    pipe = resgen.load("image")
    result = pipe.generate(labels=[7] * 4, steps=16, cfg=3.0, seed=0)
"""
from __future__ import annotations

import os
from pathlib import Path

__version__ = "0.1.0"

TASKS = ("image", "speech")


def assets_dir() -> Path:
    """The folder with shipped models: $RESGEN_ASSETS, else assets/ next to the package."""
    return Path(os.environ.get("RESGEN_ASSETS", Path(__file__).resolve().parent.parent / "assets"))


def load(task: str, backend: str = "auto", model_dir: str | Path | None = None, device: str = "cpu"):
    """Load a shipped pipeline: resgen.load("image") -> ImagePipeline, resgen.load("speech") -> SpeechPipeline."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    model_dir = Path(model_dir) if model_dir else assets_dir() / task
    if task == "image":
        from .pipelines.image import ImagePipeline
        return ImagePipeline(model_dir, backend=backend, device=device)
    from .pipelines.speech import SpeechPipeline
    return SpeechPipeline(model_dir, backend=backend, device=device)
