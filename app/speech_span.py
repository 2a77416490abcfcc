"""Speech views of one target position: the span around it heard at each RVQ depth, and the token map's words."""
from __future__ import annotations

import numpy as np

RATE, HOP = 22050, 256
SPAN = 6            # positions either side of the selected one
GAP_S = 0.25        # silence between depths


def span_frames(p: int, positions: int, frames_per_position: int) -> tuple[int, int]:
    """Mel frames [f0, f1) of target position p with SPAN positions either side, clipped to the utterance."""
    s = frames_per_position
    return max(0, s * (p - SPAN)), min(s * positions, s * (p + SPAN + 1))


def span_audio(pipe, pred_codes, p: int, vocoder: str = "hifigan", context=None) -> tuple[int, np.ndarray, str]:
    """This step's full guess around target position p, decoded from its first d depths for d = 1..D and vocoded,
    one after another with GAP_S of silence between -> (rate, float32 audio, a line that says what is heard).

    pred_codes: (Nt, D) int64 tensor, the step's guess over the target positions; context (Np, D): the prompt's codes,
    decoded in front as the speech is (SpeechPipeline.decode)."""
    Nt, D = pred_codes.shape
    f0, f1 = span_frames(p, Nt, pipe.cfg.frames_per_position)
    gap = np.zeros(int(GAP_S * RATE), np.float32)
    parts = []
    for d in range(1, D + 1):
        mel = pipe.decode(pred_codes, d, context)[:, f0:f1]
        parts += [pipe.vocode(mel, vocoder), gap]
    secs = (f1 - f0) * HOP / RATE
    note = (f"The {secs:.2f} s around target position {p} ({f0 * HOP / RATE:.2f}-{f1 * HOP / RATE:.2f} s), decoded "
            f"from depth 1 only, then depths 1-2, ... up to 1-{D} ({vocoder}), {GAP_S:g} s of silence between.")
    return RATE, np.concatenate(parts[:-1]), note


def position_words(p: int, seconds_per_position: float) -> str:
    """How the token map's hover text names target position p."""
    return f"target position {p} ({p * seconds_per_position:.2f}-{(p + 1) * seconds_per_position:.2f} s)"


def seconds_tick(p: int, seconds_per_position: float, every: int = 10) -> str | None:
    return f"{p * seconds_per_position:.1f}s" if p % every == 0 else None
