"""Voice transforms that turn one realistic speaker into other plausible ones: a vocal-tract-length warp (pitch and
formants scaled together, as between a smaller and a larger person, duration kept) and a mild channel (a spectral
tilt, a small room, or a telephone line). The words and their timing are unchanged, so an utterance's phoneme
durations carry over to its transformed copy.

    t = VoiceTransform(warp=1.1, channel="room", strength=0.5)
    y = t.apply(audio, 22050, seed=3)            # float32 (S,) -> float32 (S,), same length

warp: resample by the factor (everything `warp` times higher), then WSOLA time-stretch back to the original length
(overlap-add of windows picked by waveform similarity, so no phasiness). channel: "none" | "tilt" (a first-order
shelf, up to +-6 dB) | "room" (a synthetic exponentially decaying reverberation, RT60 0.15-0.45 s, mixed in) |
"telephone" (300-3400 Hz band and a soft saturation). `strength` in [0, 1] scales the channel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHANNELS = ("none", "tilt", "room", "telephone")
WARP_RANGE = (0.8, 1.25)


@dataclass(frozen=True)
class VoiceTransform:
    warp: float = 1.0
    channel: str = "none"
    strength: float = 0.5

    def __post_init__(self):
        if not WARP_RANGE[0] <= self.warp <= WARP_RANGE[1]:
            raise ValueError(f"warp must be in [{WARP_RANGE[0]}, {WARP_RANGE[1]}], got {self.warp}")
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}; choose one of {', '.join(CHANNELS)}")
        if not 0 <= self.strength <= 1:
            raise ValueError(f"strength must be in [0, 1], got {self.strength}")

    @property
    def name(self) -> str:
        return f"w{self.warp:.2f}" + ("" if self.channel == "none" else f"-{self.channel}{self.strength:.1f}")

    def apply(self, audio: np.ndarray, sr: int, seed: int = 0) -> np.ndarray:
        y = np.asarray(audio, np.float32)
        if abs(self.warp - 1) > 1e-3:
            y = vtl_warp(y, self.warp)
        y = channel(y, sr, self.channel, self.strength, np.random.default_rng(seed))
        peak = float(np.abs(y).max()) if len(y) else 0.0
        return (y * min(1.0, 0.95 / peak) if peak > 0 else y).astype(np.float32)


def wsola(x: np.ndarray, rate: float, frame: int = 1024, tolerance: int = 256) -> np.ndarray:
    """Time-stretch x (S,) to about S / rate samples (rate > 1: shorter) without changing its pitch: each output
    window (hop frame/2, Hann) is read near its nominal input position, shifted by up to `tolerance` samples to the
    spot most similar to the natural continuation of the previous window."""
    hop = frame // 2
    n_out = int(round(len(x) / rate))
    win = np.hanning(frame + 1)[:-1].astype(np.float32)                 # periodic: windows at hop sum to one
    pad = np.concatenate([np.zeros(frame + tolerance, np.float32), x, np.zeros(2 * frame + tolerance, np.float32)])
    out = np.zeros(n_out + 2 * frame, np.float32)
    prev = frame + tolerance                                            # input position of the previous window
    for k, t in enumerate(range(0, n_out + frame, hop)):
        nominal = frame + tolerance + int(round((t - hop) * rate))   # output t - hop <- input
        if k == 0:
            pos = nominal
        else:
            natural = pad[prev + hop: prev + hop + frame]
            lo, hi = max(0, nominal - tolerance), min(len(pad) - frame, nominal + tolerance)
            region = pad[lo: hi + frame]
            corr = np.correlate(region, natural, mode="valid")          # similarity at each shift
            energy = np.sqrt(np.convolve(region ** 2, np.ones(frame), mode="valid")) + 1e-6
            pos = lo + int(np.argmax(corr / energy))
        seg = pad[pos: pos + frame]
        start = t
        out[start: start + frame] += seg * win
        prev = pos
    return out[hop: hop + n_out]


def vtl_warp(x: np.ndarray, factor: float) -> np.ndarray:
    """Pitch and formants times `factor`, same length: resample (speed and spectrum scale), then WSOLA back."""
    from fractions import Fraction

    from scipy.signal import resample_poly
    fr = Fraction(factor).limit_denominator(64)
    fast = resample_poly(x, fr.denominator, fr.numerator).astype(np.float32)     # len / factor samples
    y = wsola(fast, 1 / factor)
    return np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)]


def channel(x: np.ndarray, sr: int, kind: str, strength: float, rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import butter, fftconvolve, lfilter, sosfilt
    if kind == "none" or strength == 0:
        return x
    if kind == "tilt":                          # a first-order shelf: brighter or darker by up to 6 dB
        gain = 10 ** (rng.choice([-1, 1]) * 6 * strength / 20)
        b, a = butter(1, 1500 / (sr / 2), btype="high")
        return (x + (gain - 1) * lfilter(b, a, x)).astype(np.float32)
    if kind == "room":                          # exponentially decaying noise as the room's late response
        rt60 = 0.15 + 0.3 * rng.random()
        n = int(rt60 * sr)
        ir = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)
        ir = ir / np.sqrt((ir ** 2).sum())
        wet = fftconvolve(x, ir)[: len(x)]
        mix = 0.15 + 0.35 * strength
        return ((1 - mix) * x + mix * wet * (np.abs(x).max() / (np.abs(wet).max() + 1e-9))).astype(np.float32)
    if kind == "telephone":                     # the 300-3400 Hz band and a soft limiter
        sos = butter(4, [300 / (sr / 2), 3400 / (sr / 2)], btype="band", output="sos")
        y = sosfilt(sos, x)
        drive = 1 + 4 * strength
        return (np.tanh(drive * y / (np.abs(y).max() + 1e-9)) / np.tanh(drive) * np.abs(x).max()).astype(np.float32)
    raise ValueError(f"unknown channel {kind!r}")
