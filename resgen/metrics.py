"""Image metrics: PSNR per RVQ depth, and the Frechet distance between feature sets."""
from __future__ import annotations

import numpy as np
import torch


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB for images in [0, 1]: x, y (B, ...) -> (B,)."""
    mse = (x - y).pow(2).flatten(1).mean(-1).clamp(min=1e-10)
    return -10 * torch.log10(mse)


@torch.no_grad()
def tokenizer_psnr(tokenizer, images: torch.Tensor, batch: int = 500, depths=None) -> list[float]:
    """Mean PSNR (dB) of reconstructions from the first d depths, for d in `depths` (default 1..D).

    images (M, 1, 28, 28) in [0, 1] -> one float per depth asked.
    """
    depths = list(range(1, tokenizer.cfg.rvq.depth + 1)) if depths is None else list(depths)
    sums = np.zeros(len(depths))
    for i in range(0, len(images), batch):
        x = images[i:i + batch]
        codes = tokenizer.encode(x)
        for j, d in enumerate(depths):
            sums[j] += psnr(tokenizer.decode(codes, d), x).sum().item()
    return (sums / len(images)).tolist()


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """FID between two Gaussians (numpy, float64), via the eigenvalues of sigma1 @ sigma2."""
    from scipy import linalg
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        eps = np.eye(sigma1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((sigma1 + eps) @ (sigma2 + eps))
    covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def feature_stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    feats = feats.astype(np.float64)
    return feats.mean(0), np.cov(feats, rowvar=False)
