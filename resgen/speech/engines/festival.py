"""The Festival Speech Synthesis System through text2wave (Debian `festival`, X11-style licence) with the Debian
voices kal_diphone (festvox-kallpc16k), ked_diphone (festvox-kdlpc16k), both diphone, and cmu_us_slt_arctic_hts
(festvox-us-slt-hts, an HTS statistical voice). kal and slt are the same CMU speakers as flite's voices of those
names, through another synthesis method. 16 kHz (HTS: 32 kHz) mono."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from resgen.speech.engines.base import EngineError, EngineVoice

LICENCE = "Festival 2.5 (X11-style, Debian festival); voices festvox-kallpc16k, festvox-kdlpc16k (free, CSTR/OGI), " \
          "festvox-us-slt-hts (BSD-style, CMU ARCTIC)"
VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
KIND = {"kal_diphone": "diphone", "ked_diphone": "diphone", "cmu_us_slt_arctic_hts": "hts"}
INSTALL = "make data installs it: apt-get install festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"


class FestivalEngine:
    name = "festival"

    def __init__(self, binary: str | None = None):
        self.binary = binary or shutil.which("text2wave")
        if not self.binary:
            raise EngineError(f"Festival is not installed ({INSTALL})")

    def voices(self) -> list[EngineVoice]:
        return [EngineVoice("festival", v, LICENCE, KIND[v]) for v in VOICES]

    def synth(self, text: str, voice: EngineVoice, seed: int = 0) -> tuple[np.ndarray, int]:
        """-> float32 (S,), rate. Deterministic; params: duration_stretch (slower above 1)."""
        import soundfile as sf
        if voice.name not in VOICES:
            raise EngineError(f"festival has no voice {voice.name!r}; choose one of {', '.join(VOICES)}")
        stretch = float(voice.params.get("duration_stretch", 1.0))
        with tempfile.TemporaryDirectory() as tmp:
            src, out = Path(tmp) / "in.txt", Path(tmp) / "out.wav"
            src.write_text(text + "\n")
            cmd = [self.binary, "-eval", f"(voice_{voice.name})", "-eval",
                   f"(Parameter.set 'Duration_Stretch {stretch:g})", str(src), "-o", str(out)]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            if r.returncode != 0 or not out.exists() or "SIOD ERROR" in r.stderr:
                raise EngineError(f"festival failed for voice {voice.name}: {r.stderr.strip()[:200]} ({INSTALL})")
            audio, rate = sf.read(out, dtype="float32")
        return audio, int(rate)
