"""What people upload as a voice prompt: rates, channels, file formats, silence, level, clipping."""
import numpy as np
import pytest
import soundfile as sf

from resgen.speech.audio import AudioError
from resgen.speech.prompt_audio import condition_prompt, read_prompt

SR = 22050


def _voice(seconds=2.0, sr=SR, amp=0.3):
    """A vowel-like harmonic tone (pitch 120-160 Hz) with syllable-rate loudness changes, peak about `amp`."""
    t = np.arange(int(seconds * sr)) / sr
    phase = 2 * np.pi * np.cumsum(140 + 20 * np.sin(2 * np.pi * 1.3 * t)) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 12)) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    return (amp * x / np.abs(x).max()).astype(np.float32)


def _active_dbfs(x, sr=SR):
    f = x[: len(x) // 220 * 220].reshape(-1, 220)
    e = np.sqrt((f ** 2).mean(1))
    return 20 * np.log10(np.sqrt((e[e > e.max() / 100] ** 2).mean()))


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_every_common_rate_is_resampled_to_22k(rate):
    p = condition_prompt(_voice(2.0, rate), rate)
    assert p.audio.dtype == np.float32 and abs(len(p.audio) - 2.0 * SR) <= 2
    if rate == SR:
        assert p.notices == ()
    else:
        assert len(p.notices) == 1 and f"resampled from {rate / 1000:g} kHz" in p.notices[0]
        assert ("muffled" in p.notices[0]) == (rate < 16000)
    # the same voice at any rate: the resampled waveform matches the 22.05 kHz one (below 4 kHz, where 8 kHz reaches)
    ref = condition_prompt(_voice(2.0, SR), SR).audio
    assert np.corrcoef(ref[1000:-1000], p.audio[1000:-1000])[0, 1] > (0.9 if rate < 16000 else 0.99)


def test_too_low_a_rate_is_refused():
    with pytest.raises(AudioError, match="4000 Hz.*at least 8000"):
        condition_prompt(_voice(2.0, 4000), 4000)


def test_stereo_is_mixed_down_with_a_notice():
    x = _voice()
    p = condition_prompt(np.stack([x, 0.5 * x], 1), SR)
    assert p.notices == ("mixed 2 channels down to mono",) and np.allclose(p.audio, 0.75 * x, atol=1e-6)
    assert condition_prompt(x[:, None], SR).notices == ()                    # one channel as (S, 1): nothing to say


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3"])
def test_wav_flac_ogg_mp3_files_are_read(tmp_path, fmt):
    x = _voice(2.0, 44100)
    path = tmp_path / f"voice.{fmt}"
    sf.write(str(path), np.stack([x, x], 1), 44100, format=fmt.upper() if fmt != "ogg" else "OGG")
    audio, rate = read_prompt(path)
    assert rate == 44100 and audio.shape[1] == 2
    p = condition_prompt(audio, rate)
    assert abs(len(p.audio) / SR - 2.0) < 0.1                                 # mp3 pads a few ms
    assert any("mixed 2 channels" in n for n in p.notices) and any("resampled from 44.1 kHz" in n for n in p.notices)
    ref = condition_prompt(x, 44100).audio
    n = min(len(ref), len(p.audio))
    lag = int(np.argmax(np.correlate(p.audio[:4000], ref[:2000], "valid")))  # the codec's delay
    assert np.corrcoef(ref[: n - lag - 100], p.audio[lag: n - 100])[0, 1] > 0.95


def test_an_unreadable_file_is_refused(tmp_path):
    (tmp_path / "x.mp3").write_bytes(b"ID3 not really an mp3")
    with pytest.raises(AudioError, match="cannot read x.mp3"):
        read_prompt(tmp_path / "x.mp3")


def test_long_leading_and_trailing_silence_is_trimmed():
    x = _voice(2.0)
    padded = np.concatenate([np.zeros(3 * SR, np.float32), x, np.zeros(SR, np.float32)])
    padded += np.random.default_rng(0).normal(0, 1e-4, padded.shape).astype(np.float32)     # a quiet room
    p = condition_prompt(padded, SR)
    assert len(p.notices) == 1 and "trimmed silence: 2.9 s at the start and 0.9 s at the end" in p.notices[0]
    assert abs(len(p.audio) / SR - 2.2) < 0.03                     # the voice and 0.1 s either side
    short = np.concatenate([np.zeros(SR // 5, np.float32), x])     # 0.2 s of silence: left as it is
    assert condition_prompt(short, SR).notices == () and len(condition_prompt(short, SR).audio) == len(short)


def test_a_quiet_prompt_is_raised_to_the_corpus_level():
    p = condition_prompt(_voice(amp=0.003), SR)                     # speech near -55 dBFS
    assert len(p.notices) == 1 and "quiet" in p.notices[0] and "raised by" in p.notices[0]
    assert abs(_active_dbfs(p.audio) - (-20)) < 1.5 and np.abs(p.audio).max() <= 0.95
    assert condition_prompt(_voice(amp=0.3), SR).notices == ()      # at a normal level nothing changes


def test_clipping_gets_a_notice_and_heavy_clipping_is_refused():
    x = _voice(amp=1.0)
    mild = np.clip(x * 1.3, -1, 1)                                  # the peaks clipped: about 3% of samples
    share = (np.abs(mild) >= 0.99).mean()
    assert 0.01 < share < 0.05
    p = condition_prompt(mild, SR)
    assert len(p.notices) == 1 and "clipped" in p.notices[0]
    with pytest.raises(AudioError, match="heavily clipped"):
        condition_prompt(np.clip(x * 3, -1, 1), SR)


@pytest.mark.parametrize("audio, rate, match", [
    (np.zeros(0, np.float32), SR, "empty"),
    (np.zeros(2 * SR, np.float32), SR, "silent"),
    (np.full(2 * SR, 1e-4, np.float32), SR, "silent"),              # below -60 dBFS
    (np.full(2 * SR, np.nan, np.float32), SR, "NaN"),
    (_voice(0.5), SR, "too short"),
    (np.concatenate([np.zeros(2 * SR, np.float32), _voice(0.3)]), SR, "too short: 0.4. s of sound"),
    (_voice(25.0), SR, "too long"),
    (np.zeros((SR, 2, 2), np.float32), SR, "shape"),
])
def test_unusable_prompts_get_a_clear_message(audio, rate, match):
    with pytest.raises(AudioError, match=match):
        condition_prompt(audio, rate)
