"""The espeak-ng corpus builder (uses the espeak-ng library inside the espeakng-loader wheel)."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("espeakng_loader")
pytest.importorskip("phonemizer")

from resgen.speech.audio import log_mel
from resgen.speech.espeak import Espeak, Voice
from resgen.speech.corpus import ACCENTS, SIL, CorpusConfig, Phonemizer, build, durations_from_events, make_voices

SENTENCES = ["The quick brown fox jumps over the lazy dog.", "Revenge is a form of nostalgia.",
             "An apple every eight hours will keep three doctors away.", "People who break the law are wise guys.",
             "The rich get rich, and the poor get poorer.", "Lack of money is the root of all evil.",
             "When I was a boy I was told that anybody could become President.",
             "Nothing cures insomnia like the realization that it's time to get up.",
             "There remains the possibility that it may someday be valuable again.",
             "In a five year period we can get one superb programming language."]


def _mel(a):
    return log_mel(torch.from_numpy(a.astype(np.float32) / 32768))[0]


def test_espeak_repeats_itself_closely_and_voices_differ():
    """espeak-ng is not bit-exact from call to call (noise, internal state), but the phonemes are
    the same and the spectrogram nearly so; another voice is far away."""
    es = Espeak()
    a1, ev1 = es.synth(SENTENCES[0], Voice("en-us", "f2", 60, 160))
    a2, ev2 = es.synth(SENTENCES[0], Voice("en-us", "f2", 60, 160))
    b, evb = es.synth(SENTENCES[0], Voice("en-us", "m3", 30, 200))
    assert es.sample_rate == 22050 and a1.dtype == np.int16 and len(a1) > 22050
    assert [p for p, _ in ev1] == [p for p, _ in ev2] == [p for p, _ in evb]
    assert abs(len(a1) - len(a2)) < 0.01 * len(a1)
    n = min(len(a1), len(a2)) // 256
    same = (_mel(a1)[:, :n] - _mel(a2)[:, :n]).abs().mean()
    m = min(len(a1), len(b)) // 256
    other = (_mel(a1)[:, :m] - _mel(b)[:, :m]).abs().mean()
    assert same < 0.3 and other > 2 * same
    times = [t for p, t in ev1]
    assert times == sorted(times) and {"k", "f", "d"} <= {p for p, _ in ev1}


def test_durations_cover_every_frame():
    events = [("h", 0.05), ("ə", 0.10), ("l", 0.20), ("", 0.50)]
    seq, dur = durations_from_events(events, n_frames=50)
    assert seq == [SIL, "h", "ə", "l", SIL] and sum(dur) == 50 and min(dur) >= 0
    assert dur[3] == round(0.5 / (256 / 22050)) - round(0.2 / (256 / 22050))


def test_voices_are_distinct_and_heldout_is_disjoint():
    train, held = make_voices(CorpusConfig(train_voices=60, heldout_voices=10))
    keys = [(v.accent, v.variant) for v in train + held]
    assert len(train) == 60 and len(held) == 10 and len(set(keys)) == 70


def test_tiny_corpus(tmp_path):
    cfg = CorpusConfig(train_voices=2, heldout_voices=1, per_train_voice=3, per_heldout_voice=2, heldout_sentences=3)
    s = build(tmp_path, cfg, sentences=SENTENCES)
    assert s["utterances"]["train"] + s["dropped_phoneme_mismatch"] >= 5 and s["utterances"]["heldout"] >= 1
    f = np.load(tmp_path / "train.npz")
    po, ao = f["phoneme_offsets"], f["audio_offsets"]
    texts = json.loads(str(f["texts"]))
    assert len(texts) == len(po) - 1 == len(f["voice"]) and set(f["voice"].tolist()) <= {0, 1}
    for i in range(len(texts)):
        assert f["durations"][po[i]:po[i + 1]].sum() * 256 == ao[i + 1] - ao[i]
        assert f["phonemes"][po[i]] == s["symbols"][SIL] == f["phonemes"][po[i + 1] - 1]
    held = json.loads(str(np.load(tmp_path / "heldout.npz")["texts"]))
    assert not set(held) & set(texts)                    # held-out sentences stay out of training


def test_cli_rejects_bad_counts():
    r = subprocess.run([sys.executable, "-m", "resgen", "data", "speech", "--per-heldout-voice", "5",
                        "--heldout-sentences", "2"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "cannot exceed" in r.stderr


def test_every_accent_phonemises_as_espeak_speaks():
    ph, es = Phonemizer(), Espeak()
    for accent in ACCENTS:
        spoken = [p for p, _ in es.synth(SENTENCES[1], Voice(accent, "m1"))[1] if p]
        assert ph([SENTENCES[1]], accent)[0] == spoken, accent


def test_more_training_voices_leave_the_heldout_split_and_prompts_unchanged(tmp_path):
    """--more-voices appends training voices drawn after the held-out ones: the held-out voices,
    sentences and the base voices' sentences stay the same, and the new voices are new."""
    from resgen.speech.prompt_export import export_prompts
    base = CorpusConfig(train_voices=2, heldout_voices=1, per_train_voice=2, per_heldout_voice=2, heldout_sentences=3)
    more = CorpusConfig(**{**base.__dict__, "more_train_voices": 2, "per_more_voice": 1})
    a, b = build(tmp_path / "a", base, sentences=SENTENCES), build(tmp_path / "b", more, sentences=SENTENCES)
    assert a["voices"] == b["voices"][:3] and [v["split"] for v in b["voices"]] == ["train"] * 2 + ["heldout"] + ["train"] * 2
    assert len({v["name"] for v in b["voices"]}) == 5
    ha, hb = np.load(tmp_path / "a" / "heldout.npz"), np.load(tmp_path / "b" / "heldout.npz")
    assert str(ha["texts"]) == str(hb["texts"]) and (ha["voice"] == 2).all() and (hb["voice"] == 2).all()
    ta, tb = np.load(tmp_path / "a" / "train.npz"), np.load(tmp_path / "b" / "train.npz")
    n = len(ta["voice"])
    assert json.loads(str(tb["texts"]))[:n] == json.loads(str(ta["texts"])) and (tb["voice"][:n] == ta["voice"]).all()
    assert set(tb["voice"][n:].tolist()) <= {3, 4} and len(tb["voice"]) > n
    held_texts = set(json.loads(str(hb["texts"])))
    assert not held_texts & set(json.loads(str(tb["texts"])))
    prompts = export_prompts(tmp_path / "b", tmp_path / "p", n=1, seconds=0.5)
    listing = json.loads((tmp_path / "p" / "prompts.json").read_text())
    assert len(prompts) == 1 and listing[0]["voice"] == b["voices"][2]["name"] and listing[0]["text"] in held_texts


