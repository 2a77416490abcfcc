"""Pooling corpora for the TTS trainer (`--data A,B`) and fine-tuning from a model (`--init`)."""
import json

import numpy as np
import pytest
import torch
from tiny import resgen

from resgen.core.config import MelTokenizerConfig, RVQConfig
from resgen.speech.tokenizer import MelTokenizer
from resgen.train.speech_corpus import Corpus, merge_corpora, synthetic_corpus

ARGS = ["--width", "32", "--layers", "1", "--heads", "2", "--components", "4", "--rank", "2", "--max-prompt", "8",
        "--max-target", "16", "--threads", "1", "--batch-size", "4"]


def _tok():
    return MelTokenizer(MelTokenizerConfig(channels=16, rvq=RVQConfig(depth=3, codebook_size=8, dim=4))).eval()


def _renumbered(c: Corpus, keep: int) -> Corpus:
    """The same utterances under a smaller symbol table in another order (as a second corpus's table would be)."""
    names = sorted(c.symbols, key=c.symbols.get)
    used = sorted({int(i) for p in c.phonemes for i in p} | {int(i) for p in c.pos_phonemes for i in p.flatten()})
    order = [names[i] for i in used][::-1][:keep] if keep else [names[i] for i in used][::-1]
    table = {s: k for k, s in enumerate(order)}
    lut = torch.tensor([table.get(n, 0) for n in names])
    return Corpus(c.codes, [lut[p] for p in c.phonemes], c.durations, [lut[p] for p in c.pos_phonemes],
                  c.voice, table)


def test_pooled_corpora_keep_phonemes_by_name_and_voices_apart():
    a = synthetic_corpus(_tok(), n=6, voices=2, seed=1)
    b = _renumbered(synthetic_corpus(_tok(), n=9, voices=3, seed=2), keep=0)
    pooled = merge_corpora([a, b])
    assert len(pooled) == 15 and pooled.symbols == a.symbols
    names_a = {i: s for s, i in a.symbols.items()}
    names_b = {i: s for s, i in b.symbols.items()}
    for k in range(9):                                  # b's utterances read the same phonemes in a's table
        assert [names_a[int(i)] for i in pooled.phonemes[6 + k]] == [names_b[int(i)] for i in b.phonemes[k]]
        assert torch.equal(pooled.codes[6 + k], b.codes[k]) and torch.equal(pooled.durations[6 + k], b.durations[k])
    assert set(pooled.voice[:6].tolist()) == {0, 1} and set(pooled.voice[6:].tolist()) == {2, 3, 4}
    assert sorted(pooled.by_voice) == [0, 1, 2, 3, 4]


def test_a_symbol_the_first_corpus_lacks_is_refused():
    a = synthetic_corpus(_tok(), n=6, voices=2, seed=1)
    b = synthetic_corpus(_tok(), n=6, voices=2, seed=2)
    small = Corpus(a.codes, a.phonemes, a.durations, a.pos_phonemes, a.voice,
                   {s: i for s, i in a.symbols.items() if s != "ð"})
    with pytest.raises(ValueError, match="not in the first corpus"):
        merge_corpora([small, b])


def test_init_starts_from_the_given_weights_and_refuses_another_shape(tmp_path):
    first = tmp_path / "first"
    r = resgen("train", "speech", "--synthetic", "--out", str(first), "--steps", "3", *ARGS)
    assert r.returncode == 0, r.stderr
    from safetensors.torch import load_file
    start = load_file(str(first / "model.safetensors"))
    tuned = tmp_path / "tuned"                            # lr ~0: the weights after a step are the initial ones
    r = resgen("train", "speech", "--synthetic", "--out", str(tuned), "--steps", "1", "--lr", "1e-12",
               "--init", str(first), *ARGS)
    assert r.returncode == 0, r.stderr
    after = load_file(str(tuned / "model.safetensors"))
    assert all(torch.allclose(after[k].float(), start[k].float(), atol=1e-6) for k in start)
    cold = tmp_path / "cold"                              # the same without --init: other weights
    assert resgen("train", "speech", "--synthetic", "--out", str(cold), "--steps", "1", "--lr", "1e-12",
                  "--seed", "5", *ARGS).returncode == 0
    assert not all(torch.allclose(load_file(str(cold / "model.safetensors"))[k].float(), start[k].float())
                   for k in start)
    wide = [a if a != "32" else "48" for a in ARGS]
    r = resgen("train", "speech", "--synthetic", "--out", str(tmp_path / "w"), "--steps", "1", "--init", str(first),
               *wide)
    assert r.returncode == 2 and "cannot start from" in r.stderr and r.stderr.count("\n") == 1


