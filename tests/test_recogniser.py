"""The CTC phoneme recogniser (resgen/eval/recogniser.py) and its trainer: PER, decoding, invariances, training."""
import json

import pytest
import torch

from resgen.eval.recogniser import (PhonemeRecogniser, Recogniser, RecogniserConfig, base_phoneme, edit_distance,
                                    greedy_decode, load_recogniser, per, phoneme_ids, phoneme_inventory)

SYMBOLS = ("a", "b", "k", "aɪ", "ə")


def test_edit_distance_and_per():
    assert edit_distance(list("kitten"), list("sitting")) == 3
    assert edit_distance([], ["a"]) == 1 and edit_distance(["a"], []) == 1 and edit_distance([], []) == 0
    refs, hyps = [["a", "b"], ["k", "ə", "a"]], [["a", "b"], ["ə", "a", "a"]]
    assert per(refs, hyps) == pytest.approx(2 / 5)
    assert per([["a"]], [["a", "b", "k"]]) == 2.0          # insertions count: PER can exceed 1


def test_inventory_drops_stress_and_specials():
    assert base_phoneme("ˈaɪ") == "aɪ" and base_phoneme("ˌə") == "ə"
    assert phoneme_inventory({"<pad>": 0, "<sil>": 1, "ˈaɪ": 2, "aɪ": 3, "b": 4}) == ("aɪ", "b")
    assert phoneme_ids(["<sil>", "ˈaɪ", "b", "<sil>"], ("aɪ", "b")) == [1, 2]
    with pytest.raises(ValueError, match="not in the recogniser's inventory"):
        phoneme_ids(["x"], ("aɪ", "b"))


def test_greedy_decode_collapses_repeats_and_drops_blanks():
    ids = torch.tensor([[1, 1, 0, 1, 2, 2, 0, 0, 3, 3]])
    lp = torch.nn.functional.one_hot(ids, 5).float().log_softmax(-1)
    assert greedy_decode(lp, torch.tensor([10])) == [[1, 1, 2, 3]]
    assert greedy_decode(lp, torch.tensor([5])) == [[1, 1, 2]]


def test_output_ignores_gain_and_padding():
    torch.manual_seed(0)
    net = PhonemeRecogniser(RecogniserConfig(symbols=SYMBOLS, width=16, blocks=3, kernel=5)).eval()
    mel = torch.randn(1, 80, 50) - 5
    with torch.no_grad():
        a, n = net(mel, torch.tensor([50]))
        b, _ = net(mel + 3.0, torch.tensor([50]))                 # a louder recording: log-mel shifted
        padded = torch.cat([mel, torch.randn(1, 80, 30)], -1)    # the same utterance padded in a longer batch
        c, m = net(torch.cat([padded, torch.randn(1, 80, 80)]), torch.tensor([50, 80]))
    assert n.item() == 25 and m.tolist() == [25, 40]
    assert torch.allclose(a, b, atol=1e-4)
    assert torch.allclose(a[0], c[0, :25], atol=1e-4)


def test_transcribe_batches_keep_the_order():
    torch.manual_seed(0)
    rec = Recogniser(PhonemeRecogniser(RecogniserConfig(symbols=SYMBOLS, width=16, blocks=2, kernel=3)))
    mels = [torch.randn(80, n) for n in (30, 90, 10, 60)]
    together = rec.transcribe_mels(mels)
    assert together == [rec.transcribe_mels([m])[0] for m in mels]
    assert all(set(t) <= set(SYMBOLS) for t in together)


def test_train_writes_a_loadable_recogniser_and_resumes(tmp_path):
    """resgen train recogniser on a tiny espeak corpus: weights + config with hash, held-out check, resume."""
    from tiny import resgen as run_resgen

    from resgen.speech.corpus import CorpusConfig, build
    data = tmp_path / "data"
    sentences = ["The cat sat on the mat today.", "A bird in the hand is worth two.", "Time flies like an arrow.",
                 "Never put off until tomorrow.", "All that glitters is not gold.", "Fortune favours the bold."]
    build(data, CorpusConfig(train_voices=2, heldout_voices=1, per_train_voice=2, per_heldout_voice=2,
                             heldout_sentences=2), sentences=sentences)
    out = tmp_path / "rec"
    args = ("train", "recogniser", "--data", str(data), "--out", str(out), "--steps", "4", "--batch-size", "2",
            "--width", "16", "--blocks", "2", "--kernel", "3", "--threads", "1")
    r = run_resgen(*args, "--stop-at", "2")
    assert r.returncode == 0, r.stderr
    assert not (out / "recogniser.json").exists()               # stopped early: no final weights yet
    r = run_resgen(*args)
    assert r.returncode == 0, r.stderr
    assert "resumed" in r.stdout + r.stderr
    meta = json.loads((out / "recogniser.json").read_text())
    assert meta["recipe"]["training_voices"] == 2 and meta["heldout"]["utterances"] == 2
    rec = load_recogniser(out)
    assert rec.symbols == tuple(meta["recogniser"]["symbols"]) and "<sil>" not in rec.symbols
    (out / "recogniser.safetensors").write_bytes(b"broken")
    from resgen.core.weights import ModelFileError
    with pytest.raises(ModelFileError, match="does not match the hash"):
        load_recogniser(out)


