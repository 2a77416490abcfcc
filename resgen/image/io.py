"""Writing generated images: one PNG per image and a labelled grid."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def make_grid(images: np.ndarray, cols: int | None = None, pad: int = 2, scale: int = 1) -> np.ndarray:
    """uint8 (B, H, W) or (B, H, W, 3) -> uint8 grid (rows*(H+pad)+pad, cols*(W+pad)+pad[, 3]), nearest upscaled."""
    B, H, W = images.shape[:3]
    cols = cols or int(np.ceil(np.sqrt(B)))
    rows = int(np.ceil(B / cols))
    grid = np.full((rows * (H + pad) + pad, cols * (W + pad) + pad) + images.shape[3:], 64, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        grid[pad + r * (H + pad): pad + r * (H + pad) + H, pad + c * (W + pad): pad + c * (W + pad) + W] = im
    return grid.repeat(scale, 0).repeat(scale, 1) if scale > 1 else grid


def save_images(out_dir: Path, images: np.ndarray, labels: list[int], classes: list[str]) -> list[Path]:
    from PIL import Image
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (im, y) in enumerate(zip(images, labels)):
        name = classes[y].lower().replace("/", "-").replace(" ", "-")
        p = out_dir / f"{i:03d}_{y}_{name}.png"
        Image.fromarray(im).save(p)
        paths.append(p)
    Image.fromarray(make_grid(images, scale=4)).save(out_dir / "grid.png")
    return paths
