"""Voice transforms (resgen/speech/transforms.py): what each changes and what it keeps."""
import numpy as np
import pytest

from resgen.speech.transforms import VoiceTransform, wsola

SR = 22050


def _tone(f0, seconds=1.0):
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * f0 * t)).astype(np.float32)


def _peak_hz(x):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / SR)[np.argmax(spec)]


@pytest.mark.parametrize("warp", [0.85, 1.12, 1.2])
def test_warp_scales_the_pitch_and_keeps_the_length(warp):
    y = VoiceTransform(warp).apply(_tone(200), SR)
    assert len(y) == SR and abs(_peak_hz(y) - 200 * warp) < 3


def test_wsola_changes_the_length_not_the_pitch():
    for rate in (0.8, 1.25):
        y = wsola(_tone(300), rate)
        assert abs(len(y) - SR / rate) <= 1 and abs(_peak_hz(y) - 300) < 3


def test_telephone_keeps_its_band_and_room_smears_in_time():
    noise = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.3
    tel = VoiceTransform(1.0, "telephone", 0.5).apply(noise, SR)
    spec, f = np.abs(np.fft.rfft(tel)) ** 2, np.fft.rfftfreq(SR, 1 / SR)
    assert spec[(f > 500) & (f < 3000)].mean() > 100 * spec[f > 6000].mean()
    click = np.zeros(SR, np.float32)
    click[1000] = 0.9
    room = VoiceTransform(1.0, "room", 0.8).apply(click, SR, seed=1)
    assert np.abs(room[3000:]).max() > 1e-3 and len(room) == SR                 # a tail after the click
    assert np.array_equal(room, VoiceTransform(1.0, "room", 0.8).apply(click, SR, seed=1))   # the seed fixes it


@pytest.mark.parametrize("kwargs, message", [({"warp": 2.0}, "warp"), ({"channel": "radio"}, "unknown channel"),
                                             ({"strength": 1.5}, "strength")])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VoiceTransform(**kwargs)
