"""Best of N takes: the voice encoder, its trainer, and the pipeline's choice among takes (tiny models, synthetic)."""
import json
import shutil

import numpy as np
import pytest
import torch
from tiny import resgen as resgen_cli

import resgen
from resgen.core.trace import take_row
from resgen.core.weights import ModelFileError
from resgen.speech.voice_match import (MAX_CANDIDATES, BestOfConfig, VoiceEncoder, VoiceEncoderConfig,
                                       check_candidates, load_voice_encoder)
from resgen.train.voice_encoder import identification, synthetic_voices

SR = 22050


def _tone(seconds=2.0, f0=150.0):
    t = np.arange(int(seconds * SR)) / SR
    return (0.2 * np.sin(2 * np.pi * f0 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A voice encoder trained for a few seconds on synthetic 'voices' (spectral tilts)."""
    out = tmp_path_factory.mktemp("voice")
    r = resgen_cli("train", "voice-encoder", "--synthetic", "--out", str(out), "--steps", "150", "--batch-size", "16",
                   "--crop", "32", "--width", "32", "--dim", "16", "--threads", "1")
    assert r.returncode == 0, r.stderr
    return out


def test_embeddings_are_unit_norm_and_ignore_loudness():
    torch.manual_seed(0)
    enc = VoiceEncoder(VoiceEncoderConfig(width=32, dim=16)).eval()
    mel = torch.randn(3, 80, 40) - 5
    e = enc(mel)
    assert e.shape == (3, 16) and torch.allclose(e.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert torch.allclose(enc(mel + 2.0), e, atol=1e-5)          # a louder copy: the same voice


def test_the_trained_encoder_tells_voices_apart_and_picks_the_prompt_voice(trained):
    enc = load_voice_encoder(trained)
    meta = json.loads((trained / "voice.json").read_text())
    assert meta["recipe"]["training_voices"] == 4 and meta["encoder"]["dim"] == 16
    mels, offsets, voices = synthetic_voices()
    emb = torch.stack([enc.embed(torch.from_numpy(mels[:, offsets[u]:offsets[u + 1]].astype(np.float32)))
                       for u in range(len(voices))])
    assert identification(emb, voices) >= 0.9
    utt = {v: torch.from_numpy(mels[:, offsets[u]:offsets[u + 1]].astype(np.float32))
           for u, v in reversed(list(enumerate(voices)))}               # the first utterance of each voice
    other = torch.from_numpy(mels[:, offsets[-2]:offsets[-1]].astype(np.float32))   # the last one of voice 3
    best, scores = enc.choose(other, [utt[0], utt[1], utt[3], utt[2]])
    assert best == 2 and len(scores) == 4 and scores[2] == max(scores)
    log = [json.loads(line) for line in (trained / "log.jsonl").read_text().splitlines()]
    assert log[-1]["loss"] < 0.5 * log[0]["loss"]                       # the margin softmax was learnt


def test_candidates_are_checked():
    assert check_candidates(3) == 3 and check_candidates("2") == 2 and check_candidates(4.0) == 4
    for bad in (0, MAX_CANDIDATES + 1, 1.5, "two", None):
        with pytest.raises(ValueError, match="candidates must be a whole number"):
            check_candidates(bad)
    assert BestOfConfig().resolve() == 1 and BestOfConfig(candidates=3).resolve(None) == 3
    with pytest.raises(ValueError):
        BestOfConfig(candidates=0)


def test_take_row_keeps_one_sample(pipe_with_voice):
    pipe, _ = pipe_with_voice
    it, Np, _, s = pipe.generate_steps("The quick brown fox.", _tone(), SR, steps=3, seed=1, candidates=3)
    traces = list(it)
    assert traces[0].codes.shape[0] == 3 and s["candidates"] == 3
    one = take_row(traces[-1], 2)
    assert one.codes.shape[0] == 1 and torch.equal(one.codes[0], traces[-1].codes[2]) and one.step == traces[-1].step
    assert torch.equal(one.component[0], traces[-1].component[2])


@pytest.fixture(scope="module")
def pipe_with_voice(tiny_speech_dir, trained, tmp_path_factory):
    folder = tmp_path_factory.mktemp("speech-voice")
    shutil.copytree(tiny_speech_dir, folder, dirs_exist_ok=True)
    for f in ("voice.json", "voice.safetensors"):
        shutil.copy(trained / f, folder / f)
    return resgen.load("speech", model_dir=folder), folder


def test_best_of_n_keeps_the_take_nearest_the_prompt(pipe_with_voice):
    pipe, _ = pipe_with_voice
    kw = dict(steps=3, seed=5, vocoder="griffin-lim")
    r = pipe.generate("The quick brown fox.", _tone(), SR, candidates=3, **kw)
    s = r.settings
    assert s["candidates"] == 3 and len(s["voice_match"]) == 3 and s["voice_match"][s["take"]] == max(s["voice_match"])
    assert len(r.traces) == 3 and all(t.codes.shape[0] == 1 for t in r.traces)
    it, Np, _, _ = pipe.generate_steps("The quick brown fox.", _tone(), SR, steps=3, seed=5, candidates=3)
    final = list(it)[-1].codes
    assert torch.equal(r.codes, final[s["take"], Np:])                 # the very take, its trace and its mel
    assert torch.allclose(r.mel, pipe.decode(r.codes))
    enc, prompt_mel = pipe.voice_encoder(), pipe.decode(final[0, :Np])
    assert [round(float(enc.embed(pipe.decode(final[b, Np:])) @ enc.embed(prompt_mel)), 4) for b in range(3)] \
        == s["voice_match"]
    single = pipe.generate("The quick brown fox.", _tone(), SR, **kw)
    assert "take" not in single.settings and single.settings["candidates"] == 1


def test_best_of_n_errors_are_one_line(pipe_with_voice, tiny_speech_dir, tmp_path, monkeypatch):
    pipe, folder = pipe_with_voice
    with pytest.raises(ValueError, match="candidates must be a whole number between 1 and 8"):
        pipe.generate("The quick brown fox.", _tone(), SR, steps=2, candidates=9)
    with pytest.raises(ModelFileError, match="no voice encoder at .*resgen train voice-encoder"):
        load_voice_encoder(tmp_path)
    bad = tmp_path / "stale"
    shutil.copytree(folder, bad)
    (bad / "voice.safetensors").write_bytes(b"not weights")
    with pytest.raises(ModelFileError):
        load_voice_encoder(bad)
    import soundfile as sf
    sf.write(str(tmp_path / "prompt.wav"), _tone(), SR)
    r = resgen_cli("sample", "speech", "--text", "Hello there.", "--prompt", str(tmp_path / "prompt.wav"),
                   "--model", str(tiny_speech_dir), "--candidates", "0", "--out", str(tmp_path / "x.wav"))
    assert r.returncode != 0 and "candidates must be a whole number" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.wav").exists()
