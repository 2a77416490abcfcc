"""Convolutional RQ-VAE for small images: (B, C, S, S) <-> codes (B, N, D), N = (S / 2**stages)**2.

The encoder maps an image to a grid of E-dim latents (8x8 for grey 32x32 Fashion-MNIST and for 64x64 colour
emoji), the residual quantiser turns each cell into D codes, and the decoder maps (partial) sums of code embeddings
back to pixels. Pixels are in [0, 1]; grey 28x28 inputs are zero-padded by 2 on each side.
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
    """len(cfg.channels) - 1 stride-2 stages: channels (c0, c1, c2) map 32x32 to an 8x8 grid (the Fashion-MNIST
    tokenizer), (c0, c1, c2, c3) map 64x64 to 8x8 (the colour emoji tokenizer). Each stage below the top has one
    residual block, the lowest has two; the decoder mirrors it."""

    def __init__(self, cfg: ImageTokenizerConfig):
        super().__init__()
        self.cfg = cfg
        ch = list(cfg.channels)
        if len(ch) < 2 or cfg.image_size % 2 ** (len(ch) - 1):
            raise ValueError(f"channels {cfg.channels} need an image size divisible by {2 ** (len(ch) - 1)}")
        E, last = cfg.rvq.dim, len(ch) - 1
        enc: list[nn.Module] = [nn.Conv2d(cfg.in_channels, ch[0], 3, padding=1)]
        for i in range(1, last + 1):                                  # size / 2**i
            enc += [nn.SiLU(), nn.Conv2d(ch[i - 1], ch[i], 4, stride=2, padding=1)]
            enc += [ResBlock(ch[i]) for _ in range(2 if i == last else 1)]
        enc += [nn.GroupNorm(8, ch[last]), nn.SiLU(), nn.Conv2d(ch[last], E, 1)]
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = [nn.Conv2d(E, ch[last], 3, padding=1), ResBlock(ch[last]), ResBlock(ch[last])]
        for i in range(last, 0, -1):                                  # back to size / 2**(i-1)
            dec += [nn.GroupNorm(8, ch[i]), nn.SiLU(), nn.ConvTranspose2d(ch[i], ch[i - 1], 4, stride=2, padding=1)]
            if i > 1:
                dec.append(ResBlock(ch[i - 1]))
        dec += [nn.GroupNorm(8, ch[0]), nn.SiLU(), nn.Conv2d(ch[0], cfg.in_channels, 3, padding=1)]
        self.decoder = nn.Sequential(*dec)
        self.rvq = ResidualVQ(cfg.rvq)

    @property
    def grid(self) -> int:
        return self.cfg.image_size // 2 ** (len(self.cfg.channels) - 1)

    @staticmethod
    def pad(x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, 1, 32, 32); other sizes pass through."""
        return F.pad(x, (2, 2, 2, 2)) if x.shape[-1] == 28 else x

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        """Undo `pad`: the 32x32 Fashion-MNIST frame -> 28x28; other sizes pass through."""
        return x[..., 2:-2, 2:-2] if self.cfg.image_size == 32 and self.cfg.in_channels == 1 else x

    def encode_latent(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, S, S) in [0, 1] -> latents (B, N, E), N = grid**2."""
        h = self.encoder(x * 2 - 1)                                   # (B, E, grid, grid)
        return h.flatten(2).transpose(1, 2)                           # (B, N, E)

    def decode_latent(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, N, E) -> images (B, C, S, S) in [0, 1] (not clamped)."""
        B, N, E = z.shape
        h = z.transpose(1, 2).reshape(B, E, self.grid, self.grid)    # (B, E, grid, grid)
        return (self.decoder(h) + 1) / 2

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, S, S) in [0, 1] (grey 28x28 is padded to 32x32) -> codes (B, N, D)."""
        return self.rvq.encode(self.encode_latent(self.pad(x)))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, depth: int | None = None) -> torch.Tensor:
        """codes (B, N, D) -> images (B, C, S, S) in [0, 1] from the first `depth` depths (grey: 28x28)."""
        return self.crop(self.decode_latent(self.rvq.decode(codes, depth))).clamp(0, 1)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None):
        """Training pass: x (B, C, S, S), keep (B,) depths to decode from (None = all)
        -> (reconstruction, codes (B, N, D), commitment)."""
        zq, codes, commit = self.rvq(self.encode_latent(x), keep)
        return self.decode_latent(zq), codes, commit
