"""Image metrics: PSNR per RVQ depth, the Frechet distance between feature sets, and the
k-nearest-neighbour precision and recall of a generated feature set against a real one."""
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


def knn_radii(feats: np.ndarray, k: int = 3, chunk: int = 1000) -> torch.Tensor:
    """feats (M, F) -> (M,) distance of every point to its k-th nearest other point: the balls whose
    union is the set's manifold in precision_recall. Computed once for a reference set that several
    sample sets are measured against."""
    if len(feats) <= k:
        raise ValueError(f"precision and recall need more than k = {k} points in each set")
    x = _tensor(feats)
    return torch.cat([torch.cdist(x[i:i + chunk], x).kthvalue(k + 1, dim=1).values   # +1: itself, at 0
                      for i in range(0, len(x), chunk)])


def _tensor(feats: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32))


def _covered(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int) -> torch.Tensor:
    """(P, F) points, (M, F) centres with (M,) radii -> (P,) bool: inside at least one centre's ball."""
    return torch.cat([(torch.cdist(points[i:i + chunk], centres) <= radii[None]).any(1)
                      for i in range(0, len(points), chunk)])


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3, chunk: int = 1000,
                     real_radii: torch.Tensor | None = None) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of fake (P, F) against real (M, F)
    features. The real set's manifold is the union of balls around each real point reaching its k-th
    nearest real neighbour; precision is the share of fake points inside it (fidelity), recall the
    share of real points inside the fake set's manifold, built the same way (coverage, diversity).
    real_radii: knn_radii(real, k), when already computed."""
    fake_radii = knn_radii(fake, k, chunk)
    if real_radii is None:
        real_radii = knn_radii(real, k, chunk)
    r, f = _tensor(real), _tensor(fake)
    precision = _covered(f, r, real_radii, chunk).float().mean().item()
    recall = _covered(r, f, fake_radii, chunk).float().mean().item()
    return precision, recall
