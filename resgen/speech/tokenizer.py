"""1-D convolutional RQ-VAE over log-mel spectrograms: (B, 80, F) <-> codes (B, N = F / s, D).

The encoder halves the frame rate log2(s) times (s = 4: 86 mel frames/s -> 21.5 positions/s),
the residual quantiser turns each position into D codes, and the decoder maps (partial) sums of
code embeddings back to log-mels. Mels are standardised per band with statistics stored in the
module (buffers `mel_mean`, `mel_std`, set from the training data), so the weights file is
self-contained. F must be a multiple of s (`pad_frames`).
"""
from __future__ import annotations

import math
from dataclasses import fields, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from resgen.core.config import MelTokenizerConfig
from resgen.core.rvq import ResidualVQ

LOG_FLOOR = math.log(1e-5)
DECODER_FIELDS = ("decoder_channels", "decoder_blocks", "decoder_post_blocks")   # the decoder's shape alone


def same_codes(a: MelTokenizerConfig, b: MelTokenizerConfig) -> bool:
    """Do two tokenizer configs differ at most in the decoder's shape (so the same weights can give the same codes)?"""
    base = {f.name: f.default for f in fields(MelTokenizerConfig) if f.name in DECODER_FIELDS}
    return replace(a, **base) == replace(b, **base)


def meta_file(folder: Path) -> Path | None:
    """The json holding a tokenizer's config in a folder: tokenizer.json of a training run, or config.json of a
    model folder such as assets/speech; None when there is neither."""
    return next((Path(folder) / m for m in ("tokenizer.json", "config.json") if (Path(folder) / m).exists()), None)


def load_tokenizer(folder: Path) -> "MelTokenizer":
    """A trained tokenizer from a run folder or a model folder (see meta_file), in eval mode."""
    from resgen.core.config import from_dict
    from resgen.core.weights import load_module, read_json
    cfg = from_dict(MelTokenizerConfig, read_json(meta_file(folder))["tokenizer"])
    return load_module(MelTokenizer(cfg), Path(folder) / "tokenizer.safetensors").eval()


class ResBlock1d(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.GroupNorm(8, ch), nn.SiLU(), nn.Conv1d(ch, ch, 3, padding=1),
            nn.GroupNorm(8, ch), nn.SiLU(), nn.Conv1d(ch, ch, 3, padding=1),
        )

    def forward(self, x):
        return x + self.block(x)


