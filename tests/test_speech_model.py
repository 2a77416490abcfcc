import json
import math

import pytest
import torch
from tiny import resgen

from resgen.core.config import DenoiserConfig, MoGConfig, SpeechModelConfig, from_dict, to_dict
from resgen.speech.model import SpeechModel, durations_from_log, positions_phonemes
from resgen.train.speech import hide_prompts, make_batch
from resgen.train.speech_corpus import synthetic_corpus
from resgen.core.config import MelTokenizerConfig, RVQConfig
from resgen.speech.tokenizer import MelTokenizer

CFG = SpeechModelConfig(symbols=8, denoiser=DenoiserConfig(
    positions=24, depth=3, codebook_size=8, code_dim=4, width=32, layers=1, heads=2, num_classes=1, cond_vocab=9,
    mog=MoGConfig(components=4, rank=2)))


def test_config_round_trip_and_checks():
    assert from_dict(SpeechModelConfig, json.loads(json.dumps(to_dict(CFG)))) == CFG
    with pytest.raises(ValueError, match="cond_vocab"):
        SpeechModel(SpeechModelConfig(symbols=8, denoiser=DenoiserConfig(num_classes=1, cond_vocab=3)))


def test_positions_follow_the_durations():
    ph = torch.tensor([1, 5, 6, 1])
    du = torch.tensor([3, 4, 6, 3])                     # 16 frames -> 4 positions of 4 frames
    assert positions_phonemes(ph, du, 4).tolist() == [1, 5, 6, 1]     # centre frames 2, 6, 10, 14
    assert positions_phonemes(ph, torch.tensor([1, 1, 1, 2]), 4).tolist() == [6, 1]
    d = durations_from_log(torch.log1p(torch.tensor([4.0, 0.0, 10.0])), speed=2.0)
    assert d.tolist() == [2, 1, 5]
    with pytest.raises(ValueError):
        durations_from_log(torch.zeros(2), speed=0)


def test_every_frame_reaches_a_position_when_conditioned_per_frame():
    ph = torch.tensor([1, 5, 7, 6, 1])
    du = torch.tensor([3, 4, 1, 5, 2])                  # 15 frames -> 4 positions; phoneme 7 lasts 1 frame
    centre = positions_phonemes(ph, du, 4)
    assert 7 not in centre.tolist()                     # read at the centre frame, the short phoneme is lost
    every = positions_phonemes(ph, du, 4, per_position=4)
    assert every.shape == (4, 4)
    assert every.flatten()[:15].tolist() == torch.repeat_interleave(ph, du).tolist()
    assert every[-1, -1] == every[-1, -2]               # the last position's padding frame repeats the last frame
    assert torch.equal(every[:, 2], centre)             # the centre frame is one of them
    assert torch.equal(positions_phonemes(ph, du, 4, per_position=2), every[:, [1, 3]])   # evenly spaced frames
    assert positions_phonemes(ph, torch.zeros(5, dtype=torch.long), 4, per_position=4).shape == (0, 4)
    with pytest.raises(ValueError, match="per_position"):
        positions_phonemes(ph, du, 4, per_position=5)


def test_per_frame_condition_is_ordered_and_padding_safe():
    cfg = SpeechModelConfig(symbols=8, denoiser=DenoiserConfig(
        positions=24, depth=3, codebook_size=8, code_dim=4, width=32, layers=1, heads=2, num_classes=1,
        cond_vocab=9, cond_frames=4, mog=MoGConfig(components=4, rank=2)))
    old = to_dict(CFG)
    del old["denoiser"]["cond_frames"]                  # a config written before cond_frames existed
    assert from_dict(SpeechModelConfig, old).denoiser.cond_frames == 1
    torch.manual_seed(0)
    m = SpeechModel(cfg).eval()
    tok = torch.randint(0, 9, (1, 10, 3))
    cond = torch.randint(1, 9, (1, 10, 4))
    a = m.denoise(tok, cond)
    swapped = cond.flip(-1)                             # the same phonemes in another order within each position
    assert not torch.allclose(a.means, m.denoise(tok, swapped).means, atol=1e-4)
    keep = torch.cat([torch.ones(1, 10), torch.zeros(1, 3)], 1).bool()
    b = m.denoise(torch.cat([tok, tok[:, :3]], 1), torch.cat([cond, torch.zeros(1, 3, 4, dtype=torch.long)], 1), keep)
    assert torch.allclose(a.means, b.means[:, :10], atol=1e-5)
    with pytest.raises(ValueError, match="cond_frames"):
        SpeechModel(SpeechModelConfig(symbols=8, denoiser=DenoiserConfig(num_classes=1, cond_vocab=9, cond_frames=5)))


