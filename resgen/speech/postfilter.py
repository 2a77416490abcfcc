"""Spectral contrast for generated log-mels: the formant-sharpening postfilter of statistical speech synthesis.

A model that predicts tokens by their likelihood returns mels that are smoother across frequency than recorded ones:
formant peaks lower, the valleys between them shallower (the over-smoothing that HMM synthesis met with a cepstral
postfilter). Per frame, each band's distance from a Gaussian-smoothed copy of that frame (over the mel bands, width
`sigma` bands) is scaled by 1 + contrast:

    out = mel + contrast * (mel - smooth_over_bands(mel))          # contrast 0 = unchanged

The smoothed envelope itself is kept, so loudness and spectral tilt barely move. It applies to generated speech
only, never to a resynthesis of a recording.

contrast "prompt" matches the prompt instead of a fixed value: per utterance, the contrast that raises the
generated mel's across-band detail (the std of mel - smooth_over_bands(mel) over its speech frames, `detail`) to
`prompt_ratio` times the prompt recording's, clipped to [0, MAX_CONTRAST]. Detail grows nearly linearly with the
contrast (by 0.6 of it on tests/test_postfilter.py's formant mel: the smoothed copy moves too), so one more
evaluation at contrast 1 finds it:

    contrast = (prompt_ratio * detail(prompt) - detail(mel)) / (detail(filtered at 1) - detail(mel))

so a voice whose formants are sharp (a human recording) gets more than an espeak voice, and speech already as sharp
as its prompt gets none. A model's config.json may hold a default (`"postfilter": {"contrast": "prompt",
"prompt_ratio": 1.1}` or a number); without one it is off (docs/speech-intelligibility.md: a fixed 0.2 gave +0.002
of similarity on the espeak voices and lost in telling realistic voices apart). Shapes: mel (80, F) or (B, 80, F).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

MAX_CONTRAST = 1.0
MATCH = "prompt"             # the contrast setting that matches each prompt's detail
SPEECH_RANGE = 4.0           # a frame whose mean log-mel is within this of the loudest frame's is speech
MIN_DETAIL = 1e-4            # a generated mel with less detail than this is left as it is


@dataclass(frozen=True)
class PostfilterConfig:
    contrast: float | str = 0.0   # 0 = no postfilter (models saved before it); "prompt": matched to each prompt
    sigma: float = 2.0            # the smoothing's standard deviation, in mel bands
    prompt_ratio: float = 1.0     # contrast "prompt": the generated detail's target, times the prompt's

    def __post_init__(self):
        check_contrast(self.contrast)
        if not 0 < float(self.sigma) <= 20:
            raise ValueError("the postfilter's sigma must be above 0 and at most 20 bands")
        if not 0.5 <= float(self.prompt_ratio) <= 2:
            raise ValueError("the postfilter's prompt_ratio must be between 0.5 and 2")

    def resolve(self, contrast: float | str | None = None) -> float | str:
        """A user's contrast (None: this config's default) -> a checked float, or MATCH."""
        return check_contrast(self.contrast if contrast is None else contrast)

    def contrast_for(self, mel: torch.Tensor, prompt_detail: float | None,
                     contrast: float | str | None = None) -> float:
        """The contrast to apply to this generated log-mel (80, F): a fixed one as it is; MATCH from the prompt's
        detail (`detail` of the prompt's log-mel; None or 0: no prompt to match, so 0)."""
        contrast = self.resolve(contrast)
        if contrast != MATCH:
            return contrast
        own, target = detail(mel, self.sigma), self.prompt_ratio * (prompt_detail or 0.0)
        if own < MIN_DETAIL or target <= own:
            return 0.0
        gain = detail(spectral_contrast(mel, 1.0, self.sigma), self.sigma) - own     # detail is near linear in c
        return float(min((target - own) / gain, MAX_CONTRAST)) if gain > 0 else 0.0

    def apply(self, mel: torch.Tensor, contrast: float | None = None) -> torch.Tensor:
        """A generated log-mel (..., 80, F) through the postfilter at a fixed `contrast` (None: this config's
        default, which must then be a number; `contrast_for` turns MATCH into one)."""
        contrast = self.resolve(contrast)
        if contrast == MATCH:
            raise ValueError('contrast "prompt" needs the prompt: resolve it with contrast_for first')
        return spectral_contrast(mel, contrast, self.sigma)


def check_contrast(value: float | str) -> float | str:
    """A user's contrast -> float, or MATCH for "prompt"; ValueError with a message fit for a user otherwise."""
    if isinstance(value, str) and value.strip().lower() == MATCH:
        return MATCH
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f'contrast must be "prompt" or a number between 0 and {MAX_CONTRAST:g}') from None
    if not 0 <= value <= MAX_CONTRAST:
        raise ValueError(f"contrast must be between 0 and {MAX_CONTRAST:g}")
    return value


def detail(mel: torch.Tensor, sigma: float = 2.0) -> float:
    """A log-mel (80, F) -> the std of its across-band detail (mel - smooth_over_bands) over its speech frames (mean
    log-mel within SPEECH_RANGE of the loudest frame's); 0 for an empty mel."""
    if mel.shape[-1] == 0:
        return 0.0
    energy = mel.mean(0)
    speech = energy > energy.max() - SPEECH_RANGE
    return float((mel - smooth_over_bands(mel, sigma))[:, speech].std(unbiased=False))


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
