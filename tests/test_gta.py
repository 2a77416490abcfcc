"""The speech model's own codes for training recordings (`resgen data speech-gta`) and the decoder fine-tuned on
them (`resgen train speech-tokenizer --gta`): codes on the recording's alignment, the decoder decoding them in place
of the recording's own, and clear errors for folders that do not fit."""
import json

import numpy as np
import torch
from tiny import resgen

from resgen.core.config import MelTokenizerConfig, RVQConfig
from resgen.speech.corpus import save_split
from resgen.speech.gta_codes import codebook_hash, load
from resgen.train.gta import _save, pick_prompt, pick_utterances
from resgen.speech.tokenizer import MelTokenizer, load_tokenizer
from resgen.train.speech_corpus import SYNTHETIC_PHONES

SR, HOP = 22050, 256


def _corpus(folder, n=6, voices=2, seed=0):
    """A corpus folder in `resgen data speech`'s layout: noisy tones with phonemes the tiny model knows, and a
    voice of one utterance (nothing to prompt it with)."""
    g = np.random.default_rng(seed)
    symbols = {"<pad>": 0, "<sil>": 1, **{p: i + 2 for i, p in enumerate(SYNTHETIC_PHONES)}}
    utts = []
    for i in range(n + 1):
        frames = [int(x) for x in g.integers(10, 30, 5)]
        S = sum(frames) * HOP
        t = np.arange(S) / SR
        a = 0.1 * np.sin(2 * np.pi * (150 + 40 * i) * t) + 0.01 * g.standard_normal(S)
        utts.append((i % voices if i < n else voices, f"utterance {i}", ["<sil>", "ð", "ə", "k", "<sil>"], frames,
                     (a * 32767).astype(np.int16)))
    folder.mkdir(parents=True)
    save_split(folder / "train.npz", utts, symbols)
    (folder / "corpus.json").write_text(json.dumps({"symbols": symbols, "sample_rate": SR,
                                                    "voices": [{"accent": "en-us"}] * (voices + 1)}))
    return utts


def test_picks_are_deterministic_and_prompts_come_from_the_same_voice():
    assert pick_utterances(10, 4, 3) == pick_utterances(10, 4, 3) != pick_utterances(10, 4, 4)
    assert sorted(pick_utterances(5, 9, 0)) == list(range(5))

    class Split:
        voice = np.array([0, 1, 0, 0, 2])
        audio = [np.zeros(40000), np.zeros(40000), np.zeros(10000), np.zeros(40000), np.zeros(40000)]
        sample_rate = SR
    assert {pick_prompt(Split, 0, s) for s in range(20)} == {3}          # same voice, long enough, not itself
    assert pick_prompt(Split, 4, 0) is None


def test_given_codes_replace_the_mels_own_only_where_asked():
    tok = MelTokenizer(MelTokenizerConfig(channels=16, rvq=RVQConfig(depth=3, codebook_size=8, dim=4))).eval()
    mel = torch.randn(2, 80, 32) - 5
    own = tok.encode(mel)
    other = (own + 1) % 8
    use = torch.zeros(2, 8, dtype=torch.bool)
    use[0, 2:5] = True
    rec, codes, _ = tok(mel, None, True, (other, use))
    assert torch.equal(codes[0, 2:5], other[0, 2:5]) and torch.equal(codes[~use], own[~use])
    assert torch.allclose(rec, tok.decode(codes), atol=1e-5)
    assert torch.allclose(tok(mel, None, True)[0], tok.decode(own), atol=1e-5)


def test_model_codes_follow_the_alignment_and_the_decoder_trains_on_them(tiny_speech_dir, tmp_path):
    utts = _corpus(tmp_path / "corpus")
    out = tmp_path / "gta"
    r = resgen("data", "speech-gta", "--model", str(tiny_speech_dir), "--data", str(tmp_path / "corpus"),
               "--out", str(out), "--per-corpus", "20", "--save-every", "2", "--threads", "1")
    assert r.returncode == 0, r.stderr
    meta, codes, rows = load(out)
    assert meta["done"] == len(rows) == len(utts) and sorted(rows)[0] == -1        # the lone voice: skipped
    tok = load_tokenizer(tiny_speech_dir)
    assert meta["codebooks_sha256"] == codebook_hash(tok)
    for c, u in zip(codes, rows):
        if u >= 0:                                         # one position per 4 frames of the recording's alignment
            assert c.shape == (-(-sum(utts[u][3]) // 4), 3) and 0 <= c.min() and c.max() < 8
    # an interrupted build (3 rows saved, the first marked): the same command keeps them and makes the rest alike
    marked = [(c + 1) % 8 for c in codes[:3]]
    assert sum(len(c) for c in marked)                     # something to tell kept rows from remade ones
    _save(out, {k: v for k, v in meta.items() if k != "done"}, marked, rows[:3])
    again = resgen("data", "speech-gta", "--model", str(tiny_speech_dir), "--data", str(tmp_path / "corpus"),
                   "--out", str(out), "--per-corpus", "20", "--threads", "1")
    assert again.returncode == 0, again.stderr
    assert np.array_equal(np.load(out / "gta.npz")["codes"], np.concatenate(marked + codes[3:]))

    base = ["train", "speech-tokenizer", "--data", str(tmp_path / "corpus"), "--batch-size", "4", "--crop", "32",
            "--threads", "1", "--steps", "3", "--decoder-only"]
    r = resgen(*base, "--init", str(tiny_speech_dir), "--gta", str(out), "--gta-share", "1", "--out",
               str(tmp_path / "dec"))
    assert r.returncode == 0, r.stderr
    new = load_tokenizer(tmp_path / "dec")
    mel = torch.randn(1, 80, 40) - 5
    assert torch.equal(new.encode(mel), tok.encode(mel))                          # the codes keep their meaning
    assert not torch.equal(new.decode(tok.encode(mel)), tok.decode(tok.encode(mel)))

    other = tmp_path / "other"                            # another tokenizer's codebooks: one line, exit 2
    r = resgen("train", "speech-tokenizer", "--synthetic", "--out", str(other), "--batch-size", "4", "--crop", "32",
               "--channels", "16", "--depth", "3", "--codebook-size", "8", "--code-dim", "4", "--steps", "2",
               "--threads", "1")
    assert r.returncode == 0, r.stderr
    for bad, words in ((["--init", str(other), "--gta", str(out)], "codebooks"),
                       (["--init", str(tiny_speech_dir), "--gta", str(tmp_path / "none")], "no model codes"),
                       (["--init", str(tiny_speech_dir), "--gta", str(out), "--gta-share", "0"], "--gta-share")):
        r = resgen(*base, *bad, "--out", str(tmp_path / "bad"))
        assert r.returncode == 2 and words in r.stderr and r.stderr.count("\n") == 1, r.stderr
