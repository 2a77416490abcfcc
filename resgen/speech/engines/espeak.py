"""espeak-ng (GPL-3.0, the library bundled in espeakng-loader) as an engine: the corpus's formant voices
(resgen/speech/corpus.py draws them: accent x variant x pitch x rate x pitch range). 22.05 kHz mono. Unlike the
others it also reports when each phoneme starts (`synth_events`)."""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from resgen.speech.engines.base import EngineVoice
from resgen.speech.espeak import Espeak, Voice

LICENCE = "espeak-ng (GPL-3.0), library and voices from PyPI espeakng-loader 0.2.4"


def engine_voice(v: Voice) -> EngineVoice:
    return EngineVoice("espeak", v.name, LICENCE, "formant", asdict(v))


class EspeakEngine:
    name = "espeak"

    def __init__(self):
        self.es = Espeak()

    def voices(self) -> list[EngineVoice]:
        """The corpus's default draw of voices (training then held-out; see corpus.make_voices)."""
        from resgen.speech.corpus import CorpusConfig, make_voices
        train, held = make_voices(CorpusConfig())
        return [engine_voice(v) for v in train + held]

    def synth_events(self, text: str, voice: EngineVoice, seed: int = 0):
        """-> (float32 (S,), rate, [(IPA phoneme, start s), ...])."""
        audio, events = self.es.synth(text, Voice(**voice.params), seed=seed)
        return audio.astype(np.float32) / 32768.0, self.es.sample_rate, events

    def synth(self, text: str, voice: EngineVoice, seed: int = 0) -> tuple[np.ndarray, int]:
        audio, rate, _ = self.synth_events(text, voice, seed)
        return audio, rate
