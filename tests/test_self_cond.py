"""Self-conditioning (DenoiserConfig.self_cond): the network reads the previous sampling step's estimate of every
position's latent; training builds the same estimate from a first pass (resgen train speech --self-cond)."""
import json
import math

import pytest
import torch

from resgen.core.config import DenoiserConfig, MoGConfig, SpeechModelConfig, from_dict
from resgen.core.denoiser import Denoiser
from resgen.core.mog import MoGParams
from resgen.core.sampler import SamplerState, latent_estimate, make_plan, run
from resgen.speech.model import SpeechModel
from tests.test_sampler import _setup, _start
from tests.test_speech_model import resgen
from tests.test_voice_vector import PROMPT, _inputs as _voice_inputs, _net as _voice_net


def _net(self_cond: bool) -> Denoiser:
    return _voice_net(False, self_cond=self_cond)


def _inputs():
    tokens, cond = _voice_inputs()
    return tokens, cond, torch.randn(1, 10, 4, generator=torch.Generator().manual_seed(2))


def test_a_fresh_estimate_map_changes_nothing():
    sc, plain = _net(True), _net(False)
    plain.load_state_dict({k: v for k, v in sc.state_dict().items() if not k.startswith("prev_in.")})
    tokens, cond, prev = _inputs()
    label = torch.zeros(1, dtype=torch.long)
    with torch.no_grad():
        want = plain(tokens, label, cond).means
        assert torch.equal(sc(tokens, label, cond, prev=prev).means, want)
        torch.nn.init.normal_(sc.prev_in.weight)                   # trained: the estimate now counts
        assert not torch.allclose(sc(tokens, label, cond, prev=prev).means, want)
        assert torch.equal(sc(tokens, label, cond).means, sc(tokens, label, cond, prev=torch.zeros_like(prev)).means)


def test_the_trainers_estimate_is_the_visible_tokens_plus_a_draw_on_the_target_only():
    from resgen.train.speech import first_estimate
    g = torch.Generator().manual_seed(0)
    B, N, D, E = 2, 6, 3, 4
    per_depth = torch.randn(B, N, D, E, generator=g)
    target = torch.tensor([[False, False, True, True, True, False], [False, True, True, True, True, True]])
    hidden = target[..., None] & (torch.arange(D) >= 1)                      # depth 1 visible on the target
    hidden[:, 4:] = target[:, 4:, None]                                      # positions 4, 5: all hidden
    select = hidden.any(-1)
    draws = []

    def net(*args):                                 # one mixture component: the draw is its mean
        assert args[-1] is select and not torch.is_grad_enabled()            # a first pass without gradient
        draws.append(torch.randn(1, int(select.sum()), 1, E, generator=g))
        return MoGParams(torch.zeros(1, int(select.sum()), 1), draws[-1]), None
    prev = first_estimate(net, (), select, per_depth, hidden, target, 2.0, torch.Generator().manual_seed(0), 1.0)
    none = first_estimate(net, (), select, per_depth, hidden, target, 2.0, torch.Generator().manual_seed(0), 0.0)
    assert not none.any() and len(draws) == 1                                # share 0: no first pass at all
    want = torch.zeros(B, N, E)
    want[select] = draws[0][0, :, 0]
    want += (per_depth * (~hidden & target[..., None])[..., None]).sum(2) / 2.0
    assert torch.allclose(prev, want)
    assert not prev[~target].any()                                           # the prompt and padding read zeros


def test_latent_estimate_is_the_known_tokens_plus_the_draw_where_masked():
    rvq, _, N = _setup(3)
    codes, mask = _start(N)
    mask[:, 4:6, 0] = False                                         # positions 4, 5: depth 1 known, the rest not
    codes[:, 4:6, 0] = 3
    z = torch.randn(2, N, 4)
    est = latent_estimate(codes, mask, z, rvq, 2.0)
    whole = rvq.decode(codes) / 2.0
    assert torch.allclose(est[:, :4], whole[:, :4])                 # all known: exactly the tokens' latent
    assert torch.allclose(est[:, 4:6], rvq.codebooks[0, 3] / 2.0 + z[:, 4:6])
    assert torch.allclose(est[:, 6:], z[:, 6:])                     # nothing known: the draw alone


