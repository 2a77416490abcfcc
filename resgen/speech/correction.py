"""The tokenizer's error on this voice, measured on the prompt and taken out of the generated mel.

Generated codes are decoded behind the prompt's codes (resgen/speech/outputs.py), so the prompt's part of that same
decoding can be set against the prompt's real log-mel. Whatever the tokenizer gets wrong for this voice, a band too
weak or too strong (a microphone's colour, a voice unlike the synthetic corpora it was trained on), it gets wrong in
the generated speech too. Per mel band, over the speech frames of both:

    scale = clip(std(real) / std(decoded), 1/2, 2) ** spread        # spread 0 (the default): offset only
    out   = mel + strength * ((mel - mean(decoded)) * scale + mean(real) - mel)     # itself such a map (`at`)

With spread 0 this adds mean(real) - mean(decoded) to every frame of the generated mel. Measured on the validation
splits (docs/speech-intelligibility.md, session 19): the offset is about 0.5 log units per band on real human
recordings, 0.2 on realistic synthetic voices and 0.1 on espeak voices, and taking it out raised the speaker
similarity of generated speech by 0.043, 0.027 and 0.000 there. Shapes: mel (80, F); the fitted map (80,) per band.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from resgen.speech.postfilter import speech_frames

MIN_FRAMES = 8                  # fewer speech frames in the prompt than this: no correction (nothing to fit)
MAX_SCALE = 2.0


@dataclass(frozen=True)
class Correction:
    """A per-band linear map of log-mels, out = mel * scale + shift, from `fit`. Stored in a speech run's trace
    (`as_dict`) so that its per-step previews go through the same map as its speech."""
    scale: tuple[float, ...]
    shift: tuple[float, ...]

    def apply(self, mel: torch.Tensor) -> torch.Tensor:
        """log-mel (..., 80, F) -> mel * scale + shift, per band."""
        scale = torch.tensor(self.scale, dtype=mel.dtype, device=mel.device)[:, None]
        shift = torch.tensor(self.shift, dtype=mel.dtype, device=mel.device)[:, None]
        return mel * scale + shift

    def at(self, strength: float) -> "Correction":
        """The map at `strength` (0 = the identity, 1 = this map): mel + strength * (map(mel) - mel), itself a map."""
        w = float(strength)
        return Correction(tuple(1 + w * (a - 1) for a in self.scale), tuple(w * b for b in self.shift))

    def as_dict(self) -> dict:
        return {"scale": list(self.scale), "shift": list(self.shift)}

    @staticmethod
    def from_dict(d: dict | None) -> "Correction | None":
        if not d:
            return None
        scale, shift = [float(v) for v in d["scale"]], [float(v) for v in d["shift"]]
        if len(scale) != len(shift):
            raise ValueError("a correction needs as many scales as shifts")
        return Correction(tuple(scale), tuple(shift))


def fit(real: torch.Tensor, decoded: torch.Tensor, spread: float = 0.0) -> Correction | None:
    """The prompt's real log-mel (80, F) and its decoding (80, F') -> the per-band map that takes the decoding's mean
    (and, with spread > 0, part of its spread) to the real one's, over the frames that are speech in both; None when
    fewer than MIN_FRAMES are."""
    n = min(real.shape[-1], decoded.shape[-1])
    real, decoded = real[:, :n].float(), decoded[:, :n].float()
    if n == 0:
        return None
    keep = speech_frames(real) & speech_frames(decoded)
    if int(keep.sum()) < MIN_FRAMES:
        return None
    r, d = real[:, keep], decoded[:, keep]
    scale = torch.ones(real.shape[0])
    if spread:
        scale = (r.std(1) / d.std(1).clamp_min(1e-3)).clamp(1 / MAX_SCALE, MAX_SCALE) ** float(spread)
    shift = r.mean(1) - d.mean(1) * scale
    return Correction(tuple(scale.tolist()), tuple(shift.tolist()))
