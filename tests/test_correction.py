"""The tokenizer's error on the prompt, fitted and taken out of a mel (resgen/speech/correction.py)."""
import pytest
import torch

from resgen.speech.correction import MIN_FRAMES, Correction, fit
from resgen.speech.postfilter import PostfilterConfig, check_correction


def _mel(frames=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    level = torch.linspace(-2, -6, 80)[:, None]                           # a falling spectrum
    return level + 0.5 * torch.randn(80, frames, generator=g)


def test_offset_only_takes_each_bands_mean_error_out():
    decoded = _mel()
    offset = torch.linspace(-0.8, 0.6, 80)[:, None]
    real = decoded * 1.5 + offset                                         # also a wider spread, which spread 0 leaves
    fix = fit(real, decoded)
    assert fix.scale == (1.0,) * 80
    out = fix.apply(decoded)
    assert torch.allclose(out.mean(1), real.mean(1), atol=1e-4)           # the means now agree, band by band
    assert torch.allclose(out - decoded, (real.mean(1) - decoded.mean(1))[:, None].expand_as(out), atol=1e-5)
    target = _mel(frames=30, seed=1)                                      # another mel: the same per-band shift
    assert torch.allclose(fix.apply(target) - target, out[:, :30] - decoded[:, :30], atol=1e-5)


def test_spread_one_maps_mean_and_spread():
    decoded = _mel()
    real = decoded * 1.5 + 0.3
    fix = fit(real, decoded, spread=1.0)
    assert torch.allclose(fix.apply(decoded), real, atol=1e-4)
    wide = fit(decoded * 5, decoded, spread=1.0)                          # the spread ratio is held to 1/2 .. 2
    assert max(wide.scale) == pytest.approx(2.0)
    half = fit(real, decoded, spread=0.5)
    assert half.scale[0] == pytest.approx(1.5 ** 0.5, rel=1e-4)


def test_strength_folds_into_the_map():
    decoded, real = _mel(), _mel(seed=2) + 0.4
    fix = fit(real, decoded)
    x = _mel(seed=3)
    assert torch.allclose(fix.at(0.0).apply(x), x)
    assert torch.allclose(fix.at(1.0).apply(x), fix.apply(x))
    assert torch.allclose(fix.at(0.5).apply(x), (x + fix.apply(x)) / 2, atol=1e-6)


def test_no_fit_without_enough_speech():
    decoded = _mel()
    assert fit(decoded[:, :0], decoded) is None
    assert fit(decoded[:, : MIN_FRAMES - 1], decoded) is None
    quiet = decoded.clone()
    quiet[:, 3:] = -20.0                                                  # one loud frame, the rest silence
    assert fit(quiet, decoded) is None


def test_the_map_survives_a_trace_and_bad_settings_are_refused():
    fix = fit(_mel(seed=4) + 0.2, _mel(), spread=1.0)
    back = Correction.from_dict(fix.as_dict())
    x = _mel(seed=5)
    assert torch.allclose(back.apply(x), fix.apply(x), atol=1e-4)
    assert Correction.from_dict(None) is None
    with pytest.raises(ValueError, match="as many"):
        Correction.from_dict({"scale": [1.0, 1.0], "shift": [0.0]})
    assert check_correction("0.5") == 0.5
    for bad in (-0.1, 1.5, "lots"):
        with pytest.raises(ValueError, match="correction"):
            check_correction(bad)
    with pytest.raises(ValueError, match="correction"):
        PostfilterConfig(correction=2)
    with pytest.raises(ValueError, match="spread"):
        PostfilterConfig(spread=-1)