def _self_conditioned_run(cfg=1.5, self_cond=True):
    rvq, net, N = _setup(3)
    seen = []

    def spy(tokens, cond, prev=None):
        seen.append(prev)
        out = net(tokens, cond)
        return out if prev is None else type(out)(out.logits, out.means + prev[:, :, None])
    plan = make_plan(4, N - 4, 3, cfg=cfg, temperature=1.0, top_p=0.9, sigma=0.5, self_cond=self_cond)
    prompt = (torch.arange(N) < 4)[None].expand(2, N)
    outs = list(run(spy, plan, rvq, SamplerState(*_start(N), 0), torch.arange(2), torch.full((2,), 99), 16,
                    torch.Generator().manual_seed(0), prompt=prompt))
    return outs, seen, rvq


def test_each_step_reads_the_previous_steps_estimate():
    outs, seen, rvq = _self_conditioned_run()
    assert len(seen) == 4 and seen[0].shape == (4, 12, 4) and not seen[0].any()   # 2 rows of B = 2; zeros first
    for t in range(1, 4):
        est = outs[t - 1][0].estimate.clone()
        est[:, :4] = 0
        assert torch.equal(seen[t], est.repeat(2, 1, 1))            # every guidance row reads the same estimate
    est = outs[-1][0].estimate
    assert torch.allclose(est[:, :4], rvq.decode(outs[-1][0].codes[:, :4]))   # the prompt: its own latent ...
    assert all(not p[:, :4].any() for p in seen)                    # ... which the network never reads
    plain, seen_plain, _ = _self_conditioned_run(self_cond=False)
    assert all(p is None for p in seen_plain) and plain[-1][0].estimate is None
    assert not torch.equal(plain[-1][0].codes, outs[-1][0].codes)  # the estimate moved the draws


def test_a_self_conditioned_denoiser_exports_to_onnx_with_parity(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from resgen.core.backends import OrtPredict
    from tests.tiny import exported_speech_denoiser
    den, path = exported_speech_denoiser(DenoiserConfig(
        positions=24, depth=3, codebook_size=8, code_dim=4, width=16, layers=2, heads=2, num_classes=1,
        cond_vocab=PROMPT + 1, cond_frames=2, conv_kernel=3, self_cond=True, mog=MoGConfig(components=2, rank=1)),
        tmp_path)
    ort = OrtPredict(path, provider="cpu")
    assert ort.input_names == ["tokens", "cond", "prev"]
    tokens, cond, prev = _inputs()
    cond = torch.stack([cond, cond], -1)
    with torch.no_grad():                           # no estimate = the zero estimate, as in torch
        want = den(tokens, torch.zeros(1, dtype=torch.long), cond).means
    assert torch.allclose(ort(tokens, cond).means, want, atol=1e-4)
    assert torch.allclose(ort(tokens, cond, torch.zeros_like(prev)).means, want, atol=1e-4)
    assert not torch.allclose(ort(tokens, cond, prev).means, want, atol=1e-3)


def test_cli_adds_self_conditioning_to_a_trained_model(tmp_path):
    common = ["--synthetic", "--batch-size", "4", "--width", "32", "--layers", "1", "--heads", "2", "--components", "4",
              "--rank", "2", "--max-prompt", "8", "--max-target", "16", "--threads", "1"]
    assert resgen("train", "speech", *common, "--out", str(tmp_path / "a"), "--steps", "2").returncode == 0
    r = resgen("train", "speech", *common, "--out", str(tmp_path / "b"), "--steps", "3", "--init", str(tmp_path / "a"),
               "--self-cond", "0.5")
    assert r.returncode == 0, r.stderr
    cfg = json.loads((tmp_path / "b" / "config.json").read_text())
    assert cfg["model"]["denoiser"]["self_cond"] is True and cfg["trained_steps"] == 3
    model = SpeechModel(from_dict(SpeechModelConfig, cfg["model"]))
    from resgen.core.weights import load_module
    load_module(model, tmp_path / "b" / "model.safetensors")
    losses = [json.loads(l)["mog"] for l in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert all(math.isfinite(x) for x in losses)
    bad = resgen("train", "speech", *common, "--out", str(tmp_path / "c"), "--steps", "2", "--self-cond", "1.5")
    assert bad.returncode == 2 and "--self-cond" in bad.stderr
