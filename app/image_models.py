"""The image models the app offers (Fashion-MNIST grey; colour emoji once installed), read without loading weights,
and how their pictures are shown."""
from __future__ import annotations

import json

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DEFAULT_CLASSES = ("Sneaker", "Animals & Nature")      # ticked when a model is picked (else its first class)


def _shipped():
    from resgen.image.models import SHIPPED_IMAGE_MODELS    # light: no torch
    return tuple(SHIPPED_IMAGE_MODELS.values())


IMAGE_MODELS = _shipped()                                   # ((folder under assets/, label), ...)


def model_label(text, labels) -> str | None:
    """The app's label for `text`: one of `labels` as given, or a shipped model's name ("emoji", "image", any case)
    whose label is among them; None if neither."""
    if not text:
        return None
    if text in labels:
        return text
    from resgen.image.models import SHIPPED_IMAGE_MODELS, image_model_name
    name = image_model_name(str(text))
    label = SHIPPED_IMAGE_MODELS[name][1] if name else None
    return label if label in labels else None


def model_classes(folder) -> list[str]:
    """The class names in a model's config.json (read without loading weights); Fashion-MNIST's if unreadable."""
    try:
        return list(json.loads((folder / "config.json").read_text())["classes"])
    except (OSError, ValueError, KeyError):
        return list(CLASSES)


def image_models(root=None) -> dict:
    """The image models the Image tab offers: {label: folder} for each of IMAGE_MODELS under `root` (assets/) that
    is installed; the Fashion-MNIST model is always listed (a missing one is reported when it is first used)."""
    from pathlib import Path

    from resgen import assets_dir
    root = Path(root) if root is not None else assets_dir()
    return {label: root / name for name, label in IMAGE_MODELS
            if name == "image" or (root / name / "config.json").exists()}


def zoom(size: int) -> int:
    """Screen pixels per image pixel of the previews: 8 for 28x28 Fashion-MNIST, 4 for 64x64 emoji."""
    return 8 if size <= 32 else 4


def default_class(classes: list[str]) -> str:
    return next((c for c in classes if c in DEFAULT_CLASSES), classes[0])