def test_padding_does_not_change_the_output():
    torch.manual_seed(0)
    m = SpeechModel(CFG).eval()
    tok = torch.randint(0, 9, (1, 10, 3))
    cond = torch.randint(0, 9, (1, 10))
    a = m.denoise(tok, cond, torch.ones(1, 10, dtype=torch.bool))
    padded_tok = torch.cat([tok, torch.randint(0, 9, (1, 4, 3))], 1)
    padded_cond = torch.cat([cond, torch.zeros(1, 4, dtype=torch.long)], 1)
    keep = torch.cat([torch.ones(1, 10), torch.zeros(1, 4)], 1).bool()
    b = m.denoise(padded_tok, padded_cond, keep)
    assert torch.allclose(a.logits, b.logits[:, :10], atol=1e-5) and torch.allclose(a.means, b.means[:, :10], atol=1e-5)


def test_batches_pair_a_target_with_a_prompt_of_the_same_voice():
    tok = MelTokenizer(MelTokenizerConfig(channels=16, rvq=RVQConfig(depth=3, codebook_size=8, dim=4)))
    corpus = synthetic_corpus(tok, n=12, voices=3)
    gen = torch.Generator().manual_seed(0)
    codes, cond, keep, target, ph, du, pkeep, Np = make_batch(corpus, torch.tensor([0, 4, 7]), gen, 5, 16, 99)
    for b, i in enumerate([0, 4, 7]):
        n_t, n_p = min(len(corpus.codes[i]), 16), int(pkeep[b].sum())
        assert target[b].sum() == n_t and torch.equal(codes[b, n_p:n_p + n_t], corpus.codes[i][:n_t])
        assert (cond[b, :n_p] == 99).all() and not target[b, :n_p].any() and target[b, n_p:n_p + n_t].all()
        assert keep[b, :n_p + n_t].all() and not keep[b, n_p + n_t:].any()     # the sampler's layout: no gap
        assert torch.equal(ph[b, :len(corpus.phonemes[i])], corpus.phonemes[i])
        assert du[b].sum() == corpus.durations[i].sum()
        prompt = codes[b, :pkeep[b].sum()]
        same_voice = [j for j in corpus.by_voice[int(corpus.voice[i])] if j != i]
        assert any(any(torch.equal(prompt, corpus.codes[j][s:s + len(prompt)])
                       for s in range(len(corpus.codes[j]) - len(prompt) + 1)) for j in same_voice)


def test_block_layout_starts_every_target_after_the_longest_prompt():
    tok = MelTokenizer(MelTokenizerConfig(channels=16, rvq=RVQConfig(depth=3, codebook_size=8, dim=4)))
    corpus = synthetic_corpus(tok, n=12, voices=3)
    codes, cond, keep, target, ph, du, pkeep, Np = make_batch(corpus, torch.tensor([0, 4, 7]), torch.Generator(),
                                                              5, 16, 99, layout="block")
    for b, i in enumerate([0, 4, 7]):
        n_t, n_p = min(len(corpus.codes[i]), 16), int(pkeep[b].sum())
        assert torch.equal(codes[b, Np:Np + n_t], corpus.codes[i][:n_t]) and target[b, Np:Np + n_t].all()
        assert not keep[b, n_p:Np].any() and keep[b, :n_p].all()
    with pytest.raises(ValueError, match="prompt layout"):
        make_batch(corpus, torch.tensor([0]), torch.Generator(), 5, 16, 99, layout="right")


def test_per_frame_batches_carry_every_frame():
    tok = MelTokenizer(MelTokenizerConfig(channels=16, rvq=RVQConfig(depth=3, codebook_size=8, dim=4)))
    corpus = synthetic_corpus(tok, n=6, voices=2, per_position=4)
    codes, cond, keep, target, ph, du, pkeep, Np = make_batch(corpus, torch.tensor([0, 3]), torch.Generator(), 5, 16, 99)
    assert cond.shape == (*codes.shape[:2], 4)
    for b, i in enumerate([0, 3]):
        n_t, n_p = min(len(corpus.codes[i]), 16), int(pkeep[b].sum())
        assert (cond[b, :n_p] == 99).all()
        frames = torch.repeat_interleave(corpus.phonemes[i], corpus.durations[i])
        assert cond[b, n_p:n_p + n_t].flatten()[:len(frames)].tolist() == frames[:4 * n_t].tolist()


def test_prompt_drop_hides_the_whole_prompt_of_the_dropped_rows_only():
    tok = MelTokenizer(MelTokenizerConfig(channels=16, rvq=RVQConfig(depth=3, codebook_size=8, dim=4)))
    corpus = synthetic_corpus(tok, n=12, voices=3)
    codes, cond, keep, target, ph, du, pkeep, Np = make_batch(corpus, torch.tensor([0, 4, 7]), torch.Generator(),
                                                              5, 16, 99)
    mask = torch.rand(codes.shape, generator=torch.Generator().manual_seed(0)) < 0.5
    mask &= target[..., None]
    hidden = hide_prompts(mask, keep & ~target, torch.tensor([True, False, True]))
    for b in range(3):
        n_p = int(pkeep[b].sum())
        assert torch.equal(hidden[b, n_p:], mask[b, n_p:])                     # the target as the mask left it
        assert hidden[b, :n_p].all() if b != 1 else not hidden[b, :n_p].any()


