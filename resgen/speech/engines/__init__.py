"""Speech engines behind one interface, for a corpus of many kinds of voice.

Each engine lists its voices and speaks a text in one of them; the corpus builder needs nothing else:

    engine = get_engine("kokoro")
    voice = engine.voices()[0]                       # EngineVoice: engine, name, licence, kind
    audio, rate = engine.synth("Hello there.", voice) # float32 (S,) in [-1, 1] at the engine's rate

Engines: espeak (espeak-ng formant voices; the only one that also gives phoneme events), kokoro (Kokoro-82M, int8
ONNX: American and British voices, accented ones reading English, and blends of two styles), flite (CMU Flite's
Debian voices), festival (Festival's Debian diphone and HTS voices), pico (SVOX Pico, US and UK), piper (Piper's
joe, one real man's voice through VITS). Phoneme durations for the others come from the forced aligner (resgen/eval/align.py).
`RESERVED` voices are kept for an independent check: no corpus trains on them.
"""
from __future__ import annotations

from resgen.speech.engines.base import RESERVED, EngineError, EngineVoice  # noqa: F401  (the public names)


_CLASSES = {"espeak": "espeak.EspeakEngine", "kokoro": "kokoro.KokoroEngine", "flite": "flite.FliteEngine",
            "festival": "festival.FestivalEngine", "pico": "pico.PicoEngine", "piper": "piper.PiperEngine"}
ENGINES = tuple(_CLASSES)


def get_engine(name: str, **kwargs):
    """An engine by name (its module is imported only now); kwargs go to its constructor. An engine that is not
    installed raises EngineError with the command that installs it."""
    import importlib
    if name not in _CLASSES:
        raise ValueError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")
    module, cls = _CLASSES[name].split(".")
    return getattr(importlib.import_module(f"resgen.speech.engines.{module}"), cls)(**kwargs)