def test_cli_rejects_too_many_voices():
    r = subprocess.run([sys.executable, "-m", "resgen", "data", "speech", "--more-voices", "400"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "at most" in r.stderr


def test_validation_split_is_new_voices_and_unused_heldout_sentences(tmp_path):
    """--val-voices adds val.npz: voices drawn after all others, speaking held-out-pool sentences that no
    held-out utterance says; every other utterance and the symbol table stay as they were."""
    # seed 7: the validation voices' accent (en-us-nyc) is a training one, so their phonemes are in the table
    base = CorpusConfig(train_voices=2, heldout_voices=1, per_train_voice=4, per_heldout_voice=2, heldout_sentences=4,
                        seed=7)
    val = CorpusConfig(**{**base.__dict__, "val_voices": 2, "per_val_voice": 2})
    a, b = build(tmp_path / "a", base, sentences=SENTENCES), build(tmp_path / "b", val, sentences=SENTENCES)
    assert b["voices"][:3] == a["voices"] and [v["split"] for v in b["voices"][3:]] == ["val", "val"]
    assert b["symbols"] == a["symbols"] and not (tmp_path / "a" / "val.npz").exists()
    for split in ("train", "heldout"):
        fa, fb = np.load(tmp_path / "a" / f"{split}.npz"), np.load(tmp_path / "b" / f"{split}.npz")
        assert str(fa["texts"]) == str(fb["texts"]) and np.array_equal(fa["phonemes"], fb["phonemes"])
    v = np.load(tmp_path / "b" / "val.npz")
    val_texts = set(json.loads(str(v["texts"])))
    held = set(json.loads(str(np.load(tmp_path / "b" / "heldout.npz")["texts"])))
    train = set(json.loads(str(np.load(tmp_path / "b" / "train.npz")["texts"])))
    assert val_texts and not val_texts & held and not val_texts & train
    assert set(v["voice"].tolist()) <= {3, 4} and b["utterances"]["val"] == len(v["voice"])
    from resgen.eval.speech_data import CorpusSplit
    split = CorpusSplit(tmp_path / "b", "val")
    assert split.voice_name(0).startswith(b["voices"][split.voice[0]]["accent"]) and split.phonemes[0][0] == SIL


def test_test_split_is_new_voices_and_sentences_no_other_split_says(tmp_path):
    """--test-voices adds test.npz: voices drawn after the validation ones, speaking held-out-pool sentences that
    neither a held-out nor a validation utterance says; every other split, voice and the symbol table stay as they
    were; `resgen eval speech --split test` reads it."""
    sentences = SENTENCES + ["My dog has fleas and my cat has none.", "Time flies like an arrow.",
                             "A penny saved is a penny earned.", "Look before you leap, then leap anyway."]
    # seed 29: some validation and test utterances keep phonemes the training and held-out voices have
    base = CorpusConfig(train_voices=2, heldout_voices=1, per_train_voice=4, per_heldout_voice=2, heldout_sentences=8,
                        seed=29, val_voices=2, per_val_voice=2)
    test = CorpusConfig(**{**base.__dict__, "test_voices": 2, "per_test_voice": 2})
    a, b = build(tmp_path / "a", base, sentences=sentences), build(tmp_path / "b", test, sentences=sentences)
    assert b["voices"][:5] == a["voices"] and [v["split"] for v in b["voices"][5:]] == ["test", "test"]
    assert b["symbols"] == a["symbols"] and not (tmp_path / "a" / "test.npz").exists()
    said = {}
    for split in ("train", "heldout", "val", "test"):
        fb = np.load(tmp_path / "b" / f"{split}.npz")
        said[split] = set(json.loads(str(fb["texts"])))
        if split != "test":
            fa = np.load(tmp_path / "a" / f"{split}.npz")
            assert str(fa["texts"]) == str(fb["texts"]) and np.array_equal(fa["phonemes"], fb["phonemes"])
    assert said["test"] and said["val"] and not said["test"] & (said["train"] | said["heldout"] | said["val"])
    t = np.load(tmp_path / "b" / "test.npz")
    assert set(t["voice"].tolist()) <= {5, 6} and b["utterances"]["test"] == len(t["voice"])
    from resgen.eval.speech_data import CorpusSplit
    assert CorpusSplit(tmp_path / "b", "test").voice_name(0).startswith(b["voices"][int(t["voice"][0])]["accent"])
    from resgen.eval.speech import add_args
    import argparse
    p = argparse.ArgumentParser()
    add_args(p)
    assert p.parse_args(["--split", "test"]).split == "test"


def test_cli_rejects_a_test_split_the_sentence_pool_cannot_fill():
    r = subprocess.run([sys.executable, "-m", "resgen", "data", "speech", "--heldout-sentences", "30",
                        "--per-heldout-voice", "2", "--val-voices", "1", "--per-val-voice", "5", "--test-voices", "1",
                        "--per-test-voice", "6"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--per-test-voice exceeds the 5" in r.stderr
