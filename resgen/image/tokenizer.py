"""Convolutional RQ-VAE for small grey images: (B, 1, 32, 32) <-> codes (B, N=64, D).

The encoder maps a 32x32 image to an 8x8 grid of E-dim latents, the residual quantiser turns each
cell into D codes, and the decoder maps (partial) sums of code embeddings back to pixels.
Pixels are in [0, 1]; 28x28 inputs are zero-padded by 2 on each side.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from resgen.core.config import ImageTokenizerConfig
from resgen.core.rvq import ResidualVQ


class ResBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.GroupNorm(8, ch), nn.SiLU(), nn.Conv2d(ch, ch, 3, padding=1),
            nn.GroupNorm(8, ch), nn.SiLU(), nn.Conv2d(ch, ch, 3, padding=1),
        )

    def forward(self, x):
        return x + self.block(x)


class ImageTokenizer(nn.Module):
    def __init__(self, cfg: ImageTokenizerConfig):
        super().__init__()
        self.cfg = cfg
        c0, c1, c2 = cfg.channels
        E = cfg.rvq.dim
        self.encoder = nn.Sequential(
            nn.Conv2d(cfg.in_channels, c0, 3, padding=1),             # 32x32
            nn.SiLU(), nn.Conv2d(c0, c1, 4, stride=2, padding=1),     # 16x16
            ResBlock(c1),
            nn.SiLU(), nn.Conv2d(c1, c2, 4, stride=2, padding=1),     # 8x8
            ResBlock(c2), ResBlock(c2),
            nn.GroupNorm(8, c2), nn.SiLU(), nn.Conv2d(c2, E, 1),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(E, c2, 3, padding=1),
            ResBlock(c2), ResBlock(c2),
            nn.GroupNorm(8, c2), nn.SiLU(), nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1),  # 16x16
            ResBlock(c1),
            nn.GroupNorm(8, c1), nn.SiLU(), nn.ConvTranspose2d(c1, c0, 4, stride=2, padding=1),  # 32x32
            nn.GroupNorm(8, c0), nn.SiLU(), nn.Conv2d(c0, cfg.in_channels, 3, padding=1),
        )
        self.rvq = ResidualVQ(cfg.rvq)

    @property
    def grid(self) -> int:
        return self.cfg.image_size // 4

    @staticmethod
    def pad(x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, 1, 32, 32); other sizes pass through."""
        return F.pad(x, (2, 2, 2, 2)) if x.shape[-1] == 28 else x

    @staticmethod
    def crop(x: torch.Tensor) -> torch.Tensor:
        return x[..., 2:-2, 2:-2]

    def encode_latent(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, 32, 32) in [0, 1] -> latents (B, N, E)."""
        h = self.encoder(x * 2 - 1)                                   # (B, E, 8, 8)
        return h.flatten(2).transpose(1, 2)                           # (B, N, E)

    def decode_latent(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, N, E) -> images (B, 1, 32, 32) in [0, 1] (not clamped)."""
        B, N, E = z.shape
        h = z.transpose(1, 2).reshape(B, E, self.grid, self.grid)    # (B, E, 8, 8)
        return (self.decoder(h) + 1) / 2

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, 28|32, 28|32) in [0, 1] -> codes (B, N, D)."""
        return self.rvq.encode(self.encode_latent(self.pad(x)))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, depth: int | None = None) -> torch.Tensor:
        """codes (B, N, D) -> images (B, 1, 28, 28) in [0, 1] from the first `depth` depths."""
        return self.crop(self.decode_latent(self.rvq.decode(codes, depth))).clamp(0, 1)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None):
        """Training pass: x (B, 1, 32, 32), keep (B,) depths to decode from (None = all)
        -> (reconstruction, codes (B, N, D), commitment)."""
        zq, codes, commit = self.rvq(self.encode_latent(x), keep)
        return self.decode_latent(zq), codes, commit
