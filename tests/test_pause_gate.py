"""The pause gate (resgen/speech/pause_gate.py): hiss the mel does not ask for is taken out of the pauses, speech is
left as it is, nothing gets louder, strength 0 changes nothing; and the pipeline applies the model's setting."""
import numpy as np
import pytest
import torch

from resgen.speech.audio import log_mel
from resgen.speech.pause_gate import hold_pauses

HOP = 256


def _speech_then_pause(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, slice]:
    """1 s of a harmonic tone, then 1 s of silence -> (the clean audio (1, S), its log-mel (1, 80, F), the pause's
    samples away from the edge)."""
    sr = 22050
    t = np.arange(sr) / sr
    phase = 2 * np.pi * np.cumsum(150 + 20 * np.sin(2 * np.pi * 3 * t)) / sr
    tone = sum(np.sin(k * phase) / k for k in range(1, 12)) * 0.2
    frames = 2 * sr // HOP
    clean = np.zeros(frames * HOP, np.float32)
    clean[: len(tone)] = tone
    x = torch.from_numpy(clean)[None]
    return x, log_mel(x), slice(len(tone) + 4 * HOP, frames * HOP - 2 * HOP)


def test_hiss_in_a_pause_goes_and_the_speech_stays():
    clean, mel, pause = _speech_then_pause()
    hiss = 0.01 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    noisy = clean + hiss
    out = hold_pauses(noisy, mel, 1.0)
    assert out.shape == noisy.shape
    rms = lambda a: float(a[0, pause].pow(2).mean().sqrt())           # noqa: E731
    assert rms(out) < 0.1 * rms(noisy)                                # 20 dB less hiss in the pause
    speech = slice(2 * HOP, 20_000)
    assert torch.allclose(out[0, speech], noisy[0, speech], atol=1e-4)   # the speech frames untouched
    half = hold_pauses(noisy, mel, 0.5)
    assert rms(out) < rms(half) < rms(noisy)                          # the strength grades it
    assert torch.equal(hold_pauses(noisy, mel, 0.0), noisy)


def test_never_louder_and_clean_audio_kept():
    clean, mel, pause = _speech_then_pause()
    out = hold_pauses(clean, mel, 1.0)                                # nothing in excess: (almost) nothing moves
    assert float((out - clean).abs().max()) < 1e-3
    quiet = clean * 0.1                                               # far quieter than the mel wants: no boost
    assert float(hold_pauses(quiet, mel, 1.0).abs().max()) <= float(quiet.abs().max()) + 1e-4


def test_batches_are_gated_each_on_its_own_mel():
    clean, mel, pause = _speech_then_pause()
    hiss = 0.01 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(1))
    both = torch.cat([clean + hiss, clean])
    out = hold_pauses(both, torch.cat([mel, mel]), 1.0)
    assert torch.allclose(out[0], hold_pauses(clean + hiss, mel, 1.0)[0], atol=1e-5)
    assert torch.allclose(out[1], hold_pauses(clean, mel, 1.0)[0], atol=1e-5)


def test_the_model_setting_is_checked():
    from resgen.speech.postfilter import PostfilterConfig
    assert PostfilterConfig(pause_gate=1.0).pause_gate == 1.0
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="pause_gate"):
            PostfilterConfig(pause_gate=bad)
