"""The mel critic of `resgen train speech-tokenizer --adversarial`: each loss moves only its own side, and the
tokenizer file it leaves is a plain tokenizer."""
import json

import torch
from tiny import resgen

from resgen.core.config import MelTokenizerConfig, RVQConfig, from_dict
from resgen.core.weights import load_module
from resgen.speech.tokenizer import MelTokenizer
from resgen.train.mel_critic import CriticisedTokenizer, MelCritic, critic_terms


def test_each_loss_moves_only_its_own_side():
    torch.manual_seed(0)
    critic = MelCritic(ch=8)
    real = torch.randn(2, 80, 32)
    fake = torch.randn(2, 80, 32, requires_grad=True)
    t = critic_terms(critic, real, fake)
    assert set(t) == {"critic", "adv", "fm"} and all(v.dim() == 0 for v in t.values())
    g_fake, = torch.autograd.grad(t["critic"], fake, allow_unused=True)
    assert g_fake is None                                         # the critic's loss sees the fake detached
    grads = torch.autograd.grad(t["adv"] + t["fm"], [fake, *critic.parameters()], allow_unused=True)
    assert grads[0].abs().sum() > 0                               # the decoder's terms reach the fake
    assert all(g is None for g in grads[1:])                      # and leave the critic alone
    grads = torch.autograd.grad(t["critic"], list(critic.parameters()))
    assert all(g.abs().sum() > 0 for g in grads)


def test_wrapper_returns_the_terms_and_the_cli_saves_the_tokenizer_alone(tmp_path):
    cfg = MelTokenizerConfig(channels=16, rvq=RVQConfig(depth=3, codebook_size=8, dim=4))
    wrapped = CriticisedTokenizer(MelTokenizer(cfg), MelCritic(ch=8))
    rec, codes, commit, terms = wrapped(torch.randn(2, 80, 32) - 5, None)
    assert rec.shape == (2, 80, 32) and codes.shape == (2, 8, 3) and set(terms) == {"critic", "adv", "fm"}
    base = ["--synthetic", "--batch-size", "4", "--crop", "32", "--threads", "1", "--channels", "16", "--depth", "3",
            "--codebook-size", "8", "--code-dim", "4"]
    r = resgen("train", "speech-tokenizer", *base, "--out", str(tmp_path / "a"), "--steps", "4")
    assert r.returncode == 0, r.stderr
    r = resgen("train", "speech-tokenizer", *base, "--out", str(tmp_path / "b"), "--init", str(tmp_path / "a"),
               "--decoder-only", "--adversarial", "0.1", "--steps", "50", "--stop-at", "25")
    assert r.returncode == 0, r.stderr
    r = resgen("train", "speech-tokenizer", *base, "--out", str(tmp_path / "b"), "--init", str(tmp_path / "a"),
               "--decoder-only", "--adversarial", "0.1", "--steps", "50")
    assert r.returncode == 0 and "resumed from" in r.stdout + r.stderr, r.stderr
    meta = json.loads((tmp_path / "b" / "tokenizer.json").read_text())
    tok = load_module(MelTokenizer(from_dict(MelTokenizerConfig, meta["tokenizer"])), tmp_path / "b" / "tokenizer.safetensors")
    a = load_module(MelTokenizer(cfg), tmp_path / "a" / "tokenizer.safetensors")
    mel = torch.randn(2, 80, 40) - 5
    assert torch.equal(a.encode(mel), tok.encode(mel))            # decoder-only: the same codes
    logged = [json.loads(x) for x in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert {"critic", "adv", "fm"} <= set(logged[-1])
    r = resgen("train", "speech-tokenizer", *base, "--out", str(tmp_path / "c"), "--adversarial", "-1")
    assert r.returncode == 2 and "--adversarial" in r.stderr and r.stderr.count("\n") == 1
