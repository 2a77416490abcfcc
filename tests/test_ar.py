"""The autoregressive baseline (resgen/baselines/ar.py) and its trainer, on tiny configs (CPU, seconds)."""
import argparse
import json

import pytest
import torch

from resgen.baselines.ar import ARConfig, KVCache, RQTransformer, ar_loss, causal_mask, load_ar, sample
from resgen.core.config import ImageTokenizerConfig, RVQConfig, dumps, to_dict
from resgen.image.tokenizer import ImageTokenizer
from resgen.core.weights import ModelFileError, save_module

TINY = ARConfig(positions=5, depth=3, codebook_size=8, num_classes=4, width=32, spatial_layers=2,
                depth_layers=1, heads=2)


def tiny_model(seed=0, cfg=TINY):
    torch.manual_seed(seed)
    model = RQTransformer(cfg).eval()
    with torch.no_grad():                      # larger weights than the init: peaked, varied logits
        model.head.weight.mul_(20)
        model.class_emb.weight.mul_(20)
    return model


def random_codes(B, cfg=TINY, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, cfg.codebook_size, (B, cfg.positions, cfg.depth), generator=g)


def test_causal_mask_with_offset():
    m = causal_mask(2, 3, "cpu")
    assert m.tolist() == [[True, True, True, True, False], [True, True, True, True, True]]


def test_kv_cache_matches_a_full_pass():
    model = tiny_model()
    x = torch.randn(2, 4, TINY.width)
    full = model.spatial(x)
    caches = model.spatial.new_caches(2, 4, x)
    steps = [model.spatial(x[:, :1], caches), model.spatial(x[:, 1:3], caches), model.spatial(x[:, 3:], caches)]
    assert torch.allclose(torch.cat(steps, 1), full, atol=1e-5)
    with pytest.raises(ValueError):
        KVCache(1, 1, 2, 4, "cpu", torch.float32).append(torch.zeros(1, 1, 3, 4), torch.zeros(1, 1, 3, 4))


@pytest.mark.parametrize("i,d", [(0, 0), (2, 1), (4, 2)])
def test_logits_depend_only_on_earlier_tokens(i, d):
    """Changing the code at (i, d) leaves the logits at every position < i and at depths <= d of
    position i unchanged, and changes those at depths > d of position i and at position i+1."""
    model = tiny_model()
    codes, labels = random_codes(2), torch.tensor([1, 3])
    other = codes.clone()
    other[:, i, d] = (other[:, i, d] + 1) % TINY.codebook_size
    with torch.no_grad():
        a, b = model(codes, labels), model(other, labels)           # (B, N, D, V)
    assert torch.allclose(a[:, :i], b[:, :i], atol=1e-6)
    assert torch.allclose(a[:, i, :d + 1], b[:, i, :d + 1], atol=1e-6)
    if d + 1 < TINY.depth:
        assert not torch.allclose(a[:, i, d + 1:], b[:, i, d + 1:], atol=1e-4)
    if i + 1 < TINY.positions:
        assert not torch.allclose(a[:, i + 1], b[:, i + 1], atol=1e-4)
    # and the class reaches every position through the first spatial token
    with torch.no_grad():
        c = model(codes, torch.tensor([0, 0]))
    assert not torch.allclose(a[:, 0, 0], c[:, 0, 0], atol=1e-4)


def test_prefix_forward_equals_full_forward():
    model = tiny_model()
    codes, labels = random_codes(2), torch.tensor([1, 2])
    with torch.no_grad():
        full, part = model(codes, labels), model(codes[:, :3], labels)
    assert torch.allclose(full[:, :3], part, atol=1e-5)
    with pytest.raises(ValueError):
        model(torch.zeros(1, TINY.positions + 1, TINY.depth, dtype=torch.long), labels[:1])