class MelTokenizer(nn.Module):
    def __init__(self, cfg: MelTokenizerConfig):
        super().__init__()
        self.cfg = cfg
        C, E, M = cfg.channels, cfg.rvq.dim, cfg.n_mels
        stages = int(math.log2(cfg.downsample))
        if 2 ** stages != cfg.downsample:
            raise ValueError("downsample must be a power of two")
        enc = [nn.Conv1d(M, C, 3, padding=1), ResBlock1d(C)]
        for _ in range(stages):
            enc += [nn.SiLU(), nn.Conv1d(C, C, 4, stride=2, padding=1), ResBlock1d(C)]
        enc += [ResBlock1d(C), nn.GroupNorm(8, C), nn.SiLU(), nn.Conv1d(C, E, 1)]
        self.encoder = nn.Sequential(*enc)
        Cd = cfg.decoder_channels or C
        dec = [nn.Conv1d(E, Cd, 3, padding=1)] + [ResBlock1d(Cd) for _ in range(cfg.decoder_blocks)]
        for _ in range(stages):
            dec += [nn.GroupNorm(8, Cd), nn.SiLU(), nn.ConvTranspose1d(Cd, Cd, 4, stride=2, padding=1), ResBlock1d(Cd)]
        dec += [ResBlock1d(Cd) for _ in range(cfg.decoder_post_blocks)]
        dec += [nn.GroupNorm(8, Cd), nn.SiLU(), nn.Conv1d(Cd, M, 3, padding=1)]
        self.decoder = nn.Sequential(*dec)
        self.rvq = ResidualVQ(cfg.rvq)
        self.register_buffer("mel_mean", torch.zeros(M))
        self.register_buffer("mel_std", torch.ones(M))

    def set_stats(self, mel_mean: torch.Tensor, mel_std: torch.Tensor) -> None:
        self.mel_mean.copy_(mel_mean)
        self.mel_std.copy_(mel_std.clamp(min=1e-3))

    def pad_frames(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 80, F) -> (B, 80, F') with F' the next multiple of the downsampling, padded with silence."""
        extra = (-mel.shape[-1]) % self.cfg.downsample
        return F.pad(mel, (0, extra), value=LOG_FLOOR) if extra else mel

    def encode_latent(self, mel: torch.Tensor) -> torch.Tensor:
        """mel (B, 80, F) -> latents (B, N, E)."""
        x = (mel - self.mel_mean[:, None]) / self.mel_std[:, None]
        return self.encoder(x).transpose(1, 2)

    def decode_latent(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, N, E) -> mel (B, 80, N * downsample)."""
        x = self.decoder(z.transpose(1, 2))
        return x * self.mel_std[:, None] + self.mel_mean[:, None]

    def decode_behind(self, z: torch.Tensor, front: torch.Tensor) -> torch.Tensor:
        """z (B, N, E) decoded behind front (B, Nf, E) as one sequence (GroupNorm's statistics over both), front's
        frames cut off -> mel (B, 80, N * s)."""
        return self.decode_latent(torch.cat([front, z], 1))[..., front.shape[1] * self.cfg.downsample:]

    @torch.no_grad()
    def encode(self, mel: torch.Tensor) -> torch.Tensor:
        """mel (B, 80, F) -> codes (B, ceil(F / s), D)."""
        return self.rvq.encode(self.encode_latent(self.pad_frames(mel)))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, depth: int | None = None) -> torch.Tensor:
        """codes (B, N, D) -> mel (B, 80, N * s) from the first `depth` depths."""
        return self.decode_latent(self.rvq.decode(codes, depth))

    def forward(self, mel: torch.Tensor, keep: torch.Tensor | None = None, decoder_only: bool = False,
                given: tuple[torch.Tensor, torch.Tensor] | None = None, context: torch.Tensor | None = None):
        """Training pass: mel (B, 80, F), F a multiple of s; keep (B,) depths decoded per sample ->
        (reconstruction, codes, commitment). decoder_only: the encoder and codebooks are used as
        they are (no gradient, no codebook update), so the codes stay those of this tokenizer.
        given (decoder_only): (codes (B, N, D), use (B, N) bool): those codes are decoded instead of the mel's own
        where `use` (the speech model's codes for the recording, resgen/train/gta.py).
        context (decoder_only): mel (B, 80, C), C a multiple of s: its codes (all depths) are decoded in front of the
        mel's and the reconstruction cut to the mel's frames, as generated speech is decoded behind its prompt."""
        if not decoder_only:
            if given is not None or context is not None:
                raise ValueError("given codes and a context need decoder_only (the codebooks must stay as they are)")
            zq, codes, commit = self.rvq(self.encode_latent(mel), keep)
            return self.decode_latent(zq), codes, commit
        with torch.no_grad():
            codes = self.rvq.encode(self.encode_latent(mel))                      # (B, N, D)
            if given is not None:
                codes = torch.where(given[1][..., None], given[0].to(codes), codes)
            per_depth = self.rvq.embed_per_depth(codes)                           # (B, N, D, E)
            if keep is not None:
                used = torch.arange(self.cfg.rvq.depth, device=mel.device)[None] < keep[:, None]   # (B, D)
                per_depth = per_depth * used[:, None, :, None]
            zq = per_depth.sum(2)
            front = None if context is None else self.rvq.decode(self.encode(context))
        rec = self.decode_latent(zq) if front is None else self.decode_behind(zq, front)
        return rec, codes, zq.new_zeros(())
