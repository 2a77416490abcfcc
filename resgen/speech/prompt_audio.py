"""What people upload as a voice prompt -> clean mono speech at 22.05 kHz, and what was done to it.

A phone or browser recording arrives at 8-48 kHz, in stereo, as mp3/ogg/flac/wav, with a second of silence
before the first word, too quiet or clipped. `condition_prompt` makes it what the model was trained on (mono
22.05 kHz speech that starts at once, at the corpus' level: speech frames near -20 dBFS) and says in one line
per change what it did, or refuses with a clear message (AudioError) when it cannot help:

  channels   more than one -> their mean (notice)
  rate       below 8 kHz refused; anything else resampled to 22.05 kHz (notice; at 8-16 kHz also that the
             top of the band is missing)
  silence    leading or trailing silence (frames 40 dB under the loudest, or under -75 dBFS) longer than 0.3 s
             cut to 0.1 s (notice); audio whose loudest 10 ms is under -60 dBFS refused
  level      speech quieter than -30 dBFS raised to -20 dBFS, peaks kept under 0.95 (notice)
  clipping   more than 1% of samples at full scale: notice; more than 5%: refused
  length     shorter than min_s, less than 0.5 s of sound after trimming, or longer than max_s after trimming
             refused
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from resgen.speech.audio import AudioError, MelConfig, resample, to_mono

MIN_RATE = 8000
PROMPT_SECONDS = (1.0, 20.0)     # a voice prompt's shortest and longest speech (the pipeline's limits)
FRAME_S = 0.01
SILENCE_DB = 40.0           # a frame this far under the loudest one is silence
FLOOR_DBFS = -75.0          # and so is any frame under this
SILENT_DBFS = -60.0         # audio whose loudest frame is under this is silent
MARGIN_S = 0.1              # silence kept before and after the speech
TRIM_OVER_S = 0.3           # silence shorter than this stays (a corpus clip is never cut)
MIN_SOUND_S = 0.5
QUIET_DBFS = -30.0
TARGET_DBFS = -20.0         # the corpus' speech frames: median -20.2 dBFS (5-95%: -23.3 to -14.1)
PEAK_LIMIT = 0.95
CLIP_LEVEL = 0.99
CLIP_NOTICE, CLIP_REFUSE = 0.01, 0.05


@dataclass(frozen=True)
class PromptAudio:
    audio: np.ndarray                    # (S,) float32 at MelConfig.sample_rate
    notices: tuple[str, ...] = ()


def read_prompt(path: str | Path) -> tuple[np.ndarray, int]:
    """Any file libsndfile reads (wav, flac, ogg/vorbis/opus, mp3, aiff, ...) -> (float32 (S,) or (S, C), rate)."""
    import soundfile as sf
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=False)
    except Exception as e:                                   # soundfile raises its own error types
        raise AudioError(f"cannot read {Path(path).name}: {e} (wav, flac, ogg and mp3 files work)") from None
    return audio, int(rate)


def _db(x: float) -> float:
    return 20 * np.log10(max(x, 1e-10))


def _frames_rms(x: np.ndarray, rate: int) -> np.ndarray:
    n = max(1, int(FRAME_S * rate))
    f = x[: len(x) // n * n].reshape(-1, n)
    return np.sqrt((f.astype(np.float64) ** 2).mean(1))


def condition_prompt(audio: np.ndarray, rate: int, min_s: float = 1.0, max_s: float = 20.0,
                     what: str = "the prompt audio", cfg: MelConfig = MelConfig()) -> PromptAudio:
    """audio (S,) or (S, C) at `rate` -> PromptAudio at cfg.sample_rate (see the module docstring)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.size == 0 or audio.ndim == 0:
        raise AudioError(f"{what} is empty")
    if audio.ndim > 2:
        raise AudioError(f"{what} has shape {audio.shape}; expected samples or samples x channels")
    if not np.isfinite(audio).all():
        raise AudioError(f"{what} contains NaN or infinite samples")
    if rate < MIN_RATE:
        raise AudioError(f"{what} has a sample rate of {rate} Hz; at least {MIN_RATE} Hz is needed")
    if audio.shape[0] / rate > 3 * max_s + 10:       # bound the work before anything else
        raise AudioError(f"{what} is too long ({audio.shape[0] / rate:.1f} s; at most {max_s:g} s of speech)")
    notices = []
    if audio.ndim == 2 and audio.shape[1] > 1:
        notices.append(f"mixed {audio.shape[1]} channels down to mono")
    x = to_mono(audio)
    clipped = float((np.abs(x) >= CLIP_LEVEL).mean())
    if clipped > CLIP_REFUSE:
        raise AudioError(f"{what} is heavily clipped ({clipped:.0%} of samples at full scale): record it again "
                         "at a lower level")
    if clipped > CLIP_NOTICE:
        notices.append(f"{clipped:.1%} of samples are clipped at full scale: the voice may sound distorted")
    if rate != cfg.sample_rate:
        x = resample(x, rate, cfg.sample_rate)
        band = f"; above {rate / 2000:g} kHz it has no sound, so the voice will sound muffled" if rate < 16000 else ""
        notices.append(f"resampled from {rate / 1000:g} kHz to {cfg.sample_rate / 1000:g} kHz{band}")
    sr = cfg.sample_rate
    rms = _frames_rms(x, sr)
    if rms.size == 0 or _db(float(rms.max())) < SILENT_DBFS:
        raise AudioError(f"{what} is silent")
    speech = rms > max(rms.max() * 10 ** (-SILENCE_DB / 20), 10 ** (FLOOR_DBFS / 20))
    n = len(x) // len(rms)
    first, last = int(np.argmax(speech)), len(speech) - int(np.argmax(speech[::-1]))
    start, end = first * n, last * n
    start = start - int(MARGIN_S * sr) if start > TRIM_OVER_S * sr else 0
    end = end + int(MARGIN_S * sr) if len(x) - end > TRIM_OVER_S * sr else len(x)
    cut_lead, cut_tail = start / sr, (len(x) - end) / sr
    if start or end < len(x):
        parts = [f"{s:.1f} s at the {where}" for s, where in ((cut_lead, "start"), (cut_tail, "end")) if s > 0]
        notices.append("trimmed silence: " + " and ".join(parts))
    x = x[start:end]
    level = _db(float(np.sqrt((rms[speech].astype(np.float64) ** 2).mean())))
    if level < QUIET_DBFS:
        gain = min(10 ** ((TARGET_DBFS - level) / 20), PEAK_LIMIT / max(float(np.abs(x).max()), 1e-10))
        x = x * gain
        notices.append(f"the speech was quiet ({level:.0f} dBFS): raised by {_db(gain):.0f} dB")
    seconds = len(x) / sr
    if audio.shape[0] / rate < min_s:
        raise AudioError(f"{what} is too short ({audio.shape[0] / rate:.2f} s; at least {min_s:g} s)")
    if seconds < MIN_SOUND_S:
        raise AudioError(f"{what} is too short: {seconds:.2f} s of sound after trimming silence (at least "
                         f"{MIN_SOUND_S:g} s)")
    if seconds > max_s:
        raise AudioError(f"{what} is too long ({seconds:.1f} s of sound; at most {max_s:g} s)")
    return PromptAudio(np.clip(x, -1.0, 1.0).astype(np.float32), tuple(notices))
