"""espeak-ng through ctypes on the library that the `espeakng-loader` wheel bundles (no apt).

`Espeak().synth(text, voice)` returns 22.05 kHz int16 audio and the IPA phonemes espeak spoke,
each with its start time, so every utterance of our corpus comes with a phoneme alignment.
The library keeps global state: use one `Espeak` per process. Its output is not bit-exact from
call to call (noise sources and state carried between utterances move samples and, by a few
samples, the length); the phonemes and their timing are the same.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

AUDIO_OUTPUT_SYNCHRONOUS = 2
INIT_PHONEME_EVENTS, INIT_PHONEME_IPA = 0x0001, 0x0002
EVENT_LIST_TERMINATED, EVENT_PHONEME = 0, 7
RATE, PITCH, RANGE = 1, 3, 4
CHARS_UTF8 = 1
POS_CHARACTER = 1


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Voice:
    """An espeak voice: accent (language voice) + variant, pitch 0-100, rate in words/min."""
    accent: str
    variant: str
    pitch: int = 50
    rate: int = 170
    pitch_range: int = 50

    @property
    def name(self) -> str:
        return f"{self.accent}+{self.variant}_p{self.pitch}_r{self.rate}_q{self.pitch_range}"


class Espeak:
    _instance = None

    def __new__(cls):                      # the C library is global: one wrapper per process
        if cls._instance is None:
            cls._instance = super().__new__(cls)
            cls._instance._init()
        return cls._instance

    def _init(self):
        import espeakng_loader
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.restype = ctypes.c_int
        rate = self.lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 500,
                                          espeakng_loader.get_data_path().encode(),
                                          INIT_PHONEME_EVENTS | INIT_PHONEME_IPA)
        if rate <= 0:
            raise RuntimeError("espeak-ng failed to initialise")
        self.sample_rate = rate
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[str, int]] = []
        self._cb = _CALLBACK(self._on_audio)            # keep a reference: ctypes does not
        self.lib.espeak_SetSynthCallback(self._cb)

    def _on_audio(self, wav, n, events):
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            if events[i].type == EVENT_PHONEME:
                self._events.append((events[i].id.string.decode("utf-8", "replace"), events[i].audio_position))
            i += 1
        return 0

    def synth(self, text: str, voice: Voice, seed: int = 0) -> tuple[np.ndarray, list[tuple[str, float]]]:
        """-> (audio int16 (S,), [(IPA phoneme, start in seconds), ...])."""
        if self.lib.espeak_SetVoiceByName(f"{voice.accent}+{voice.variant}".encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice.accent}+{voice.variant}")
        self.lib.espeak_SetParameter(RATE, int(voice.rate), 0)
        self.lib.espeak_SetParameter(PITCH, int(voice.pitch), 0)
        self.lib.espeak_SetParameter(RANGE, int(voice.pitch_range), 0)
        self._chunks, self._events = [], []
        self.lib.espeak_ng_SetRandSeed(ctypes.c_long(int(seed)))
        data = text.encode("utf-8") + b"\0"
        self.lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return audio, [(p, ms / 1000.0) for p, ms in self._events]
