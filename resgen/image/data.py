"""Fashion-MNIST from the Debian package `dataset-fashion-mnist` (IDX files, no download)."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

FASHION_DIR = Path(os.environ.get("RESGEN_FASHION_DIR", "/usr/share/datasets/fashion-mnist"))
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion_mnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Returns images uint8 (M, 28, 28) and labels int64 (M,). split: 'train' (60k) or 'test' (10k)."""
    prefix = {"train": "train", "test": "t10k"}[split]
    img = FASHION_DIR / f"{prefix}-images-idx3-ubyte.gz"
    lab = FASHION_DIR / f"{prefix}-labels-idx1-ubyte.gz"
    if not img.exists():
        raise FileNotFoundError(
            f"Fashion-MNIST not found at {FASHION_DIR}; install it with "
            "`sudo apt-get install dataset-fashion-mnist` (or set RESGEN_FASHION_DIR)")
    return _read_idx(img), _read_idx(lab).astype(np.int64)
