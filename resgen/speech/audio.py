"""Audio I/O and log-mel features with the HiFi-GAN V1 conventions (no torchaudio, no librosa).

22.05 kHz mono; STFT n_fft 1024, hop 256, Hann window 1024, reflect-padded by (n_fft - hop) / 2
on each side and not centred; magnitude (not power); 80 Slaney-normalised mel bands from 0 to
8000 Hz (what `librosa.filters.mel` gives by default); log(max(mel, 1e-5)).
Shapes: audio (S,) or (B, S) float32 in [-1, 1]; mel (B, 80, F) with F = S // 256.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import torch


@dataclass(frozen=True)
class MelConfig:
    sample_rate: int = 22050
    n_fft: int = 1024
    hop: int = 256
    win: int = 1024
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float = 8000.0
    log_floor: float = 1e-5


class AudioError(ValueError):
    """Audio that cannot be used: unreadable, empty, silent, too short or too long."""


def _hz_to_mel(f):
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    lin = f / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log, lin)


def _mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    lin = m * (200.0 / 3)
    log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0))
    return np.where(m >= 15.0, log, lin)


@functools.lru_cache(maxsize=4)
def mel_filterbank(cfg: MelConfig = MelConfig()) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters, Slaney area normalisation."""
    freqs = np.linspace(0, cfg.sample_rate / 2, cfg.n_fft // 2 + 1)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(cfg.fmin), _hz_to_mel(cfg.fmax), cfg.n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return weights.astype(np.float32)


def log_mel(audio: torch.Tensor, cfg: MelConfig = MelConfig()) -> torch.Tensor:
    """audio (S,) or (B, S) -> log-mel (B, n_mels, S // hop)."""
    x = audio[None] if audio.ndim == 1 else audio
    pad = (cfg.n_fft - cfg.hop) // 2
    x = torch.nn.functional.pad(x[:, None], (pad, pad), mode="reflect")[:, 0]
    window = torch.hann_window(cfg.win, device=x.device, dtype=x.dtype)
    spec = torch.stft(x, cfg.n_fft, cfg.hop, cfg.win, window=window, center=False, return_complex=True)
    mag = torch.sqrt(spec.real ** 2 + spec.imag ** 2 + 1e-9)                       # (B, n_fft/2+1, F)
    basis = torch.from_numpy(mel_filterbank(cfg)).to(x.device, x.dtype)
    return torch.log(torch.clamp(basis @ mag, min=cfg.log_floor))


def resample(audio: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Polyphase resampling (scipy), float32 in and out; audio (S,)."""
    if sr_in == sr_out:
        return audio.astype(np.float32)
    from scipy.signal import resample_poly
    g = gcd(int(sr_in), int(sr_out))
    return resample_poly(audio, sr_out // g, sr_in // g).astype(np.float32)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """(S,) or (S, channels) -> (S,) by averaging the channels."""
    return audio if audio.ndim == 1 else audio.mean(axis=1)


def prepare(audio: np.ndarray, sr: int, cfg: MelConfig = MelConfig(), min_s: float = 0.5,
            max_s: float = 30.0, what: str = "audio") -> np.ndarray:
    """Any rate and channel count -> mono float32 at cfg.sample_rate; raises AudioError on empty,
    silent, too short or too long input."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.size == 0 or sr <= 0:
        raise AudioError(f"{what} is empty")
    if not np.isfinite(audio).all():
        raise AudioError(f"{what} contains NaN or infinite samples")
    seconds = audio.shape[0] / sr
    if seconds < min_s:
        raise AudioError(f"{what} is too short ({seconds:.2f} s; at least {min_s:g} s)")
    if seconds > max_s:
        raise AudioError(f"{what} is too long ({seconds:.1f} s; at most {max_s:g} s)")
    x = resample(to_mono(audio), sr, cfg.sample_rate)
    if np.abs(x).max() < 1e-3:
        raise AudioError(f"{what} is silent")
    return np.clip(x, -1.0, 1.0)


def load_audio(path: str | Path, cfg: MelConfig = MelConfig(), **limits) -> np.ndarray:
    """Read any soundfile-readable file -> mono float32 at cfg.sample_rate (see `prepare`)."""
    import soundfile as sf
    try:
        audio, sr = sf.read(str(path), dtype="float32", always_2d=False)
    except Exception as e:                                   # soundfile raises its own error types
        raise AudioError(f"cannot read {path}: {e}") from None
    return prepare(audio, sr, cfg, what=str(path), **limits)


def save_audio(path: str | Path, audio: np.ndarray, sample_rate: int = MelConfig.sample_rate) -> None:
    """Write 16-bit PCM WAV."""
    import soundfile as sf
    sf.write(str(path), np.clip(np.asarray(audio, dtype=np.float32), -1, 1), sample_rate, subtype="PCM_16")
