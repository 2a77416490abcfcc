"""The spectral-contrast postfilter on generated mels: identity at 0, flat frames kept, peaks raised, the envelope
kept, and the pipeline applying the model's default or the user's value to generated speech only."""
import numpy as np
import pytest
import torch

from resgen.speech.postfilter import PostfilterConfig, check_contrast, smooth_over_bands, spectral_contrast


def _peaked(frames=6):
    bands = torch.arange(80, dtype=torch.float32)
    frame = -6 + 3 * torch.exp(-0.5 * ((bands - 30) / 1.5) ** 2)               # one formant-like peak
    return frame[:, None].repeat(1, frames)


def test_zero_is_the_identity_and_flat_frames_stay_flat():
    mel = _peaked()
    assert spectral_contrast(mel, 0.0) is mel
    flat = torch.full((80, 5), -4.0)
    assert torch.allclose(spectral_contrast(flat, 0.7), flat, atol=1e-5)


def test_peaks_rise_and_the_envelope_stays():
    mel = _peaked()
    out = spectral_contrast(mel, 0.5)
    rise = lambda m: float(m[30, 0] - m[20, 0])                                # the peak above its surroundings
    assert rise(out) > 1.15 * rise(mel)
    assert abs(float(out.mean() - mel.mean())) < 0.01                        # the mean level barely moves
    assert torch.allclose(smooth_over_bands(out, 6.0), smooth_over_bands(mel, 6.0), atol=0.1)


def test_batches_and_single_mels_agree():
    g = torch.Generator().manual_seed(0)
    mels = torch.randn(3, 80, 7, generator=g) - 5
    batch = spectral_contrast(mels, 0.2)
    assert batch.shape == mels.shape
    assert all(torch.allclose(batch[b], spectral_contrast(mels[b], 0.2), atol=1e-6) for b in range(3))


@pytest.mark.parametrize("bad", [-0.1, 1.5, "sharp", None, np.nan])
def test_out_of_range_contrast_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="contrast must be"):
        check_contrast(bad)
    assert check_contrast("0.25") == 0.25 and PostfilterConfig().contrast == 0.0


def test_a_model_config_with_a_bad_postfilter_is_refused(tiny_speech_dir, tmp_path):
    import json
    import shutil

    import resgen
    from resgen.core.weights import ModelFileError
    model = tmp_path / "model"
    shutil.copytree(tiny_speech_dir, model)
    cfg = json.loads((model / "config.json").read_text())
    for bad in ({"contrast": 3}, {"sigma": 0}, {"strength": 1}):
        (model / "config.json").write_text(json.dumps(cfg | {"postfilter": bad}))
        with pytest.raises(ModelFileError, match="not a valid speech model config"):
            resgen.load("speech", model_dir=model)
    (model / "config.json").write_text(json.dumps(cfg | {"postfilter": {"contrast": 0.2}}))
    assert resgen.load("speech", model_dir=model).postfilter.contrast == 0.2
