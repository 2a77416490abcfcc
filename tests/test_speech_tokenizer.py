import json

import torch
from tiny import resgen

from resgen.core.config import MelTokenizerConfig, RVQConfig, from_dict
from resgen.speech.tokenizer import LOG_FLOOR, MelTokenizer
from resgen.core.weights import load_module

TINY = MelTokenizerConfig(channels=16, downsample=4, rvq=RVQConfig(depth=3, codebook_size=8, dim=4))


def test_shapes_padding_and_partial_depth():
    m = MelTokenizer(TINY).eval()
    mel = torch.randn(2, 80, 37) - 5
    padded = m.pad_frames(mel)
    assert padded.shape[-1] == 40 and (padded[..., 37:] == LOG_FLOOR).all()
    codes = m.encode(mel)
    assert codes.shape == (2, 10, 3) and codes.dtype == torch.long
    assert m.decode(codes).shape == (2, 80, 40)
    full = m.decode(codes)
    assert torch.allclose(full, m.decode_latent(m.rvq.decode(codes)))
    assert not torch.allclose(m.decode(codes, 1), full)


def test_stats_are_part_of_the_weights(tmp_path):
    m = MelTokenizer(TINY)
    m.set_stats(torch.full((80,), -4.0), torch.full((80,), 2.0))
    from resgen.core.weights import save_module
    save_module(m, tmp_path / "t.safetensors")
    back = load_module(MelTokenizer(TINY), tmp_path / "t.safetensors")
    assert torch.equal(back.mel_mean, m.mel_mean) and torch.equal(back.mel_std, m.mel_std)


def test_cli_trains_and_resumes(tmp_path):
    args = ["train", "speech-tokenizer", "--synthetic", "--out", str(tmp_path), "--batch-size", "4", "--crop", "32",
            "--channels", "16", "--depth", "3", "--codebook-size", "8", "--code-dim", "4", "--threads", "1"]
    r = resgen(*args, "--steps", "6", "--stop-at", "3")
    assert r.returncode == 0, r.stderr
    r = resgen(*args, "--steps", "6")
    assert r.returncode == 0, r.stderr
    assert "resumed from" in r.stdout + r.stderr
    meta = json.loads((tmp_path / "tokenizer.json").read_text())
    assert meta["step"] == 6
    m = load_module(MelTokenizer(from_dict(MelTokenizerConfig, meta["tokenizer"])), tmp_path / "tokenizer.safetensors")
    assert m.mel_mean.abs().sum() > 0


def test_decoder_only_fine_tuning_keeps_the_codes(tmp_path):
    """--init X --decoder-only trains the decoder alone: encoder, codebooks and mel statistics are
    X's, so every mel keeps its codes (a speech model trained on them stays valid)."""
    base = ["--synthetic", "--batch-size", "4", "--crop", "32", "--threads", "1"]
    r = resgen("train", "speech-tokenizer", *base, "--out", str(tmp_path / "a"), "--channels", "16", "--depth", "3",
               "--codebook-size", "8", "--code-dim", "4", "--steps", "4")
    assert r.returncode == 0, r.stderr
    r = resgen("train", "speech-tokenizer", *base, "--out", str(tmp_path / "b"), "--init", str(tmp_path / "a"),
               "--decoder-only", "--steps", "4", "--lr", "1e-2")
    assert r.returncode == 0, r.stderr
    a, b = (load_module(MelTokenizer(TINY), tmp_path / x / "tokenizer.safetensors") for x in "ab")
    sa, sb = a.state_dict(), b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa if not k.startswith("decoder."))
    assert any(not torch.equal(sa[k], sb[k]) for k in sa if k.startswith("decoder."))
    mel = torch.randn(2, 80, 40) - 5
    assert torch.equal(a.encode(mel), b.encode(mel))
    r = resgen("train", "speech-tokenizer", *base, "--out", str(tmp_path / "c"), "--decoder-only")
    assert r.returncode == 2 and "--init" in r.stderr and r.stderr.count("\n") == 1


