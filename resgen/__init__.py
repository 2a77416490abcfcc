"""ResGEN: masked generation over residual-vector-quantised tokens (Kim et al., ICML 2025).

    import resgen
    pipe = resgen.load("image")
    result = pipe.generate(labels=[7] * 4, steps=16, cfg=3.0, seed=0)
    emoji = resgen.load("image", model="emoji")           # the colour model; class names or indices
    result = emoji.generate(labels=["Animals & Nature"] * 4, seed=0)
"""
from __future__ import annotations

from pathlib import Path

from resgen.core.paths import assets_dir

__version__ = "0.1.0"

TASKS = ("image", "speech")


def load(task: str, backend: str = "auto", model_dir: str | Path | None = None, device: str = "cpu",
         model: str | Path | None = None):
    """Load a shipped pipeline: resgen.load("image") -> ImagePipeline, resgen.load("speech") -> SpeechPipeline.
    model (image): a shipped model's name ("image" = Fashion-MNIST, "emoji" = colour emoji, case-insensitive) or a
    folder; model_dir: a folder (either may be given)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    if model is not None and model_dir is not None:
        raise ValueError("give model or model_dir, not both")
    if task == "image":
        from resgen.image.models import resolve_image_model
        from resgen.image.pipeline import ImagePipeline
        folder = Path(model_dir) if model_dir is not None else resolve_image_model(model)
        return ImagePipeline(folder, backend=backend, device=device)
    model_dir = model if model is not None else model_dir
    model_dir = Path(model_dir) if model_dir else assets_dir() / task
    from resgen.speech.pipeline import SpeechPipeline
    return SpeechPipeline(model_dir, backend=backend, device=device)
