"""The prompt's pace: how much slower or faster this speaker talks than the duration predictor assumes.

The duration predictor hears the speaker only through the prompt's first tokens, and it regresses towards the
corpus's average pace: slow realistic voices come out 20-40% too short. When the prompt's transcript is known,
the predictor can be asked for the prompt's own phonemes in the prompt's own voice; the prompt's real length over
that prediction is the correction, applied to every duration of the target (a pace of 1.3 = 30% slower).

    pace = prompt_pace(pipe, audio, 22050, "What the prompt says.", accent="en-us")     # float in [0.5, 2]

The real length is that of the conditioned prompt (resgen/speech/prompt_audio.py: edge silences trimmed, at most
20 s), so leading silence does not count as slow speech. Shapes: prompt codes (Np, D); phoneme ids (1, P).
"""
from __future__ import annotations

import numpy as np
import torch

PACE_RANGE = (0.5, 2.0)


@torch.no_grad()
def phoneme_pace(pipe, audio: np.ndarray, rate: int, phonemes: list[str]) -> float:
    """pipe: a SpeechPipeline; phonemes: the model's symbols with <sil> at both ends. -> the prompt's real frames
    (edge silence trimmed) / the frames the duration predictor gives those phonemes in the prompt's voice; not
    clamped. Raises AudioError for unusable audio."""
    from resgen.speech.audio import MelConfig
    from resgen.speech.prompt_audio import PROMPT_SECONDS, condition_prompt
    conditioned = condition_prompt(audio, rate, min_s=PROMPT_SECONDS[0], max_s=PROMPT_SECONDS[1])
    real = len(conditioned.audio) / MelConfig.hop                          # mel frames
    predicted = float(pipe.durations(phonemes, pipe.prompt_codes(audio, rate)).sum())
    return real / max(predicted, 1.0)


def prompt_pace(pipe, audio: np.ndarray, rate: int, prompt_text: str, accent: str = "en-us") -> float:
    """pipe: a SpeechPipeline. -> real prompt frames / predicted frames of its transcript, clamped to PACE_RANGE.
    Raises ValueError for an empty or unpronounceable transcript, AudioError for unusable audio."""
    if not isinstance(prompt_text, str) or not prompt_text.strip():
        raise ValueError("the prompt's transcript is empty")
    try:
        phonemes = pipe.phonemes(prompt_text, accent)
    except ValueError as e:
        raise ValueError(f"the prompt's transcript: {e}") from None
    return float(np.clip(phoneme_pace(pipe, audio, rate, phonemes), *PACE_RANGE))


class PaceMemo:
    """The last prompt's pace, so a long text (chunk_text, then generate_steps once per chunk) computes it once."""

    def __init__(self):
        self.key, self.value = None, 1.0

    def __call__(self, pipe, audio: np.ndarray, rate: int, prompt_text: str, accent: str) -> float:
        import hashlib
        a = np.ascontiguousarray(audio)
        key = (hashlib.blake2b(a.tobytes(), digest_size=16).digest(), a.shape, a.dtype.str, rate, prompt_text, accent)
        if key != self.key:
            self.value, self.key = prompt_pace(pipe, audio, rate, prompt_text, accent), key
        return self.value