def test_cli_trains_on_a_synthetic_corpus(tmp_path):
    r = resgen("train", "speech", "--synthetic", "--out", str(tmp_path), "--steps", "4", "--batch-size", "4",
               "--width", "32", "--layers", "1", "--heads", "2", "--components", "4", "--rank", "2",
               "--max-prompt", "8", "--max-target", "16", "--threads", "1")
    assert r.returncode == 0, r.stderr
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["task"] == "speech" and cfg["trained_steps"] == 4 and cfg["prompt_drop"] == 0.0
    model = SpeechModel(from_dict(SpeechModelConfig, cfg["model"]))
    from resgen.core.weights import load_module
    load_module(model, tmp_path / "model.safetensors")


def test_cli_fine_tunes_with_a_std_by_masked_depth(tmp_path):
    common = ["--synthetic", "--batch-size", "4", "--width", "32", "--layers", "1", "--heads", "2", "--components", "4",
              "--rank", "2", "--max-prompt", "8", "--max-target", "16", "--threads", "1"]
    assert resgen("train", "speech", *common, "--out", str(tmp_path / "a"), "--steps", "2").returncode == 0
    r = resgen("train", "speech", *common, "--out", str(tmp_path / "b"), "--steps", "3", "--init", str(tmp_path / "a"),
               "--sigma-power", "1")                      # the same model, another loss: fine-tuning allowed
    assert r.returncode == 0, r.stderr
    cfg = json.loads((tmp_path / "b" / "config.json").read_text())
    assert cfg["model"]["denoiser"]["mog"]["sigma_power"] == 1.0 and cfg["trained_steps"] == 3
    losses = [json.loads(l)["mog"] for l in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert all(math.isfinite(x) for x in losses)
    bad = resgen("train", "speech", *common, "--out", str(tmp_path / "c"), "--steps", "2", "--sigma-power", "3")
    assert bad.returncode == 2 and "--sigma-power" in bad.stderr


def test_missing_tokenizer_is_one_line(tmp_path):
    r = resgen("train", "speech", "--tokenizer", str(tmp_path / "none"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "no speech tokenizer" in r.stderr and r.stderr.count("\n") == 1


def _perturbed(model: SpeechModel) -> SpeechModel:
    """Every parameter nudged off its initial value (zero-initialised output layers included), so a test sees them."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


def test_local_convolution_mixes_neighbours_and_ignores_padding():
    torch.manual_seed(0)
    cfg = SpeechModelConfig(symbols=8, denoiser=DenoiserConfig(positions=32, depth=3, codebook_size=8, code_dim=4,
                                                               width=16, layers=2, heads=2, num_classes=1,
                                                               cond_vocab=9, conv_kernel=3,
                                                               mog=MoGConfig(components=4, rank=2)))
    m = _perturbed(SpeechModel(cfg))
    tok = torch.randint(0, 9, (1, 10, 3))
    cond = torch.randint(0, 9, (1, 10))
    a = m.denoise(tok, cond, torch.ones(1, 10, dtype=torch.bool))
    padded = m.denoise(torch.cat([tok, torch.randint(0, 9, (1, 4, 3))], 1),
                       torch.cat([cond, torch.randint(0, 9, (1, 4))], 1),
                       torch.cat([torch.ones(1, 10), torch.zeros(1, 4)], 1).bool())
    assert torch.allclose(a.means, padded.means[:, :10], atol=1e-5)
    assert sum(p.numel() for n, p in m.named_parameters() if ".local." in n) > 0
    with pytest.raises(ValueError, match="odd"):
        SpeechModel(SpeechModelConfig(symbols=8, denoiser=DenoiserConfig(num_classes=1, cond_vocab=9, conv_kernel=4)))


def test_local_convolution_reaches_only_its_kernel():
    from resgen.core.denoiser import LocalConv
    torch.manual_seed(0)
    conv = LocalConv(8, 3)
    torch.nn.init.normal_(conv.out.weight)                  # zero-initialised: give it weights to see through
    x = torch.randn(1, 9, 8)
    y = x.clone()
    y[0, 4] += torch.randn(8)                               # change position 4 only
    changed = (conv(x) - conv(y)).abs().sum(-1)[0] > 1e-6
    assert changed.tolist() == [False, False, False, True, True, True, False, False, False]
