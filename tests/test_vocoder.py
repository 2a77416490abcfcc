
import numpy as np
import pytest
import torch

import resgen
from resgen.speech.audio import log_mel
from resgen.speech.vocoder import HifiGan, HifiGanConfig, fold_weight_norm, griffin_lim, load_hifigan, vocode
from resgen.core.weights import ModelFileError

SHIPPED = resgen.assets_dir() / "speech" / "vocoder.safetensors"


def _speech_like(seconds=1.0, sr=22050) -> torch.Tensor:
    """A vowel-ish harmonic tone with a moving pitch."""
    t = np.arange(int(seconds * sr)) / sr
    f0 = 140 + 30 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 20)) * 0.1
    return torch.from_numpy(x.astype(np.float32))


def test_fold_weight_norm_matches_torch():
    conv = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv1d(4, 6, 3))
    g = conv.parametrizations.weight.original0.detach()
    v = conv.parametrizations.weight.original1.detach()
    folded = fold_weight_norm({"c.weight_g": g, "c.weight_v": v, "c.bias": conv.bias.detach()})
    assert set(folded) == {"c.weight", "c.bias"}
    assert torch.allclose(folded["c.weight"], conv.weight.detach(), atol=1e-6)


def test_hifigan_shapes_and_range():
    m = HifiGan(HifiGanConfig(channels=32)).eval()
    with torch.no_grad():
        y = m(torch.randn(2, 80, 10))
    assert y.shape == (2, 10 * 256) and y.abs().max() <= 1


def test_griffin_lim_resynthesises_the_mel():
    x = _speech_like()
    mel = log_mel(x)
    y = griffin_lim(mel, iters=32)
    assert y.shape == (1, mel.shape[-1] * 256)
    err = (log_mel(y[0]) - mel).abs().mean()
    noise = (log_mel(torch.randn_like(x) * 0.1) - mel).abs().mean()
    assert err < 0.25 * noise


def test_shipped_hifigan_resynthesises_the_mel():
    m = load_hifigan(SHIPPED)
    x = _speech_like()
    mel = log_mel(x)
    y = vocode(mel, "hifigan", m)
    err = (log_mel(y[0]) - mel).abs().mean()
    noise = (log_mel(torch.randn_like(x) * 0.1) - mel).abs().mean()
    assert err < 0.25 * noise
    with pytest.raises(ValueError, match="unknown vocoder"):
        vocode(mel, "wavenet")


def test_missing_or_wrong_vocoder_file(tmp_path):
    with pytest.raises(ModelFileError, match="missing vocoder"):
        load_hifigan(tmp_path / "none.safetensors")
    from safetensors.torch import save_file
    save_file({"x": torch.zeros(2)}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(ModelFileError, match="not a HiFi-GAN"):
        load_hifigan(tmp_path / "bad.safetensors")
