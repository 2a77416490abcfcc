"""Speech engines behind one interface, for a corpus of many kinds of voice.

Each engine lists its voices and speaks a text in one of them; the corpus builder needs nothing else:

    engine = get_engine("kokoro")
    voice = engine.voices()[0]                       # EngineVoice: engine, name, licence, kind
    audio, rate = engine.synth("Hello there.", voice) # float32 (S,) in [-1, 1] at the engine's rate

Engines: espeak (espeak-ng formant voices; the only one that also gives phoneme events), kokoro (Kokoro-82M, int8
ONNX: American and British voices, accented ones reading English, and blends of two styles), flite (CMU Flite's
Debian voices). Phoneme durations for the others come from the forced aligner (resgen/eval/align.py).
`RESERVED` voices are kept for an independent check: no corpus trains on them.
"""
from __future__ import annotations

from resgen.speech.engines.base import RESERVED, EngineError, EngineVoice  # noqa: F401  (the public names)


def get_engine(name: str):
    if name == "kokoro":
        from resgen.speech.engines.kokoro import KokoroEngine
        return KokoroEngine()
    if name == "flite":
        from resgen.speech.engines.flite import FliteEngine
        return FliteEngine()
    if name == "espeak":
        from resgen.speech.engines.espeak import EspeakEngine
        return EspeakEngine()
    raise ValueError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")


ENGINES = ("espeak", "kokoro", "flite")