@pytest.mark.parametrize("cfg,temperature,top_p", [(1.0, 1.0, 1.0), (2.0, 1.0, 1.0), (2.0, 0.8, 0.9)])
def test_cached_sampling_equals_uncached(cfg, temperature, top_p):
    model = tiny_model()
    labels = torch.tensor([0, 1, 3])
    kw = dict(cfg=cfg, temperature=temperature, top_p=top_p)
    fast = sample(model, labels, torch.Generator().manual_seed(7), cache=True, **kw)
    slow = sample(model, labels, torch.Generator().manual_seed(7), cache=False, **kw)
    assert fast.codes.shape == (3, TINY.positions, TINY.depth) and fast.codes.dtype == torch.long
    assert torch.equal(fast.codes, slow.codes)
    assert torch.allclose(fast.logp, slow.logp, atol=1e-5)
    assert fast.calls == slow.calls == TINY.positions * TINY.depth   # one per token; CFG rides in one batch
    assert fast.seconds >= 0 and (fast.logp <= 0).all()
    other = sample(model, labels, torch.Generator().manual_seed(8), **kw)
    assert not torch.equal(other.codes, fast.codes)


def test_sampled_logp_is_the_teacher_forced_likelihood():
    model = tiny_model()
    labels = torch.tensor([2, 0])
    res = sample(model, labels, torch.Generator().manual_seed(0))
    with torch.no_grad():
        logp = model(res.codes, labels).log_softmax(-1).gather(-1, res.codes[..., None])[..., 0]
    assert torch.allclose(res.logp, logp, atol=1e-5)
    assert torch.isclose(-res.logp.mean(), ar_loss(model, res.codes, labels), atol=1e-5)


def test_top_p_keeps_only_the_nucleus():
    model = tiny_model()
    labels = torch.zeros(8, dtype=torch.long)
    greedy = sample(model, labels, torch.Generator().manual_seed(0), top_p=1e-6)
    assert (greedy.codes == greedy.codes[:1]).all()                 # only the top code survives
    with pytest.raises(ValueError):
        sample(model, labels, torch.Generator(), temperature=0.0)


def test_loss_falls_when_overfitting_a_tiny_batch():
    torch.manual_seed(0)
    model = RQTransformer(TINY)
    codes, labels = random_codes(4, seed=1), torch.arange(4)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(50):
        loss = ar_loss(model, codes, labels)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first > 1.8 and loss.item() < 0.5 * first             # ln 8 = 2.08 at the start


def _tiny_tokenizer(folder):
    folder.mkdir()
    cfg = ImageTokenizerConfig(channels=(8, 16, 16), rvq=RVQConfig(depth=3, codebook_size=8, dim=4))
    torch.manual_seed(0)
    save_module(ImageTokenizer(cfg), folder / "tokenizer.safetensors")
    (folder / "tokenizer.json").write_text(dumps({"tokenizer": to_dict(cfg)}))


def test_trainer_end_to_end_and_load(tmp_path):
    from resgen.train import image_ar

    _tiny_tokenizer(tmp_path / "tok")
    p = argparse.ArgumentParser()
    image_ar.add_args(p)
    out = tmp_path / "ar"
    args = p.parse_args(["--tokenizer", str(tmp_path / "tok"), "--out", str(out), "--steps", "3",
                         "--synthetic", "--limit", "32", "--batch-size", "8", "--width", "32",
                         "--spatial-layers", "1", "--depth-layers", "1", "--heads", "2", "--threads", "1"])
    image_ar.run(args)
    meta = json.loads((out / "ar.json").read_text())
    assert meta["task"] == "image-ar" and meta["trained_steps"] == 3
    assert (out / "codes_train.npz").exists() and (out / "ckpt.pt").exists()
    model = load_ar(out)
    assert model.cfg.positions == 64 and model.cfg.depth == 3 and model.cfg.codebook_size == 8
    res = sample(model, torch.tensor([7, model.null_class]), torch.Generator().manual_seed(0), cfg=2.0)
    assert res.codes.shape == (2, 64, 3) and int(res.codes.max()) < 8

    # a stale weight file is refused with a clear message
    (out / "ar.safetensors").write_bytes((out / "ar.safetensors").read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(ModelFileError, match="does not match the hash"):
        load_ar(out)
    (out / "ar.safetensors").unlink()
    with pytest.raises(ModelFileError, match="missing model file"):
        load_ar(out)
