"""Long text: split it into pieces that each fit one generation, and join their audio with a short cross-fade.

Splitting goes from coarse to fine, and only as far as needed: sentences (after . ! ? or a line break), then clauses
(after , ; : or a dash), then words. Pieces are then packed greedily, in order, into chunks of at most `max_chars`
characters that still fit one generation (the caller's `fits`), so short sentences share a chunk.
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np

CHUNK_CHARS = 200                   # chunks are packed up to this many characters
_SENTENCE = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|\n\s*")
_CLAUSE = re.compile(r"(?<=[,;:])\s+|\s+[—–-]+\s+|(?<=\w)[—–]+(?=\w)")   # dashes are dropped: silent


def _pieces(text: str, fits: Callable[[str], bool]) -> list[str]:
    out = []
    for sentence in filter(None, (s.strip() for s in _SENTENCE.split(text))):
        if fits(sentence):
            out.append(sentence)
            continue
        for clause in filter(None, (c.strip() for c in _CLAUSE.split(sentence))):
            if fits(clause):
                out.append(clause)
                continue
            cur = ""
            for word in clause.split():                  # a clause too long for one generation: by words
                cand = f"{cur} {word}".strip()
                if cur and not fits(cand):
                    out.append(cur)
                    cand = word
                cur = cand
            if cur:
                out.append(cur)
    return out


def split_text(text: str, fits: Callable[[str], bool], max_chars: int = CHUNK_CHARS) -> list[str]:
    """text -> chunks in order, each fitting one generation (fits(chunk) is True, unless a single word does not
    fit), whose concatenation with single spaces is the text's words in order."""
    chunks, cur = [], ""
    for piece in _pieces(text, fits):
        cand = f"{cur} {piece}".strip()
        if cur and (len(cand) > max_chars or not fits(cand)):
            chunks.append(cur)
            cand = piece
        cur = cand
    if cur:
        chunks.append(cur)
    return chunks


def crossfade_join(parts: list[np.ndarray], sample_rate: int, fade_s: float = 0.03) -> np.ndarray:
    """Concatenate audio (S_k,) with a linear cross-fade of fade_s seconds at each joint (shorter where a part
    is shorter): the result is sum(S_k) - (overlaps) samples long."""
    if not parts:
        return np.zeros(0, np.float32)
    out = np.asarray(parts[0], np.float32)
    for part in parts[1:]:
        part = np.asarray(part, np.float32)
        n = min(int(round(fade_s * sample_rate)), len(out), len(part))
        if n == 0:
            out = np.concatenate([out, part])
            continue
        w = np.linspace(0.0, 1.0, n + 2, dtype=np.float32)[1:-1]
        joint = out[-n:] * (1 - w) + part[:n] * w
        out = np.concatenate([out[:-n], joint, part[n:]])
    return out


def chunk_text(pipe, text: str, prompt_audio: np.ndarray, prompt_rate: int, speed: float = 1.0,
               accent: str = "en-us", prompt_text: str | None = None, max_chars: int = CHUNK_CHARS) -> list[str]:
    """A speech pipeline's text (up to its MAX_TEXT characters) -> chunks that each fit one generation with this
    prompt and speed; one chunk when the whole text fits. Raises ValueError for bad input, naming a piece that fits
    nowhere (one huge word)."""
    text = pipe.check_text(text)
    pace = pipe.pace(prompt_audio, prompt_rate, prompt_text, accent)
    s = pipe.sampling_settings(None, None, None, None, 0, speed, pace)
    prompt, rate = pipe.prompt_codes(prompt_audio, prompt_rate), s["speed"] / s["pace"]

    def fits(piece: str) -> bool:
        try:
            pipe.plan_target(pipe.phonemes(piece, accent), prompt, rate)
            return True
        except ValueError:
            return False
    if len(text) <= max_chars and fits(text):
        return [text]
    chunks = split_text(text, fits, max_chars)
    for c in chunks:
        if not fits(c):
            pipe.plan_target(pipe.phonemes(c, accent), prompt, rate)
    return chunks
