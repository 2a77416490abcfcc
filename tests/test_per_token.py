"""The per-token masked baseline (resgen/baselines/per_token.py) and its trainer, on tiny configs (CPU, seconds)."""
import argparse
import json

import pytest
import torch

from resgen.core.config import DenoiserConfig, ImageTokenizerConfig, MoGConfig, RVQConfig, dumps, to_dict
from resgen.core.denoiser import Denoiser
from resgen.image.tokenizer import ImageTokenizer
from resgen.core.masking import sample_training_mask
from resgen.baselines.per_token import (
    PerTokenDenoiser,
    generate,
    load_per_token,
    masked_cross_entropy,
    parameter_count,
    per_token_loss,
    run,
    step,
)
from resgen.core.sampler import init_state, make_plan
from resgen.core.weights import ModelFileError, save_module

TINY = DenoiserConfig(positions=6, depth=3, codebook_size=8, code_dim=4, width=32, layers=1, heads=2,
                      num_classes=4, mog=MoGConfig(components=4, rank=2))


class DummyLogits:
    """Deterministic stand-in for the network: fixed random logits (B, N, D, V) from tokens and cond."""

    def __init__(self, V, D, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.emb = torch.randn(D * (V + 1), D * V, generator=g)
        self.offset = torch.arange(D) * (V + 1)
        self.V, self.calls, self.rows = V, 0, 0

    def __call__(self, tokens, cond):
        self.calls += 1
        self.rows += tokens.shape[0]
        B, N, D = tokens.shape
        h = self.emb[tokens + self.offset].sum(2) + cond.remainder(7).float()[:, None, None]   # (B, N, D*V)
        return 2.0 * h.view(B, N, D, self.V)


def _sample(D, steps, cfg, seed, B=3, N=12, V=16, top_p=0.9):
    net = DummyLogits(V, D)
    plan = make_plan(steps, N, D, cfg=cfg, temperature=1.0, top_p=top_p)
    g = torch.Generator().manual_seed(seed)
    cond, null = torch.arange(B), torch.full((B,), 99)
    outs = list(run(net, plan, init_state(B, N, D), cond, null, mask_id=V, generator=g))
    return outs, net.calls, net.rows


@pytest.mark.parametrize("D", [4, 8, 16])
@pytest.mark.parametrize("cfg", [1.0, 3.0])
def test_full_run_invariants(D, cfg):
    T = 8
    outs, calls, rows = _sample(D, T, cfg, seed=0)
    assert calls == T                                 # independent of D
    assert rows == (1 if cfg == 1.0 else 2) * 3 * T   # under CFG the B=3 rows go twice, in one batch
    assert len(outs) == T
    prev_codes, prev_mask = None, None
    for i, (state, tr) in enumerate(outs):
        assert tr.step == i and state.step == i + 1
        m = tr.mask
        assert (m[..., 1:] >= m[..., :-1]).all(), "unmasking must stay bottom-up"
        if prev_mask is not None:
            known = ~prev_mask
            assert (~m | ~known).all(), "a revealed token was masked again"
            assert torch.equal(tr.codes[known], prev_codes[known]), "a revealed token changed"
            assert torch.equal(tr.revealed, prev_mask & ~m)
            assert torch.isnan(tr.confidence[known]).all()
            assert torch.equal(tr.pred_codes[known], prev_codes[known])
        before = prev_mask if prev_mask is not None else torch.ones_like(m)
        conf = tr.confidence[before]
        assert (conf <= 0).all()
        assert torch.equal(tr.codes[~m], tr.pred_codes[~m])
        assert tr.component.shape == m.shape[:2]
        prev_codes, prev_mask = tr.codes, m
    assert not outs[-1][1].mask.any(), "everything is revealed at the end"
    assert int(outs[-1][0].codes.max()) < 16
    counts = [int(tr.mask[0].sum()) for _, tr in outs]
    assert counts == list(make_plan(T, 12, D).masked_after)


def test_confidence_never_increases_with_depth():
    outs = _sample(8, 4, 1.0, seed=0)[0]
    _, tr = outs[0]                                   # everything masked before the first step
    assert (tr.confidence[..., 1:] <= tr.confidence[..., :-1] + 1e-6).all()


def test_same_seed_same_codes_other_seed_differs():
    a = _sample(8, 6, 2.0, seed=1)[0][-1][1].codes
    b = _sample(8, 6, 2.0, seed=1)[0][-1][1].codes
    c = _sample(8, 6, 2.0, seed=2)[0][-1][1].codes
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_step_is_pure():
    net, N, D = DummyLogits(16, 4), 12, 4
    plan = make_plan(4, N, D)
    state = init_state(2, N, D)
    codes0, mask0 = state.codes.clone(), state.mask.clone()
    logits = net(torch.where(state.mask, 16, state.codes), torch.zeros(2, dtype=torch.long))
    logits0 = logits.clone()
    s1, t1 = step(state, logits, plan, torch.Generator().manual_seed(3))
    s2, t2 = step(state, logits, plan, torch.Generator().manual_seed(3))
    assert torch.equal(state.codes, codes0) and torch.equal(state.mask, mask0) and state.step == 0
    assert torch.equal(logits, logits0)
    assert torch.equal(s1.codes, s2.codes) and torch.equal(t1.mask, t2.mask) and s1.step == 1


def test_single_step_reveals_everything():
    outs, calls, _ = _sample(8, 1, 1.0, seed=0)
    assert calls == 1 and not outs[0][1].mask.any()


def test_top_p_keeps_only_the_most_likely_code():
    """A tiny nucleus samples the arg-max code of every slot."""
    outs = _sample(4, 1, 1.0, seed=5, top_p=1e-6)[0]
    net = DummyLogits(16, 4)
    first = net(torch.full((3, 12, 4), 16), torch.arange(3))
    assert torch.equal(outs[0][1].pred_codes, first.argmax(-1))


def test_model_shapes_and_no_mog_head():
    torch.manual_seed(0)
    model = PerTokenDenoiser(TINY).eval()
    assert isinstance(model.head, torch.nn.Linear)
    assert not any("to_logits" in k or "basis" in k for k in model.state_dict())
    trunk = parameter_count(Denoiser(TINY)) - parameter_count(Denoiser(TINY).head)
    assert parameter_count(model) == trunk + TINY.width * TINY.depth * TINY.codebook_size + TINY.depth * TINY.codebook_size
    tokens = torch.randint(0, TINY.codebook_size + 1, (2, TINY.positions, TINY.depth))
    labels = torch.tensor([1, TINY.num_classes])
    with torch.no_grad():
        full = model(tokens, labels)
        select = torch.zeros(2, TINY.positions, dtype=torch.bool)
        select[0, 1] = select[1, 4] = True
        part = model(tokens, labels, select=select)
    assert full.shape == (2, TINY.positions, TINY.depth, TINY.codebook_size)
    assert part.shape == (1, 2, TINY.depth, TINY.codebook_size)
    assert torch.allclose(part[0], full[select], atol=1e-6)


def test_loss_uses_only_masked_slots():
    g = torch.Generator().manual_seed(0)
    B, N, D, V = 3, TINY.positions, TINY.depth, TINY.codebook_size
    mask = sample_training_mask(B, N, D, g)
    assert mask.any() and not mask.all()
    logits = torch.randn(B, N, D, V, generator=g)
    codes = torch.randint(0, V, (B, N, D), generator=g)
    base = masked_cross_entropy(logits, codes, mask)
    logits2, codes2 = logits.clone(), codes.clone()
    logits2[~mask] = torch.randn(int((~mask).sum()), V, generator=g) * 10
    codes2[~mask] = (codes2[~mask] + 3) % V
    assert torch.equal(masked_cross_entropy(logits2, codes2, mask), base)
    logits3 = logits.clone()
    logits3[mask] += torch.randn(int(mask.sum()), V, generator=g)
    assert not torch.allclose(masked_cross_entropy(logits3, codes, mask), base)

    # the model loss is that cross-entropy on the full logits, with no gradient from unmasked slots
    torch.manual_seed(0)
    model = PerTokenDenoiser(TINY)
    labels = torch.tensor([0, 1, TINY.num_classes])
    loss = per_token_loss(model, codes, labels, mask)
    full = model(torch.where(mask, V, codes), labels)
    full.retain_grad()
    ref = masked_cross_entropy(full, codes, mask)
    assert torch.allclose(loss, ref, atol=1e-6)
    ref.backward()
    assert (full.grad[~mask] == 0).all() and full.grad[mask].abs().sum() > 0


def test_loss_falls_when_overfitting_a_tiny_batch():
    torch.manual_seed(0)
    model = PerTokenDenoiser(TINY)
    g = torch.Generator().manual_seed(1)
    codes = torch.randint(0, TINY.codebook_size, (4, TINY.positions, TINY.depth), generator=g)
    labels = torch.arange(4)
    mask = torch.ones_like(codes, dtype=torch.bool)         # the fixed task: all masked, given the class
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        loss = per_token_loss(model, codes, labels, mask)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first > 1.8 and loss.item() < 0.5 * first        # ln 8 = 2.08 at the start


def _tiny_tokenizer(folder):
    folder.mkdir()
    cfg = ImageTokenizerConfig(channels=(8, 16, 16), rvq=RVQConfig(depth=3, codebook_size=8, dim=4))
    torch.manual_seed(0)
    save_module(ImageTokenizer(cfg), folder / "tokenizer.safetensors")
    (folder / "tokenizer.json").write_text(dumps({"tokenizer": to_dict(cfg)}))


def test_trainer_end_to_end_and_load(tmp_path):
    from resgen.train import image_per_token

    _tiny_tokenizer(tmp_path / "tok")
    p = argparse.ArgumentParser()
    image_per_token.add_args(p)
    out = tmp_path / "pt"
    args = p.parse_args(["--tokenizer", str(tmp_path / "tok"), "--out", str(out), "--steps", "3",
                         "--synthetic", "--limit", "32", "--batch-size", "8", "--width", "32",
                         "--layers", "1", "--heads", "2", "--threads", "1"])
    image_per_token.run(args)
    meta = json.loads((out / "per_token.json").read_text())
    assert meta["task"] == "image-per-token" and meta["trained_steps"] == 3
    assert set(meta["files"]) == {"per_token.safetensors"} and len(meta["tokenizer_sha256"]) == 64
    assert (out / "codes_train.npz").exists() and (out / "ckpt.pt").exists()
    model = load_per_token(out)
    assert not model.training
    assert model.cfg.positions == 64 and model.cfg.depth == 3 and model.cfg.codebook_size == 8
    plan = make_plan(4, 64, 3, cfg=2.0)
    labels = torch.tensor([7, model.null_class])
    codes = generate(model, labels, plan, torch.Generator().manual_seed(0))
    assert codes.shape == (2, 64, 3) and int(codes.max()) < 8 and int(codes.min()) >= 0
    assert torch.equal(codes, generate(model, labels, plan, torch.Generator().manual_seed(0)))

    # a stale weight file is refused with a clear message
    (out / "per_token.safetensors").write_bytes((out / "per_token.safetensors").read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(ModelFileError, match="does not match the hash"):
        load_per_token(out)
    (out / "per_token.safetensors").unlink()
    with pytest.raises(ModelFileError, match="missing model file"):
        load_per_token(out)
    (out / "per_token.json").unlink()
    with pytest.raises(ModelFileError, match="missing"):
        load_per_token(out)
