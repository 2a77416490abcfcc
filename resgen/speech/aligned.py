"""Speech for a given alignment, bypassing the duration predictor: the diagnosis rows of `resgen eval speech`
(--oracle-durations, --oracle-depths), and the model's own codes for a recording's alignment, on which the
tokenizer's decoder can be fine-tuned (resgen/train/gta.py).

    audio = generate_aligned(pipe, phonemes, frames, prompt_audio, prompt_rate, seed=0)
    codes = aligned_codes(pipe, phonemes, frames, prompt_audio, prompt_rate, seed=0)     # (Nt, D)
"""
from __future__ import annotations

import numpy as np
import torch

from resgen.speech.model import positions_phonemes


@torch.no_grad()
def aligned_codes(pipe, phonemes: list[str], frames: torch.Tensor, prompt_audio: np.ndarray, prompt_rate: int,
                  seed: int = 0, known: torch.Tensor | None = None, prompt: torch.Tensor | None = None) -> torch.Tensor:
    """Phoneme symbols with their durations in mel frames (P,) (e.g. a recording's) -> the sampled target codes
    (Nt, D), Nt = ceil(sum(frames) / frames per position) (fewer when the prompt leaves less room), with the
    pipeline's sampler settings. known (Nt', k): the recording's codes at depths 1..k, given to the sampler (cropped
    or padded by repetition to the alignment's positions). prompt: the prompt's codes when the caller has them."""
    s = pipe.sampling_settings(None, None, None, None, seed, 1.0)
    prompt = pipe.prompt_codes(prompt_audio, prompt_rate) if prompt is None else prompt
    ids = torch.tensor([pipe.symbols[p] for p in phonemes])
    pos = positions_phonemes(ids, frames.long(), pipe.cfg.frames_per_position, pipe.cfg.denoiser.cond_frames)
    pos = pos[: pipe.cfg.denoiser.positions - len(prompt)]
    if known is not None and known.shape[1]:
        known = torch.cat([known, known[-1:].expand(max(0, len(pos) - len(known)), -1)])[: len(pos)]
        s["steps"] = min(s["steps"], len(pos) * (pipe.tok_cfg.rvq.depth - known.shape[1]))
    else:
        known = None
    traces = list(pipe._sample(prompt, pos, s, known))
    return traces[-1].codes[0, len(prompt):]


def generate_aligned(pipe, phonemes: list[str], frames: torch.Tensor, prompt_audio: np.ndarray, prompt_rate: int,
                     seed: int = 0, vocoder: str = "hifigan", known: torch.Tensor | None = None,
                     contrast: float | str | None = None, correction: float | None = None) -> np.ndarray:
    """The same as aligned_codes, spoken (through the model's postfilter, or `contrast`'s and `correction`'s):
    -> float32 audio."""
    prompt = pipe.prompt_codes(prompt_audio, prompt_rate)
    codes = aligned_codes(pipe, phonemes, frames, prompt_audio, prompt_rate, seed, known, prompt)
    voice = pipe.prompt_voice(prompt_audio, prompt_rate)
    return pipe.speak_codes(torch.cat([prompt, codes]), len(prompt), contrast, vocoder, True, voice, correction).audio
