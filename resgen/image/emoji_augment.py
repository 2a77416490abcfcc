"""Training-time augmentation of the emoji set that keeps each image's meaning.

- a horizontal flip, only where the set says it keeps the meaning (`flip_ok`: not symbols, flags, clocks or text);
- a small shift (up to `shift` pixels each way), the uncovered border filled with the white background;
- a mild colour jitter that keeps the background white and the hue: the ink's strength (how far each pixel is from
  white) and the saturation scaled by up to +-`jitter`. Hue is never changed: a red heart and a blue heart are
  different emoji.
"""
from __future__ import annotations

import torch


def augment(x: torch.Tensor, flip_ok: torch.Tensor, generator: torch.Generator, shift: int = 3,
            jitter: float = 0.1) -> torch.Tensor:
    """x float (B, 3, H, W) in [0, 1] on a white background; flip_ok bool (B,) -> augmented copy, same shape.
    Randomness only from `generator` (on x's device)."""
    B, _, H, W = x.shape
    u = torch.rand(B, 3, generator=generator, device=generator.device).to(x.device)
    flip = (u[:, 0] < 0.5) & flip_ok.to(x.device)
    out = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if shift:
        d = torch.randint(-shift, shift + 1, (B, 2), generator=generator, device=generator.device).tolist()
        padded = torch.nn.functional.pad(out, (shift, shift, shift, shift), value=1.0)        # white border
        out = torch.stack([padded[i, :, shift - dy: shift - dy + H, shift - dx: shift - dx + W]
                           for i, (dy, dx) in enumerate(d)])
    if jitter:
        ink = 1 + jitter * (2 * u[:, 1] - 1)                                                # ink strength
        sat = 1 + jitter * (2 * u[:, 2] - 1)                                                # saturation
        out = 1 - (1 - out) * ink[:, None, None, None]
        grey = out.mean(1, keepdim=True)
        out = grey + (out - grey) * sat[:, None, None, None]
    return out.clamp(0, 1)
