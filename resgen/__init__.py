"""ResGEN: masked generation over residual-vector-quantised tokens (Kim et al., ICML 2025).

    import resgen
    pipe = resgen.load("image")
    result = pipe.generate(labels=[7] * 4, steps=16, cfg=3.0, seed=0)
"""
from __future__ import annotations

from pathlib import Path

from resgen.core.paths import assets_dir

__version__ = "0.1.0"

TASKS = ("image", "speech")


def load(task: str, backend: str = "auto", model_dir: str | Path | None = None, device: str = "cpu"):
    """Load a shipped pipeline: resgen.load("image") -> ImagePipeline, resgen.load("speech") -> SpeechPipeline."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    model_dir = Path(model_dir) if model_dir else assets_dir() / task
    if task == "image":
        from resgen.image.pipeline import ImagePipeline
        return ImagePipeline(model_dir, backend=backend, device=device)
    from resgen.speech.pipeline import SpeechPipeline
    return SpeechPipeline(model_dir, backend=backend, device=device)
