"""The shipped TTS model: files match their hashes, the ONNX graph is current, and it speaks a
sentence from a shipped held-out prompt as non-silent audio of the length its durations predict."""
import json

import numpy as np
import pytest
import torch

import resgen
from resgen.speech.audio import load_audio

MODEL = resgen.assets_dir() / "speech"
pytestmark = pytest.mark.skipif(not (MODEL / "config.json").exists(), reason="no speech model shipped")


def test_files_match_their_hashes_and_onnx_is_current():
    from resgen.core.backends import load_onnx
    from resgen.core.weights import file_sha256
    cfg = json.loads((MODEL / "config.json").read_text())
    for name, sha in cfg["files"].items():
        assert file_sha256(MODEL / name) == sha, name
    assert load_onnx(MODEL, cfg["files"]["model.safetensors"])[1] is None
    from export.parity import parity
    den = resgen.load("speech", backend="torch").model.denoiser
    for r in parity(den, MODEL / "denoiser.onnx", shapes=((1, 40), (3, 200)), task="speech"):
        assert r["logits"] < 1e-4 and r["means"] < 1e-4, r


@pytest.fixture(scope="module")
def pipe():
    return resgen.load("speech", backend="auto")


@pytest.fixture(scope="module")
def prompt():
    return load_audio(sorted((MODEL / "prompts").glob("*.wav"))[0])


def test_speaks_with_the_predicted_length(pipe, prompt):
    assert pipe.backend in ("onnxruntime (CPU)", "torch (cpu)")           # auto: the faster here (measured)
    text = "The quick brown fox jumps over the lazy dog."
    r = pipe.generate(text, prompt, 22050, seed=0, vocoder="griffin-lim")
    frames, pos = pipe.plan_target(r.phonemes, pipe.prompt_codes(prompt, 22050), 1.0)
    assert len(r.codes) == len(pos) == -(-int(frames.sum()) // pipe.cfg.frames_per_position)
    assert len(r.audio) == len(pos) * pipe.cfg.frames_per_position * 256
    assert 1.5 < r.duration < 6.0                               # about 2.5 s of espeak speech
    rms = float(np.sqrt(np.mean(r.audio ** 2)))
    assert rms > 0.01 and np.isfinite(r.audio).all()
    slow = pipe.generate(text, prompt, 22050, seed=0, speed=0.7, vocoder="griffin-lim")
    assert slow.duration > 1.25 * r.duration


def test_text_changes_the_output_and_backends_agree(pipe, prompt):
    """Two sentences give different tokens; one sentence and seed gives the same tokens on torch
    and onnxruntime."""
    a = pipe.generate("Certainty is just an emotion.", prompt, 22050, seed=1, vocoder="griffin-lim")
    b = pipe.generate("His job is to enforce the law and fight crime.", prompt, 22050, seed=1, vocoder="griffin-lim")
    assert len(a.codes) != len(b.codes) or not torch.equal(a.codes, b.codes)
    t = resgen.load("speech", backend="torch").generate("Certainty is just an emotion.", prompt, 22050, seed=1,
                                                        vocoder="griffin-lim")
    assert (t.codes == a.codes).float().mean().item() >= 0.99


def test_the_voice_colour_is_corrected_from_the_prompt(pipe):
    """On by default; the tokenizer's error on a real recording (the shipped LibriVox prompt) is larger than on an
    espeak voice like those it was trained on, and taking it out moves the speech by that much, band by band."""
    text = "Certainty is just an emotion."
    sizes = {}
    for name in ("human_librivox.wav", "heldout_0_en_grandpa.wav"):
        prompt = load_audio(MODEL / "prompts" / name)
        r = pipe.generate(text, prompt, 22050, seed=0, vocoder="griffin-lim", contrast=0)
        off = pipe.generate(text, prompt, 22050, seed=0, vocoder="griffin-lim", contrast=0, correction=0)
        assert r.settings["correction"] == 1.0 and torch.equal(r.codes, off.codes)
        shift = np.asarray(r.settings["correction_map"]["shift"])
        assert torch.allclose(r.mel - off.mel, torch.tensor(shift, dtype=r.mel.dtype)[:, None].expand_as(r.mel),
                              atol=1e-4)
        sizes[name] = float(np.abs(shift).mean())
    assert sizes["human_librivox.wav"] > 2 * sizes["heldout_0_en_grandpa.wav"], sizes


def test_hifigan_speech_is_held_to_its_mel_in_pauses(pipe):
    """On by default: the pipeline's HiFi-GAN audio is the vocoder's own, through the pause gate at the model's
    strength; Griffin-Lim's is not gated."""
    import dataclasses

    from resgen.speech.audio import log_mel
    from resgen.speech.pause_gate import hold_pauses
    assert pipe.postfilter.pause_gate == 1.0
    audio = load_audio(MODEL / "prompts" / "human_librivox.wav")[:22050]
    audio = np.concatenate([audio, np.zeros(11025, np.float32)])          # a second of speech, then a pause
    mel = log_mel(torch.from_numpy(audio))[0]
    gated = pipe.vocode(mel, "hifigan")
    raw = pipe._hifigan(mel[None])
    assert np.allclose(gated, hold_pauses(raw, mel[None], 1.0)[0].numpy(), atol=1e-6)
    pause = slice(22050 + 1024, None)
    rms = lambda a: float(np.sqrt(np.mean(a[pause] ** 2)))                # noqa: E731
    assert rms(gated) < 0.6 * rms(raw[0].numpy())                         # quieter in the pause (0.42)
    saved = pipe.postfilter
    try:
        pipe.postfilter = dataclasses.replace(saved, pause_gate=0.0)
        assert np.allclose(pipe.vocode(mel, "hifigan"), raw[0].numpy(), atol=1e-6)
    finally:
        pipe.postfilter = saved