def test_a_new_decoder_shape_on_the_same_codes(tmp_path):
    """--init X --decoder-only --decoder-channels C --decoder-blocks B trains a fresh decoder of another shape on X's
    codes: X's encoder, codebooks and statistics, and the shape in tokenizer.json."""
    base = ["--synthetic", "--batch-size", "4", "--crop", "32", "--threads", "1"]
    r = resgen("train", "speech-tokenizer", *base, "--out", str(tmp_path / "a"), "--channels", "16", "--depth", "3",
               "--codebook-size", "8", "--code-dim", "4", "--steps", "3")
    assert r.returncode == 0, r.stderr
    r = resgen("train", "speech-tokenizer", *base, "--out", str(tmp_path / "b"), "--init", str(tmp_path / "a"),
               "--decoder-only", "--decoder-channels", "24", "--decoder-blocks", "1", "--steps", "3")
    assert r.returncode == 0, r.stderr
    cfg = from_dict(MelTokenizerConfig, json.loads((tmp_path / "b" / "tokenizer.json").read_text())["tokenizer"])
    assert (cfg.channels, cfg.decoder_channels, cfg.decoder_blocks) == (16, 24, 1)
    a = load_module(MelTokenizer(TINY), tmp_path / "a" / "tokenizer.safetensors")
    b = load_module(MelTokenizer(cfg), tmp_path / "b" / "tokenizer.safetensors")
    sa, sb = a.state_dict(), b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa if not k.startswith("decoder."))
    assert sb["decoder.0.weight"].shape[0] == 24
    mel = torch.randn(2, 80, 40) - 5
    codes = a.encode(mel)
    assert torch.equal(codes, b.encode(mel)) and b.decode(codes).shape == (2, 80, 40)
    r = resgen("train", "speech-tokenizer", *base, "--out", str(tmp_path / "c"), "--init", str(tmp_path / "a"),
               "--decoder-channels", "24")
    assert r.returncode == 2 and "--decoder-only" in r.stderr and r.stderr.count("\n") == 1


