"""SVOX Pico through PyPI `py-nanotts` 0.1.1 (Apache-2.0): the American (en-US, lh0) and British (en-GB, kh0) female
voices. Pico has its own pitch and speed controls: params pitch (0.5-2.0) and speed (0.2-5.0) make other speakers of
one voice. 16 kHz mono."""
from __future__ import annotations

import numpy as np

from resgen.speech.engines.base import EngineError, EngineVoice

LICENCE = "SVOX Pico (Apache-2.0) through PyPI py-nanotts 0.1.1"
VOICES = ("en-US", "en-GB")
RATE = 16000
INSTALL = "make data installs it: pip install py-nanotts==0.1.1"


class PicoEngine:
    name = "pico"

    def __init__(self):
        try:
            from py_nanotts import NanoTTS
        except ImportError:
            raise EngineError(f"Pico (py-nanotts) is not installed ({INSTALL})") from None
        self.tts = NanoTTS()

    def voices(self) -> list[EngineVoice]:
        return [EngineVoice("pico", v, LICENCE, "unit-selection") for v in VOICES]

    def synth(self, text: str, voice: EngineVoice, seed: int = 0) -> tuple[np.ndarray, int]:
        """-> float32 (S,), 16000. Deterministic; params pitch, speed (multipliers, 1 = the voice's own)."""
        if voice.name not in VOICES:
            raise EngineError(f"pico has no voice {voice.name!r}; choose one of {', '.join(VOICES)}")
        pcm = self.tts.speak(text, voice=voice.name, speed=float(voice.params.get("speed", 1.0)),
                             pitch=float(voice.params.get("pitch", 1.0)))
        if not pcm:
            raise EngineError(f"pico gave no audio for voice {voice.name}")
        return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768, RATE
