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
as its prompt gets none. With `bands` = k > 1 the match is made in k equal groups of mel bands (low to high
formants), each with its own contrast; the per-band amount is interpolated between the groups' centres, so the
contrast applied is then a tuple of k numbers. A model's config.json may hold a default (`"postfilter": {"contrast": "prompt",
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
MAX_BANDS = 8                # band groups the contrast "prompt" may be matched in
Contrast = float | tuple     # one amount, or one per band group (low to high)


@dataclass(frozen=True)
class PostfilterConfig:
    contrast: float | str = 0.0   # 0 = no postfilter (models saved before it); "prompt": matched to each prompt
    sigma: float = 2.0            # the smoothing's standard deviation, in mel bands
    prompt_ratio: float = 1.0     # contrast "prompt": the generated detail's target, times the prompt's
    bands: int = 1                # contrast "prompt": matched in this many groups of mel bands (1 = all together)
    correction: float = 0.0       # the tokenizer's error on the prompt taken out of the target first, at this
    spread: float = 0.0           # strength (0 = off), its spread to this power (resgen/speech/correction.py)
    pause_gate: float = 0.0       # HiFi-GAN's audio held to the mel in pauses at this strength (0 = off; pause_gate.py)

    def __post_init__(self):
        check_contrast(self.contrast)
        check_correction(self.correction)
        if not 0 <= float(self.spread) <= 1 or not 0 <= float(self.pause_gate) <= 1:
            raise ValueError("the postfilter's spread and pause_gate must be between 0 and 1")
        if not 0 < float(self.sigma) <= 20:
            raise ValueError("the postfilter's sigma must be above 0 and at most 20 bands")
        if not 0.5 <= float(self.prompt_ratio) <= 2:
            raise ValueError("the postfilter's prompt_ratio must be between 0.5 and 2")
        if self.bands not in range(1, MAX_BANDS + 1):
            raise ValueError(f"the postfilter's bands must be a whole number from 1 to {MAX_BANDS}")

    def detail(self, mel: torch.Tensor) -> tuple[float, ...]:
        """A log-mel (80, F) -> its detail in each of this config's band groups (`group_detail`)."""
        return group_detail(mel, self.sigma, self.bands)

    def resolve(self, contrast: Contrast | str | None = None) -> Contrast | str:
        """A user's contrast (None: this config's default) -> a checked float (or one per band group), or MATCH."""
        return check_contrast(self.contrast if contrast is None else contrast)

    def resolve_correction(self, correction: float | None = None) -> float:
        """A user's correction strength (None: this config's default) -> a checked float in [0, 1]."""
        return check_correction(self.correction if correction is None else correction)

    def contrast_for(self, mel: torch.Tensor, prompt_detail: float | tuple[float, ...] | None,
                     contrast: Contrast | str | None = None) -> Contrast:
        """The contrast to apply to this generated log-mel (80, F): a fixed one as it is; MATCH from the prompt's
        detail (`detail` of the prompt's log-mel, one number per band group; None or 0: no prompt to match, so 0),
        one number per band group (a float when bands = 1)."""
        contrast = self.resolve(contrast)
        if contrast != MATCH:
            return contrast
        target = [self.prompt_ratio * d for d in _per_group(prompt_detail, self.bands)]
        own = self.detail(mel)
        high = self.detail(spectral_contrast(mel, 1.0, self.sigma))              # detail is near linear in c
        c = tuple(float(min((t - o) / (h - o), MAX_CONTRAST)) if o >= MIN_DETAIL and t > o and h > o else 0.0
                  for t, o, h in zip(target, own, high))
        return c[0] if self.bands == 1 else c

    def apply(self, mel: torch.Tensor, contrast: Contrast | None = None) -> torch.Tensor:
        """A generated log-mel (..., 80, F) through the postfilter at a fixed `contrast` (None: this config's
        default, which must then be a number; `contrast_for` turns MATCH into one, or one per band group)."""
        contrast = self.resolve(contrast)
        if contrast == MATCH:
            raise ValueError('contrast "prompt" needs the prompt: resolve it with contrast_for first')
        return spectral_contrast(mel, contrast, self.sigma)


def _per_group(value: float | tuple[float, ...] | list | None, groups: int) -> list[float]:
    if value is None:
        return [0.0] * groups
    values = [float(v) for v in value] if isinstance(value, (tuple, list)) else [float(value)]
    if len(values) != groups:
        raise ValueError(f"the prompt's detail has {len(values)} band groups, the postfilter {groups}")
    return values