def test_missing_corpus_is_one_line(tmp_path):
    r = resgen("train", "speech-tokenizer", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "no corpus" in r.stderr and r.stderr.count("\n") == 1


def test_shipped_speech_tokenizer_reconstructs_unseen_speech():
    import numpy as np

    import resgen
    from resgen.speech.audio import log_mel
    from resgen.speech.espeak import Espeak, Voice
    from resgen.core.weights import file_sha256
    folder = resgen.assets_dir() / "speech"
    meta = json.loads((folder / "tokenizer.json").read_text())
    assert file_sha256(folder / "tokenizer.safetensors") == meta["sha256"]
    tok = load_module(MelTokenizer(from_dict(MelTokenizerConfig, meta["tokenizer"])), folder / "tokenizer.safetensors")
    audio, _ = Espeak().synth("Nothing is as simple as it seems at first.", Voice("en-us", "f3", 55, 165))
    mel = log_mel(torch.from_numpy(audio.astype(np.float32) / 32768))
    codes = tok.encode(mel)
    F = mel.shape[-1]
    err = [(tok.decode(codes, d)[..., :F] - mel).abs().mean().item() for d in (1, 4, 8)]
    assert err[0] > err[1] > err[2] and err[2] < 0.7


def test_mel_cache_of_another_corpus_is_not_reused(tmp_path):
    """The log-mel cache is keyed by the corpus's audio offsets: a cache from another corpus is
    recomputed (a stale cache once fed a new corpus's training the old corpus's mels)."""
    import numpy as np

    from resgen.train.speech_tokenizer import corpus_mels
    g = np.random.default_rng(0)
    for name, lens in (("a", [4096, 8192]), ("b", [6144, 2048, 5120])):
        (tmp_path / name).mkdir()
        audio = (g.standard_normal(sum(lens)) * 3000).astype(np.int16)
        np.savez(tmp_path / name / "train.npz", audio=audio, audio_offsets=np.cumsum([0] + lens))
    cache = tmp_path / "mels_train.npz"
    mels_a, off_a = corpus_mels(tmp_path / "a", "train", cache)
    again, _ = corpus_mels(tmp_path / "a", "train", cache)
    mels_b, off_b = corpus_mels(tmp_path / "b", "train", cache)
    fresh_b, _ = corpus_mels(tmp_path / "b", "train")
    assert len(off_a) == 3 and np.array_equal(again, mels_a)
    assert len(off_b) == 4 and mels_b.shape == fresh_b.shape and np.array_equal(mels_b, fresh_b)


def test_pooled_corpora_keep_each_utterance_whole(tmp_path):
    """--data a,b: the corpora's mels one after another, every utterance where its offsets say."""
    import numpy as np

    from resgen.train.speech_tokenizer import corpus_mels, pooled_mels
    g = np.random.default_rng(1)
    for name, lens in (("a", [4096, 8192]), ("b", [6144, 2048, 5120])):
        (tmp_path / name).mkdir()
        audio = (g.standard_normal(sum(lens)) * 3000).astype(np.int16)
        np.savez(tmp_path / name / "train.npz", audio=audio, audio_offsets=np.cumsum([0] + lens))
    mels, off = pooled_mels([tmp_path / "a", tmp_path / "b"], tmp_path)
    (ma, oa), (mb, ob) = corpus_mels(tmp_path / "a", "train"), corpus_mels(tmp_path / "b", "train")
    assert len(off) == 6 and off[-1] == mels.shape[1] == ma.shape[1] + mb.shape[1]
    assert np.array_equal(np.diff(off), np.concatenate([np.diff(oa), np.diff(ob)]))
    assert np.array_equal(mels[:, off[3]:off[4]], mb[:, ob[1]:ob[2]])
    assert (tmp_path / "mels_train.npz").exists() and (tmp_path / "mels_train_1.npz").exists()


def test_a_context_is_decoded_in_front_and_cut_off():
    """forward(..., context=C): C's codes decoded in front of the mel's, the reconstruction the mel's frames only; the
    same as decoding the two code sequences as one and cropping (how SpeechPipeline.decode decodes behind a prompt)."""
    m = MelTokenizer(TINY).eval()
    mel, ctx = torch.randn(2, 80, 16) - 5, torch.randn(2, 80, 12) - 5
    rec, codes, _ = m(mel, None, True, None, ctx)
    both = m.decode(torch.cat([m.encode(ctx), m.encode(mel)], 1))
    assert rec.shape == mel.shape and torch.allclose(rec, both[..., 12:], atol=1e-5)
    assert not torch.allclose(rec, m(mel, None, True)[0], atol=1e-4)           # the context changes the target's mel
    import pytest
    with pytest.raises(ValueError, match="decoder_only"):
        m(mel, None, False, None, ctx)


def test_same_voice_rows_and_pooled_voices(tmp_path):
    import numpy as np

    from resgen.train.speech_tokenizer import pooled_voices, same_voice_rows
    voices = np.array([2, 0, 2, 1, 0, 2])
    order, first, count = same_voice_rows(voices)
    for u, v in enumerate(voices):
        rows = order[first[u]: first[u] + count[u]].numpy()
        assert sorted(rows) == [k for k in range(len(voices)) if voices[k] == v]
    for name, v in (("a", [0, 0, 1]), ("b", [0, 1, 1])):
        (tmp_path / name).mkdir()
        np.savez(tmp_path / name / "train.npz", voice=np.array(v, np.int16))
    assert pooled_voices([tmp_path / "a", tmp_path / "b"]).tolist() == [0, 0, 1, 2, 3, 3]


def test_decoder_fine_tuning_with_a_context(tmp_path):
    """--context C: the decoder trains behind C frames of the same voice; the codes stay; a bad C is one line."""
    base = ["--synthetic", "--batch-size", "4", "--crop", "32", "--threads", "1"]
    r = resgen("train", "speech-tokenizer", *base, "--out", str(tmp_path / "a"), "--channels", "16", "--depth", "3",
               "--codebook-size", "8", "--code-dim", "4", "--steps", "3")
    assert r.returncode == 0, r.stderr
    ctx = [*base, "--init", str(tmp_path / "a"), "--decoder-only", "--steps", "3", "--lr", "1e-2"]
    r = resgen("train", "speech-tokenizer", *ctx, "--out", str(tmp_path / "b"), "--context", "64")
    assert r.returncode == 0, r.stderr
    a, b = (load_module(MelTokenizer(TINY), tmp_path / x / "tokenizer.safetensors") for x in "ab")
    assert any(not torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict() if k.startswith("decoder."))
    mel = torch.randn(2, 80, 40) - 5
    assert torch.equal(a.encode(mel), b.encode(mel))
    r = resgen("train", "speech-tokenizer", *ctx, "--out", str(tmp_path / "c"), "--context", "63")
    assert r.returncode == 2 and "--context" in r.stderr and r.stderr.count("\n") == 1
