"""CMU Flite through its command line (Debian package `flite`, BSD-style licence): voices kal, kal16, rms, slt
(and awb, reserved for the independent check). 16 kHz (kal: 8 kHz) mono."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from resgen.speech.engines.base import EngineError, EngineVoice

LICENCE = "flite (BSD-like, CMU); voices from the Debian package flite 2.2"
VOICES = ("slt", "rms", "kal16", "kal", "awb")
KIND = {"slt": "clustergen", "rms": "clustergen", "awb": "clustergen", "kal16": "diphone", "kal": "diphone"}


class FliteEngine:
    name = "flite"

    def __init__(self, binary: str | None = None):
        self.binary = binary or shutil.which("flite")
        if not self.binary:
            raise EngineError("flite is not installed (make data installs it: apt-get install flite)")

    def voices(self) -> list[EngineVoice]:
        return [EngineVoice("flite", v, LICENCE, KIND[v]) for v in VOICES]

    def synth(self, text: str, voice: EngineVoice, seed: int = 0) -> tuple[np.ndarray, int]:
        """-> float32 (S,), rate. Deterministic (flite has no randomness); `seed` is for the interface."""
        import soundfile as sf
        stretch = float(voice.params.get("duration_stretch", 1.0))
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.wav"
            cmd = [self.binary, "-voice", voice.name, "--setf", f"duration_stretch={stretch}", "-t", text, "-o", str(out)]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            if r.returncode != 0 or not out.exists():
                raise EngineError(f"flite failed for voice {voice.name}: {r.stderr.strip()[:200]}")
            audio, rate = sf.read(out, dtype="float32")
        return audio, int(rate)
