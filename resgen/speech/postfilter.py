"""Spectral contrast for generated log-mels: the formant-sharpening postfilter of statistical speech synthesis.

A model that predicts tokens by their likelihood returns mels that are smoother across frequency than recorded ones:
formant peaks lower, the valleys between them shallower (the over-smoothing that HMM synthesis met with a cepstral
postfilter). Per frame, each band's distance from a Gaussian-smoothed copy of that frame (over the mel bands, width
`sigma` bands) is scaled by 1 + contrast:

    out = mel + contrast * (mel - smooth_over_bands(mel))          # contrast 0 = unchanged

The smoothed envelope itself is kept, so loudness and spectral tilt barely move. It applies to generated speech
only, never to a resynthesis of a recording. A model's config.json may hold a default (`"postfilter": {"contrast":
0.2}`); without one it is off, as in the shipped model (docs/speech-intelligibility.md: +0.002 of similarity on the
espeak voices, a loss in telling realistic voices apart). Shapes: mel (80, F) or (B, 80, F).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

MAX_CONTRAST = 1.0


@dataclass(frozen=True)
class PostfilterConfig:
    contrast: float = 0.0     # 0 = no postfilter (models saved before it)
    sigma: float = 2.0        # the smoothing's standard deviation, in mel bands

    def __post_init__(self):
        check_contrast(self.contrast)
        if not 0 < float(self.sigma) <= 20:
            raise ValueError("the postfilter's sigma must be above 0 and at most 20 bands")

    def resolve(self, contrast: float | None = None) -> float:
        """A user's contrast (None: this config's default) -> a checked float."""
        return self.contrast if contrast is None else check_contrast(contrast)

    def apply(self, mel: torch.Tensor, contrast: float | None = None) -> torch.Tensor:
        """A generated log-mel (..., 80, F) through the postfilter at `contrast` (None: this config's default)."""
        return spectral_contrast(mel, self.resolve(contrast), self.sigma)


def check_contrast(value: float) -> float:
    """A user's contrast -> float; ValueError with a message fit for a user when out of range."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"contrast must be a number between 0 and {MAX_CONTRAST:g}") from None
    if not 0 <= value <= MAX_CONTRAST:
        raise ValueError(f"contrast must be between 0 and {MAX_CONTRAST:g}")
    return value


def smooth_over_bands(mel: torch.Tensor, sigma: float) -> torch.Tensor:
    """mel (..., 80, F) -> the same shape, each frame convolved over its bands with a Gaussian (edges replicated)."""
    r = max(1, int(3 * sigma))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, device=mel.device, dtype=mel.dtype) / sigma) ** 2)
    k = (k / k.sum())[None, None]
    lead = mel.shape[:-2]
    x = mel.reshape(-1, *mel.shape[-2:]).transpose(1, 2)              # (N, F, 80)
    n, f, b = x.shape
    x = F.pad(x.reshape(n * f, 1, b), (r, r), mode="replicate")
    return F.conv1d(x, k).reshape(n, f, b).transpose(1, 2).reshape(*lead, b, f)


def spectral_contrast(mel: torch.Tensor, contrast: float, sigma: float = 2.0) -> torch.Tensor:
    """mel (..., 80, F) log-mel -> the same shape with each frame's contrast across bands raised by `contrast`."""
    if contrast == 0:
        return mel
    return mel + contrast * (mel - smooth_over_bands(mel, sigma))
