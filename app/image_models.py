"""The image models the app offers (Fashion-MNIST grey; colour emoji once installed), read without loading weights,
and how their pictures are shown."""
from __future__ import annotations

import json

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DEFAULT_CLASSES = ("Sneaker", "Animals & Nature")      # ticked when a model is picked (else its first class)


IMAGE_MODELS = (("image", "Fashion-MNIST (grey, 28x28)"), ("image-emoji", "Emoji (colour, 64x64)"))


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
