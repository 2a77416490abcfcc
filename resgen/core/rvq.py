"""Residual vector quantisation with one codebook per depth.

codes (B, N, D) int64 <-> latents (B, N, E). Depth j quantises the residual left by depths < j,
so decoding with only the first d depths gives a coarser reconstruction.
Codebooks are learned by EMA k-means updates with data initialisation and dead-code restart.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn as nn

from resgen.core.config import RVQConfig


def _sq_dist(x: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """x (M, E), codebook (V, E) -> squared distances (M, V)."""
    return x.pow(2).sum(-1, keepdim=True) - 2 * x @ codebook.t() + codebook.pow(2).sum(-1)[None]


def _all_reduce(t: torch.Tensor) -> torch.Tensor:
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t)
    return t


class ResidualVQ(nn.Module):
    def __init__(self, cfg: RVQConfig):
        super().__init__()
        self.cfg = cfg
        D, V, E = cfg.depth, cfg.codebook_size, cfg.dim
        self.register_buffer("codebooks", torch.randn(D, V, E) * 0.1)  # (D, V, E)
        self.register_buffer("ema_count", torch.ones(D, V))
        self.register_buffer("ema_sum", self.codebooks.clone())
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    # ---- inference -------------------------------------------------------------------------
    def encode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, N, E) -> codes (B, N, D)."""
        codes, _ = self._quantise(z)
        return codes

    def decode(self, codes: torch.Tensor, depth: int | None = None) -> torch.Tensor:
        """codes (B, N, D) -> sum of the first `depth` embeddings (B, N, E)."""
        return self.embed_per_depth(codes)[:, :, : (depth or self.cfg.depth)].sum(2)

    def embed_per_depth(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (B, N, D) -> per-depth embeddings (B, N, D, E)."""
        D = self.cfg.depth
        depth_idx = torch.arange(D, device=codes.device)
        return self.codebooks[depth_idx, codes.clamp(0, self.cfg.codebook_size - 1)]  # (B, N, D, E)

    def quantise_from(self, z: torch.Tensor, start: torch.Tensor, beta: float, temperature: float = 0.0,
                      generator: torch.Generator | None = None):
        """Residual-quantise z into depths start..D-1 of each position.

        z (B, N, E) is the predicted sum of the embeddings of the masked depths; start (B, N)
        is the first masked depth. At each depth the code is the nearest one (temperature 0) or a
        draw from softmax(-dist / (beta * temperature)) (temperature 1: the code posterior of a
        Gaussian of variance beta / 2 around the residual, so the draw lands on the codebook lattice
        instead of snapping to the nearest point). Returns codes (B, N, D) (undefined below start,
        set to 0) and log p (B, N, D) of each chosen code under softmax(-dist / beta) (0 below start).
        """
        B, N, E = z.shape
        D = self.cfg.depth
        r = z.reshape(B * N, E)
        start = start.reshape(B * N)
        codes, logps = [], []
        for j in range(D):
            d2 = _sq_dist(r, self.codebooks[j])                      # (BN, V)
            if temperature > 0:
                probs = torch.softmax(-d2 / (beta * temperature), -1)
                idx = torch.multinomial(probs, 1, generator=generator)[:, 0]
            else:
                idx = d2.argmin(-1)                                  # (BN,)
            logp = torch.log_softmax(-d2 / beta, -1).gather(-1, idx[:, None])[:, 0]
            active = start <= j                                      # (BN,)
            r = r - active[:, None] * self.codebooks[j][idx]
            codes.append(torch.where(active, idx, 0))
            logps.append(torch.where(active, logp, 0.0))
        return torch.stack(codes, -1).view(B, N, D), torch.stack(logps, -1).view(B, N, D)

    # ---- training ----------------------------------------------------------------------------
    def forward(self, z: torch.Tensor, keep: torch.Tensor | None = None):
        """Training pass. z (B, N, E); keep (B,) optional number of depths to use per sample
        (quantiser dropout, so that partial-depth decoding is trained too).
        Returns (z_q straight-through (B, N, E), codes (B, N, D), commitment loss)."""
        if self.training and not bool(self.initialised):
            self._data_init(z.detach())
        codes, zq = self._quantise(z.detach(), update=self.training, keep=keep)
        commit = (z - zq).pow(2).mean()
        return z + (zq - z).detach(), codes, commit

    def _quantise(self, z: torch.Tensor, update: bool = False, keep: torch.Tensor | None = None):
        B, N, E = z.shape
        r = z.reshape(B * N, E)
        codes = []
        zq = torch.zeros_like(r)
        if keep is not None:
            keep = keep.to(z.device).repeat_interleave(N)                 # (BN,)
        for j in range(self.cfg.depth):
            idx = _sq_dist(r, self.codebooks[j]).argmin(-1)          # (BN,)
            if update:
                self._ema_update(j, r, idx)
            q = self.codebooks[j][idx]
            zq = zq + (q if keep is None else q * (j < keep)[:, None])
            r = r - q
            codes.append(idx)
        return torch.stack(codes, -1).view(B, N, -1), zq.view(B, N, E)

    @torch.no_grad()
    def _data_init(self, z: torch.Tensor):
        """Initialise each depth's codebook from residuals of the first batch (k-means++-lite)."""
        r = z.reshape(-1, z.shape[-1])
        g = torch.Generator(device="cpu").manual_seed(0)
        for j in range(self.cfg.depth):
            pick = torch.randint(0, r.shape[0], (self.cfg.codebook_size,), generator=g).to(r.device)
            cb = _all_reduce(r[pick].clone()) / (dist.get_world_size() if dist.is_initialized() else 1)
            self.codebooks[j] = cb
            self.ema_sum[j] = cb
            self.ema_count[j] = 1.0
            r = r - cb[_sq_dist(r, cb).argmin(-1)]
        self.initialised.fill_(True)

    @torch.no_grad()
    def _ema_update(self, j: int, r: torch.Tensor, idx: torch.Tensor):
        V, decay = self.cfg.codebook_size, self.cfg.ema_decay
        onehot_count = torch.bincount(idx, minlength=V).to(r.dtype)                  # (V,)
        sums = torch.zeros(V, r.shape[1], device=r.device, dtype=r.dtype).index_add_(0, idx, r)
        _all_reduce(onehot_count)
        _all_reduce(sums)
        self.ema_count[j].mul_(decay).add_(onehot_count, alpha=1 - decay)
        self.ema_sum[j].mul_(decay).add_(sums, alpha=1 - decay)
        self.codebooks[j] = self.ema_sum[j] / self.ema_count[j].clamp(min=1e-5)[:, None]
        # Dead-code restart: move rarely used codes onto random residuals of this batch.
        dead = self.ema_count[j] < self.cfg.dead_threshold
        n_dead = int(dead.sum())
        if n_dead:
            pick = torch.randint(0, r.shape[0], (n_dead,), device=r.device)
            new = r[pick]
            if dist.is_available() and dist.is_initialized():
                dist.broadcast(new, 0)
            self.codebooks[j][dead] = new
            self.ema_sum[j][dead] = new
            self.ema_count[j][dead] = 1.0

    def usage(self) -> torch.Tensor:
        """Fraction of live codes per depth (D,)."""
        return (self.ema_count >= self.cfg.dead_threshold).float().mean(-1)
