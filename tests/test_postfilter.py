"""The spectral-contrast postfilter on generated mels: identity at 0, flat frames kept, peaks raised, the envelope
kept, and the pipeline applying the model's default or the user's value to generated speech only."""
import numpy as np
import pytest
import torch

from resgen.speech.postfilter import (MAX_CONTRAST, PostfilterConfig, check_contrast, smooth_over_bands,
                                      spectral_contrast)


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
    for bad in ({"contrast": 3}, {"sigma": 0}, {"strength": 1}, {"correction": 2}, {"correction": 1, "spread": 3}):
        (model / "config.json").write_text(json.dumps(cfg | {"postfilter": bad}))
        with pytest.raises(ModelFileError, match="not a valid speech model config"):
            resgen.load("speech", model_dir=model)
    (model / "config.json").write_text(json.dumps(cfg | {"postfilter": {"contrast": 0.2}}))
    assert resgen.load("speech", model_dir=model).postfilter.contrast == 0.2
    (model / "config.json").write_text(json.dumps(cfg | {"postfilter": {"contrast": "prompt", "prompt_ratio": 1.1}}))
    assert resgen.load("speech", model_dir=model).postfilter.resolve() == "prompt"
    (model / "config.json").write_text(json.dumps(cfg | {"postfilter": {"correction": 1.0}}))
    assert resgen.load("speech", model_dir=model).postfilter.correction == 1.0
    for bad in ({"contrast": "sharp"}, {"contrast": "prompt", "prompt_ratio": 0}):
        (model / "config.json").write_text(json.dumps(cfg | {"postfilter": bad}))
        with pytest.raises(ModelFileError, match="not a valid speech model config"):
            resgen.load("speech", model_dir=model)


def _formants(frames=40, sharpness=1.5, seed=0):
    """A speech-like log-mel (80, frames): a few formant peaks of width `sharpness` bands moving over time, on a
    tilt, and two silent frames at the end."""
    g = torch.Generator().manual_seed(seed)
    bands = torch.arange(80, dtype=torch.float32)[:, None]
    centres = torch.tensor([12.0, 30.0, 50.0])[:, None] + 3 * torch.randn(3, frames, generator=g)
    mel = -8 + 0.02 * (80 - bands) + sum(3 * torch.exp(-0.5 * ((bands - c) / sharpness) ** 2) for c in centres)
    mel[:, -2:] = -11.0
    return mel


def test_detail_measures_the_formants_over_speech_frames():
    from resgen.speech.postfilter import detail
    sharp, blunt = _formants(sharpness=1.5), _formants(sharpness=4.0)
    assert detail(sharp) > 1.5 * detail(blunt) > 0
    assert detail(torch.full((80, 9), -5.0)) < 1e-6 and detail(torch.zeros(80, 0)) == 0.0
    longer_silence = torch.cat([sharp, torch.full((80, 30), -11.0)], 1)
    assert abs(detail(longer_silence) - detail(sharp)) < 1e-6          # silent frames do not count


def test_contrast_matched_to_the_prompt_reaches_the_prompts_detail():
    from resgen.speech.postfilter import MATCH, detail
    prompt, generated = _formants(sharpness=1.5, seed=1), smooth_over_bands(_formants(sharpness=1.5, seed=2), 1.0)
    pf = PostfilterConfig(contrast=MATCH)
    c = pf.contrast_for(generated, detail(prompt))
    assert 0 < c < 1
    assert abs(detail(pf.apply(generated, c)) / detail(prompt) - 1) < 0.02  # its detail is now the prompt's
    more = PostfilterConfig(contrast=MATCH, prompt_ratio=1.2).contrast_for(generated, detail(prompt))
    assert more > c
    assert pf.contrast_for(prompt, detail(generated)) == 0.0               # already sharper than its prompt: none
    assert pf.contrast_for(generated, 100 * detail(prompt)) == MAX_CONTRAST     # clipped
    assert pf.contrast_for(generated, None) == 0.0                         # no prompt to match
    assert pf.contrast_for(torch.full((80, 9), -5.0), detail(prompt)) == 0.0   # nothing to sharpen
    assert pf.contrast_for(generated, detail(prompt), 0.3) == 0.3          # a user's number is used as it is


def test_the_prompt_setting_is_checked_and_needs_resolving():
    from resgen.speech.postfilter import MATCH
    assert check_contrast(" Prompt") == MATCH and PostfilterConfig(contrast="prompt").resolve() == MATCH
    with pytest.raises(ValueError, match='contrast "prompt" needs the prompt'):
        PostfilterConfig(contrast=MATCH).apply(_formants())
    with pytest.raises(ValueError, match="prompt_ratio"):
        PostfilterConfig(contrast=MATCH, prompt_ratio=3)


def test_detail_per_band_group_and_amounts_between_the_groups():
    from resgen.speech.postfilter import band_amounts, detail, group_detail
    mel = _formants(sharpness=1.5)
    assert group_detail(mel, 2.0, 1) == (detail(mel),)
    blunt_top = torch.cat([mel[:40], smooth_over_bands(mel, 2.0)[40:]])       # the upper half's formants smoothed
    low, high = group_detail(blunt_top, 2.0, 2)
    assert low > 1.5 * high > 0
    assert torch.equal(band_amounts((0.3,), 80), torch.full((80,), 0.3))
    a = band_amounts((0.0, 0.4, 0.2, 0.2), 80)
    assert a[:10].eq(0).all() and a[-10:].sub(0.2).abs().max() < 1e-6          # held beyond the outer centres
    assert abs(a[30] - 0.4) < 0.01 and 0 < a[20] < 0.4 and torch.all(a[30:50].diff() <= 0)   # linear between
    assert torch.equal(spectral_contrast(mel, (0.0, 0.0)), mel)


def test_contrast_matched_per_band_group_sharpens_where_the_prompt_is_sharper():
    from resgen.speech.postfilter import MATCH, describe, group_detail, mean_contrast
    prompt = _formants(sharpness=1.5, seed=1)
    gen = _formants(sharpness=1.5, seed=2)
    gen = torch.cat([smooth_over_bands(gen, 0.7)[:40], smooth_over_bands(gen, 1.5)[40:]])  # the top half blunter
    pf = PostfilterConfig(contrast=MATCH, bands=2)
    c = pf.contrast_for(gen, pf.detail(prompt))
    assert isinstance(c, tuple) and len(c) == 2 and 0 < c[0] < c[1] <= MAX_CONTRAST
    after, target = group_detail(pf.apply(gen, c), 2.0, 2), group_detail(prompt, 2.0, 2)
    before = group_detail(gen, 2.0, 2)
    assert all(abs(a - t) < 0.5 * abs(b - t) for a, b, t in zip(after, before, target))   # each group moved most of the way
    assert describe(c) == f"{c[0]:.2f}/{c[1]:.2f}" and mean_contrast(c) == pytest.approx(sum(c) / 2)
    assert pf.contrast_for(gen, None) == (0.0, 0.0)
    with pytest.raises(ValueError, match="band groups"):
        pf.contrast_for(gen, (1.0, 1.0, 1.0))
    assert check_contrast([0.1, 0.2]) == (0.1, 0.2)
    with pytest.raises(ValueError, match="between 0 and"):
        check_contrast([0.1, 2.0])
    for bad in ([], [0.1, "prompt"], [0.1] * 9, [[0.1]]):
        with pytest.raises(ValueError, match="band group takes"):
            check_contrast(bad)
    for bad in (0, 9, 2.5):
        with pytest.raises(ValueError, match="bands"):
            PostfilterConfig(contrast=MATCH, bands=bad)