@pytest.mark.skipif(__import__("shutil").which("flite") is None, reason="flite is not installed (make test installs it)")
def test_train_pools_two_corpora(tmp_path):
    """--data A,B: the espeak corpus and an engine corpus train one recogniser on the union of their phonemes."""
    from tiny import resgen as run_resgen

    from resgen.speech import engine_corpus as ec
    from resgen.speech.corpus import CorpusConfig, build
    from resgen.speech.engines.flite import FliteEngine
    sentences = ["The cat sat on the mat today.", "A bird in the hand is worth two.", "Time flies like an arrow.",
                 "Never put off until tomorrow.", "All that glitters is not gold.", "Fortune favours the bold."]
    build(tmp_path / "a", CorpusConfig(train_voices=2, heldout_voices=1, per_train_voice=2, per_heldout_voice=2,
                                       heldout_sentences=2), sentences=sentences)
    ec.build(tmp_path / "b", ec.EngineCorpusConfig(engines=("flite",), per_voice=2, per_heldout_voice=1,
                                                   per_val_voice=1, blends=0, heldout_sentences=2,
                                                   transforms=0, heldout_transforms=0),
             sentences=sentences, available={"flite": FliteEngine().voices()})
    out = tmp_path / "rec"
    r = run_resgen("train", "recogniser", "--data", f"{tmp_path / 'a'},{tmp_path / 'b'}", "--out", str(out),
                   "--steps", "2", "--batch-size", "2", "--width", "16", "--blocks", "2", "--kernel", "3",
                   "--threads", "1")
    assert r.returncode == 0, r.stderr
    meta = json.loads((out / "recogniser.json").read_text())
    assert meta["recipe"]["training_utterances"] == 4 + 4 and meta["recipe"]["training_voices"] == 2 + 2
    assert set(meta["heldout"]) == {str(tmp_path / "a"), str(tmp_path / "b")}
    both = json.loads((tmp_path / "a" / "corpus.json").read_text())["symbols"]
    both = set(both) | set(json.loads((tmp_path / "b" / "corpus.json").read_text())["symbols"])
    assert set(load_recogniser(out).symbols) == {s.strip("ˈˌ") for s in both if not s.startswith("<")}


def test_train_refuses_a_missing_corpus(tmp_path):
    from tiny import resgen as run_resgen
    r = run_resgen("train", "recogniser", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no corpus" in r.stderr


def test_channel_augment_band_limits_and_tilts_only_its_share():
    import math
    from resgen.train.recogniser import channel_augment
    mel = torch.randn(64, 80, 30)
    assert torch.equal(channel_augment(mel, 0.0, torch.Generator().manual_seed(0)), mel)
    out = channel_augment(mel, 1.0, torch.Generator().manual_seed(0))
    floor = math.log(1e-5)
    for b in range(64):
        silent = (out[b] == floor).all(-1)                       # the bands above the cutoff, and only those
        cut = int(silent.float().argmax()) if silent.any() else 80
        assert 56 <= cut <= 80 and silent[cut:].all() and not silent[:cut].any()
        tilt = (out[b, :cut] - mel[b, :cut]).mean(-1)            # a straight line from 0 at the lowest band
        assert abs(float(tilt[0])) < 1e-6 and float(tilt.abs().max()) <= 1 + 1e-6
        assert torch.allclose(tilt[1:cut] - tilt[:cut - 1], tilt[1:2].expand(cut - 1) - tilt[:1], atol=1e-5)
    half = channel_augment(mel, 0.5, torch.Generator().manual_seed(0))
    changed = sum(not torch.equal(half[b], mel[b]) for b in range(64))
    assert 16 <= changed <= 48