def check_contrast(value: Contrast | str | list) -> Contrast | str:
    """A user's contrast -> float (or a tuple, one per band group, as `contrast_for` returns it), or MATCH for
    "prompt"; ValueError with a message fit for a user otherwise."""
    if isinstance(value, str) and value.strip().lower() == MATCH:
        return MATCH
    if isinstance(value, (tuple, list)):
        if not 1 <= len(value) <= MAX_BANDS or any(isinstance(v, (str, tuple, list)) for v in value):
            raise ValueError(f"a contrast per band group takes 1 to {MAX_BANDS} numbers")
        return tuple(check_contrast(v) for v in value)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f'contrast must be "prompt" or a number between 0 and {MAX_CONTRAST:g}') from None
    if not 0 <= value <= MAX_CONTRAST:
        raise ValueError(f"contrast must be between 0 and {MAX_CONTRAST:g}")
    return value


def check_correction(value) -> float:
    """A user's correction strength -> float in [0, 1]; ValueError with a message fit for a user otherwise."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError("correction must be a number between 0 and 1") from None
    if not 0 <= value <= 1:
        raise ValueError("correction must be between 0 and 1")
    return value


def mean_contrast(contrast: Contrast) -> float:
    """The amount applied, averaged over band groups (for reports)."""
    return float(sum(contrast) / len(contrast)) if isinstance(contrast, tuple) else float(contrast)


def describe(contrast: Contrast) -> str:
    """'0.31', or '0.32/0.34/0.18/0.21' low to high bands."""
    return "/".join(f"{c:.2f}" for c in contrast) if isinstance(contrast, tuple) else f"{contrast:.2f}"


def speech_frames(mel: torch.Tensor) -> torch.Tensor:
    """log-mel (..., 80, F) -> (..., F) bool: the frames whose mean log-mel is within SPEECH_RANGE of the loudest
    frame's (of the same mel)."""
    energy = mel.mean(-2)
    return energy > energy.amax(-1, keepdim=True) - SPEECH_RANGE


def detail(mel: torch.Tensor, sigma: float = 2.0) -> float:
    """A log-mel (80, F) -> the std of its across-band detail (mel - smooth_over_bands) over its speech frames (mean
    log-mel within SPEECH_RANGE of the loudest frame's); 0 for an empty mel."""
    return group_detail(mel, sigma, 1)[0]


def group_detail(mel: torch.Tensor, sigma: float = 2.0, groups: int = 1) -> tuple[float, ...]:
    """`detail` in each of `groups` equal groups of mel bands, lowest first (the smoothing still runs over all)."""
    if mel.shape[-1] == 0:
        return (0.0,) * groups
    d = (mel - smooth_over_bands(mel, sigma))[:, speech_frames(mel)]
    return tuple(float(g.std(unbiased=False)) for g in d.chunk(groups, 0))


def band_amounts(contrast: tuple[float, ...], n_bands: int) -> torch.Tensor:
    """One contrast per band group -> one per band (n_bands,), linear between the groups' centres, held at the ends."""
    c = torch.tensor(contrast, dtype=torch.float64)
    if len(contrast) == 1:
        return c.expand(n_bands).float()
    centres = (torch.arange(len(contrast), dtype=torch.float64) + 0.5) * (n_bands / len(contrast))
    at = torch.arange(n_bands, dtype=torch.float64) + 0.5
    i = torch.searchsorted(centres, at).clamp(1, len(contrast) - 1)
    w = ((at - centres[i - 1]) / (centres[i] - centres[i - 1])).clamp(0, 1)
    return (c[i - 1] + w * (c[i] - c[i - 1])).float()


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


def spectral_contrast(mel: torch.Tensor, contrast: Contrast, sigma: float = 2.0) -> torch.Tensor:
    """mel (..., 80, F) log-mel -> the same shape with each frame's contrast across bands raised by `contrast` (one
    number, or one per band group: `band_amounts`)."""
    if isinstance(contrast, tuple):
        amounts = band_amounts(contrast, mel.shape[-2]).to(mel)[:, None]
        return mel + amounts * (mel - smooth_over_bands(mel, sigma)) if bool((amounts != 0).any()) else mel
    if contrast == 0:
        return mel
    return mel + contrast * (mel - smooth_over_bands(mel, sigma))
