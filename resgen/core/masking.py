"""The forward masking process over RVQ tokens.

Within a position tokens are masked from the top (finest depth first), so a mask is fully
described by k (B, N): the number of masked depths at each position. A mask is bool (B, N, D),
True = masked, and mask[b, i, j] is True exactly when j >= D - k[b, i].
"""
from __future__ import annotations

import math

import torch


def gamma(r: torch.Tensor | float, schedule: str = "cosine"):
    """Fraction of tokens still masked at progress r in [0, 1]; gamma(0) = 1, gamma(1) = 0."""
    if schedule == "cosine":
        return torch.cos(r * math.pi / 2) if torch.is_tensor(r) else math.cos(r * math.pi / 2)
    if schedule == "linear":
        return 1 - r
    raise ValueError(f"unknown schedule {schedule!r}")


def mask_from_counts(k: torch.Tensor, depth: int) -> torch.Tensor:
    """k (B, N) masked depths per position -> mask (B, N, D), top-down."""
    j = torch.arange(depth, device=k.device)
    return j[None, None, :] >= (depth - k)[..., None]


def counts_from_mask(mask: torch.Tensor) -> torch.Tensor:
    """mask (B, N, D) -> k (B, N)."""
    return mask.sum(-1)


def sample_counts(n: torch.Tensor, positions: int, depth: int, generator: torch.Generator) -> torch.Tensor:
    """Spread n[b] masked slots uniformly over the N*D slots (multivariate hypergeometric).

    n (B,) int in [0, N*D] -> k (B, N) with k.sum(-1) == n.
    """
    B = n.shape[0]
    keys = torch.rand(B, positions * depth, generator=generator, device=n.device)
    rank = keys.argsort(-1).argsort(-1)                          # (B, N*D) rank of each slot
    chosen = rank < n[:, None]                                   # (B, N*D) exactly n[b] slots
    return chosen.view(B, positions, depth).sum(-1)              # (B, N)


def sample_training_mask(batch: int, positions: int, depth: int, generator: torch.Generator,
                         schedule: str = "cosine") -> torch.Tensor:
    """r ~ U[0,1), n = ceil(gamma(r) * N * D) masked slots, spread, masked top-down -> (B, N, D)."""
    device = generator.device
    r = torch.rand(batch, generator=generator, device=device)
    n = torch.ceil(gamma(r, schedule) * positions * depth).long().clamp(1, positions * depth)
    return mask_from_counts(sample_counts(n, positions, depth, generator), depth)


def masked_target(per_depth: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sum of the embeddings of the masked tokens: per_depth (B, N, D, E), mask (B, N, D) -> (B, N, E)."""
    return (per_depth * mask[..., None]).sum(2)


def residual_rms(per_depth: torch.Tensor) -> torch.Tensor:
    """per_depth (..., D, E) -> (D,): entry k-1 is the rms per dimension of the sum of the k deepest embeddings, the
    typical size of what a position with k masked depths (masked top-down) leaves to predict."""
    tails = per_depth.flip(-2).cumsum(-2)                       # (..., D, E): the k deepest summed, k = 1..D
    return tails.pow(2).mean(-1).reshape(-1, per_depth.shape[-2]).mean(0).sqrt()


def masked_sigma(mask: torch.Tensor, rms: torch.Tensor, sigma: float, power: float) -> torch.Tensor:
    """The MoG std of each position by its number of masked depths: mask (..., D) top-down, rms (D,) from
    `residual_rms` -> (...,) sigma (s_k / s_D)^power (a position with nothing masked gets k = 1's; the loss
    never reads it)."""
    k = mask.sum(-1).clamp(min=1)
    return sigma * (rms[k - 1] / rms[-1]) ** power


def masked_steps(steps: int, positions: int, depth: int, schedule: str = "cosine") -> list[int]:
    """Number of slots still masked after each of the T sampling steps (strictly decreasing, ends at 0).

    n_t = floor(gamma(t / T) * N * D), forced to reveal at least one slot per step.
    """
    total = positions * depth
    if steps > total:
        raise ValueError(f"steps ({steps}) cannot exceed the number of tokens ({total})")
    out, prev = [], total
    for t in range(1, steps + 1):
        n = int(math.floor(gamma(t / steps, schedule) * total + 1e-9))
        n = min(n, prev - 1)                      # reveal at least one
        n = max(n, steps - t)                     # leave at least one per remaining step
        out.append(n)
        prev = n
    return out