def test_an_unaligned_corpus_is_refused_in_one_line(tmp_path):
    tok = tmp_path / "tok"
    assert resgen("train", "speech", "--synthetic", "--out", str(tok), "--steps", "1", *ARGS).returncode == 0
    (tok / "tokenizer.json").write_text(json.dumps({"tokenizer": json.loads((tok / "config.json").read_text())
                                                    ["tokenizer"]}))
    data = tmp_path / "engines"
    data.mkdir()
    (data / "corpus.json").write_text(json.dumps({"durations": "none", "symbols": {}}))
    np.savez(data / "train.npz", audio=np.zeros(0, np.int16))
    r = resgen("train", "speech", "--tokenizer", str(tok), "--data", str(data), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "no phoneme durations" in r.stderr and r.stderr.count("\n") == 1


@pytest.mark.parametrize("grow", ["deeper", "voice", "deeper with a voice"])
def test_init_grows_a_model_that_starts_as_the_smaller_one(tmp_path, grow):
    """--layers 1 -> 3, or --voice-vector added, or a voice-vector model made deeper: the grown model computes
    what the smaller one did."""
    from resgen.core.config import SpeechModelConfig, from_dict
    from resgen.core.weights import load_module, read_json
    from resgen.speech.model import SpeechModel
    small = tmp_path / "small"
    base = [*ARGS, "--voice-vector"] if grow == "deeper with a voice" else ARGS
    assert resgen("train", "speech", "--synthetic", "--out", str(small), "--steps", "3", *base).returncode == 0
    deep = base[:2] + ["--layers", "3"] + base[4:] if grow.startswith("deeper") else [*ARGS, "--voice-vector"]
    grown = tmp_path / "grown"
    r = resgen("train", "speech", "--synthetic", "--out", str(grown), "--steps", "1", "--lr", "1e-12",
               "--init", str(small), *deep)
    assert r.returncode == 0, r.stderr
    models = [load_module(SpeechModel(from_dict(SpeechModelConfig, read_json(d / "config.json")["model"])),
                          d / "model.safetensors").eval() for d in (small, grown)]
    if grow.startswith("deeper"):
        assert [len(m.denoiser.blocks) for m in models] == [1, 3]
    assert [m.denoiser.voice is None for m in models] == [grow != "deeper with a voice", grow == "deeper"]
    g = torch.Generator().manual_seed(0)
    dn = models[0].cfg.denoiser
    tokens = torch.randint(0, dn.codebook_size + 1, (2, 12, dn.depth), generator=g)
    cond = torch.randint(1, dn.cond_vocab, (2, 12, dn.cond_frames) if dn.cond_frames > 1 else (2, 12), generator=g)
    cond[:, :4] = models[0].cfg.prompt_id                         # a prompt, which the voice vector pools
    keep = torch.ones(2, 12, dtype=torch.bool)
    with torch.no_grad():
        a, b = (m.denoise(tokens, cond, keep) for m in models)
    assert all(torch.allclose(x, y, atol=1e-5) for x, y in zip(a, b) if torch.is_tensor(x))
    r = resgen("train", "speech", "--synthetic", "--out", str(tmp_path / "shrunk"), "--steps", "1",
               "--init", str(grown), *ARGS)                     # fewer layers than the model it starts from
    assert r.returncode == 2 and "cannot start from" in r.stderr and r.stderr.count("\n") == 1


def test_train_only_moves_the_matching_parameters_and_freezes_the_rest(tmp_path):
    from resgen.core.weights import read_state
    small = tmp_path / "small"
    assert resgen("train", "speech", "--synthetic", "--out", str(small), "--steps", "3", *ARGS).returncode == 0
    out = tmp_path / "adapted"
    r = resgen("train", "speech", "--synthetic", "--out", str(out), "--steps", "3", "--lr", "1e-2", "--ema", "0",
               "--init", str(small), "--voice-vector", "--train-only", "denoiser.voice.*,*.ada.*", *ARGS)
    assert r.returncode == 0, r.stderr
    before, after = read_state(small / "model.safetensors"), read_state(out / "model.safetensors")
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    assert moved and all(".ada." in k for k in moved)
    assert any(k.startswith("denoiser.voice.") for k in after)
    r = resgen("train", "speech", "--synthetic", "--out", str(tmp_path / "none"), "--steps", "1",
               "--train-only", "no.such.*", *ARGS)
    assert r.returncode == 2 and "no parameter matches" in r.stderr and r.stderr.count("\n") == 1
