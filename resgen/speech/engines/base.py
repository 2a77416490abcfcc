"""The engines' shared types: a voice, the error an engine raises, the voices reserved for an independent check."""
from __future__ import annotations

from dataclasses import dataclass, field

RESERVED = frozenset({"kokoro:af_sarah", "kokoro:am_liam", "kokoro:bf_lily", "kokoro:bm_daniel", "flite:awb"})


@dataclass(frozen=True)
class EngineVoice:
    """One voice of one engine. name: the engine's own id (for kokoro blends "a+b@w", w the share of a); kind:
    "formant" (espeak), "neural" (kokoro), "diphone/clustergen" (flite); params: engine settings (speed, pitch)."""
    engine: str
    name: str
    licence: str
    kind: str = ""
    params: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> str:
        return f"{self.engine}:{self.name}"

    @property
    def reserved(self) -> bool:
        return self.key in RESERVED or any(f"{self.engine}:{part.split('@')[0]}" in RESERVED
                                           for part in self.name.split("+"))


class EngineError(RuntimeError):
    """An engine is not installed or cannot speak: the message says how to install it."""
