"""The shipped image models by name: `image` (Fashion-MNIST, grey 28x28) and `emoji` (colour 64x64), and how a name
or a folder given by a user (CLI --model, resgen.load(model=...), the app's API) becomes a model folder.

    resolve_image_model("emoji")          -> assets/image-emoji
    resolve_image_model("runs/my-model")  -> runs/my-model (any folder with a config.json)
"""
from __future__ import annotations

from pathlib import Path

# name -> (folder under assets/, label shown in the app); the first is the default
SHIPPED_IMAGE_MODELS = {
    "image": ("image", "Fashion-MNIST (grey)"),
    "emoji": ("image-emoji", "Emoji (colour)"),
}
ALIASES = {"fashion": "image", "fashion-mnist": "image", "image-emoji": "emoji"}


def image_model_name(text: str) -> str | None:
    """A shipped model's name for `text` (case-insensitive; its folder name, label or an alias also match), else
    None."""
    key = text.strip().lower()
    key = ALIASES.get(key, key)
    if key in SHIPPED_IMAGE_MODELS:
        return key
    for name, (_, label) in SHIPPED_IMAGE_MODELS.items():
        if key == label.lower():
            return name
    return None


def resolve_image_model(model: str | Path | None, root: str | Path | None = None) -> Path:
    """A shipped model's name (see SHIPPED_IMAGE_MODELS) or a model folder -> the folder. None = the default model.
    ValueError, naming the valid choices, for anything else."""
    from resgen.core.paths import assets_dir
    root = Path(root) if root is not None else assets_dir()
    if model is None or (isinstance(model, str) and not model.strip()):
        return root / SHIPPED_IMAGE_MODELS["image"][0]
    name = image_model_name(str(model)) if isinstance(model, str) else None
    if name is not None:
        return root / SHIPPED_IMAGE_MODELS[name][0]
    folder = Path(model)
    if folder.is_dir() or not isinstance(model, str) or "/" in model or "\\" in model:
        return folder                           # a folder (a missing or incomplete one is reported when loaded)
    raise ValueError(f"unknown image model {str(model)!r}: give a shipped model's name "
                     f"({', '.join(SHIPPED_IMAGE_MODELS)}) or a model folder")
