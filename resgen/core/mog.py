"""Mixture-of-Gaussians head over the sum of the masked code embeddings.

For every position the head predicts K mixture logits and K means in R^E (low-rank: K x rank
coefficients times a shared (rank, E) basis, then a per-position scale and shift); every component
has the same fixed isotropic std sigma. Training uses the Jensen split of the NLL:
  -log sum_k pi_k N(z; mu_k, s^2 I) <= CE(q, pi) + sum_k q_k ||z - mu_k||^2 / (2 s^2) + const,
with q = softmax_k(-||z - mu_k||^2 / 2 s^2) held fixed (stop-gradient), so every component
receives gradient and none starves. Loss and sampler live side by side.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn as nn

from resgen.core.config import MoGConfig


MAX_SIGMA = 10.0   # the trainers' --sigma range (0, this], normalised latent units (latents have unit scale)


class MoGParams(NamedTuple):
    logits: torch.Tensor  # (B, N, K)
    means: torch.Tensor   # (B, N, K, E)


class MoGHead(nn.Module):
    def __init__(self, width: int, dim: int, cfg: MoGConfig):
        super().__init__()
        self.cfg, self.dim = cfg, dim
        K, R = cfg.components, cfg.rank
        self.to_logits = nn.Linear(width, K)
        self.to_coef = nn.Linear(width, K * R)
        self.basis = nn.Parameter(torch.randn(R, dim) / math.sqrt(R))   # (R, E)
        self.to_affine = nn.Linear(width, 2 * dim)
        nn.init.zeros_(self.to_affine.weight)
        nn.init.zeros_(self.to_affine.bias)

    def forward(self, h: torch.Tensor) -> MoGParams:
        """h (B, N, C), already normalised by the trunk -> MoGParams."""
        B, N, _ = h.shape
        K, R = self.cfg.components, self.cfg.rank
        coef = self.to_coef(h).view(B, N, K, R)                       # (B, N, K, R)
        scale, shift = self.to_affine(h).chunk(2, -1)                 # (B, N, E) each
        means = (coef @ self.basis) * (1 + scale[:, :, None]) + shift[:, :, None]  # (B, N, K, E)
        return MoGParams(self.to_logits(h), means)


def _sq(z: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """z (B, N, E), means (B, N, K, E) -> squared distances (B, N, K)."""
    return (z[:, :, None] - means).pow(2).sum(-1)


def log_prob(params: MoGParams, z: torch.Tensor, sigma: float) -> torch.Tensor:
    """Exact mixture log-density of z (B, N, E) -> (B, N)."""
    E = z.shape[-1]
    log_norm = -0.5 * E * math.log(2 * math.pi * sigma ** 2)
    comp = -_sq(z, params.means) / (2 * sigma ** 2) + log_norm                # (B, N, K)
    return torch.logsumexp(torch.log_softmax(params.logits, -1) + comp, -1)


def loss(params: MoGParams, z: torch.Tensor, weight: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
    """Jensen-split NLL bound averaged over positions with weight > 0.

    z (B, N, E) target; weight (B, N) float (1 where a position has masked tokens, else 0); sigma one float or
    (B, N), each position's own (`masking.masked_sigma`).
    """
    d2 = _sq(z, params.means)                                                 # (B, N, K)
    var2 = 2 * torch.as_tensor(sigma, dtype=d2.dtype, device=d2.device) ** 2
    var2 = var2[..., None] if var2.dim() else var2                            # (B, N, 1) or ()
    q = torch.softmax(-d2 / var2, -1).detach()                                # responsibilities
    ce = -(q * torch.log_softmax(params.logits, -1)).sum(-1)                  # (B, N)
    reg = (q * d2 / var2).sum(-1)                                             # (B, N)
    return ((ce + reg) * weight).sum() / weight.sum().clamp(min=1)


def top_p_filter(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of components whose probability reaches top_p; others get -inf."""
    if top_p >= 1.0:
        return logits
    probs = torch.softmax(logits, -1)
    sorted_p, order = probs.sort(-1, descending=True)
    keep_sorted = (sorted_p.cumsum(-1) - sorted_p) < top_p                    # always keeps the best
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return logits.masked_fill(~keep, float("-inf"))


def sample(params: MoGParams, generator: torch.Generator, top_p: float = 1.0,
           noise: float = 0.0, sigma: float = 1.0, temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw one vector per position: a component by top-p sampling over pi (its logits divided by
    `temperature`; 0 = the most likely component), then its mean (plus noise * sigma * eps).
    Returns z (B, N, E) and the chosen component (B, N)."""
    if temperature <= 0:
        comp = params.logits.argmax(-1)                                       # (B, N)
        return _draw(params, comp, generator, noise, sigma), comp
    logits = top_p_filter(params.logits.float() / temperature, top_p)
    B, N, K = logits.shape
    probs = torch.softmax(logits, -1).reshape(B * N, K)
    comp = torch.multinomial(probs, 1, generator=generator).view(B, N)        # (B, N)
    return _draw(params, comp, generator, noise, sigma), comp


def _draw(params: MoGParams, comp: torch.Tensor, generator, noise: float, sigma: float) -> torch.Tensor:
    """The chosen component's mean (B, N, E), plus noise * sigma * eps."""
    B, N = comp.shape
    z = params.means.gather(2, comp[..., None, None].expand(B, N, 1, params.means.shape[-1]))[:, :, 0]
    if noise > 0:
        eps = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
        z = z + noise * sigma * eps
    return z
