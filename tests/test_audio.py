import numpy as np
import pytest
import torch

from resgen.speech.audio import AudioError, MelConfig, _hz_to_mel, _mel_to_hz, load_audio, log_mel, mel_filterbank, prepare, save_audio

SR = 22050


def test_slaney_mel_scale_and_filterbank():
    f = np.array([0.0, 500.0, 1000.0, 4000.0, 8000.0])
    assert np.allclose(_mel_to_hz(_hz_to_mel(f)), f)
    assert _hz_to_mel(1000.0) == pytest.approx(15.0)               # linear below 1 kHz, 3 mels per 200 Hz
    fb = mel_filterbank()
    assert fb.shape == (80, 513) and (fb >= 0).all()
    area = fb.sum(1) * SR / 1024                                   # Slaney normalisation: unit area in Hz
    assert np.allclose(area[20:], 1.0, atol=0.06)
    peaks = fb.argmax(1)
    assert (np.diff(peaks) >= 0).all() and fb[:, 513 * 8000 // 11025 + 2:].sum() == 0


def test_log_mel_shape_and_a_tone_lands_in_its_band():
    t = np.arange(SR) / SR
    for hz in (300.0, 2000.0):
        x = torch.from_numpy((0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32))
        m = log_mel(x)
        assert m.shape == (1, 80, SR // 256)
        band = int(np.argmax(mel_filterbank()[:, round(hz * 1024 / SR)]))
        assert abs(int(m[0, :, 20].argmax()) - band) <= 1
    assert log_mel(torch.zeros(2, 4096)).min() == pytest.approx(np.log(MelConfig().log_floor), abs=1e-3)


def test_prepare_resamples_mixes_down_and_rejects_bad_audio():
    t = np.arange(44100) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 200 * t), np.sin(2 * np.pi * 200 * t)], 1).astype(np.float32) * 0.3
    y = prepare(stereo, 44100)
    assert y.shape == (SR,) and y.dtype == np.float32 and abs(np.abs(y).max() - 0.3) < 0.02
    with pytest.raises(AudioError, match="silent"):
        prepare(np.zeros(SR, np.float32), SR)
    with pytest.raises(AudioError, match="too short"):
        prepare(np.ones(100, np.float32) * 0.1, SR)
    with pytest.raises(AudioError, match="too long"):
        prepare(np.ones(SR * 31, np.float32) * 0.1, SR)
    with pytest.raises(AudioError, match="empty"):
        prepare(np.zeros(0, np.float32), SR)
    with pytest.raises(AudioError, match="NaN"):
        prepare(np.full(SR, np.nan, np.float32), SR)


def test_wav_round_trip_and_unreadable_file(tmp_path):
    x = (0.2 * np.sin(np.arange(SR) / 10)).astype(np.float32)
    save_audio(tmp_path / "a.wav", x)
    y = load_audio(tmp_path / "a.wav")
    assert np.abs(y - x).max() < 1e-3
    (tmp_path / "bad.wav").write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match="cannot read"):
        load_audio(tmp_path / "bad.wav")
