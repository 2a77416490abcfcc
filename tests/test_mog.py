import math

import pytest
import torch

from resgen.core.config import MoGConfig
from resgen.core.mog import MoGHead, MoGParams, log_prob, loss, sample, top_p_filter


def test_single_component_equals_gaussian_density():
    z = torch.randn(2, 3, 5)
    mu = torch.randn(2, 3, 1, 5)
    p = MoGParams(torch.zeros(2, 3, 1), mu)
    sigma = 0.7
    ref = torch.distributions.Normal(mu[:, :, 0], sigma).log_prob(z).sum(-1)
    assert torch.allclose(log_prob(p, z, sigma), ref, atol=1e-5)
    # and the Jensen bound is tight for K = 1 (up to the normalising constant)
    const = 0.5 * 5 * math.log(2 * math.pi * sigma ** 2)
    assert torch.allclose(loss(p, z, torch.ones(2, 3), sigma), (-ref).mean() - const, atol=1e-5)


def test_loss_finite_and_falls_on_toy_fit():
    torch.manual_seed(0)
    # two clusters in 4-d, the head must put mass on both
    centres = torch.tensor([[2.0, 0, 0, 0], [-2.0, 0, 0, 0]])
    z = centres[torch.randint(0, 2, (64,))][None] + 0.1 * torch.randn(1, 64, 4)   # (1, 64, 4)
    head = MoGHead(8, 4, MoGConfig(components=4, rank=4, sigma=0.3))
    h = torch.randn(1, 64, 8)
    opt = torch.optim.Adam(head.parameters(), lr=0.03)
    losses = []
    for _ in range(200):
        l = loss(head(h), z, torch.ones(1, 64), 0.3)
        opt.zero_grad(); l.backward(); opt.step()
        losses.append(l.item())
    assert all(math.isfinite(x) for x in losses)
    assert losses[-1] < 0.2 * losses[0]
    nll = -log_prob(head(h), z, 0.3).mean()
    assert nll < 2.0


def test_loss_ignores_unweighted_positions():
    p = MoGParams(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3, 4))
    z = torch.stack([torch.zeros(4), torch.full((4,), 1e3)])[None]
    w = torch.tensor([[1.0, 0.0]])
    assert loss(p, z, w, 1.0) < 2.0


def test_top_p_keeps_the_nucleus(gen):
    logits = torch.log(torch.tensor([[[0.5, 0.3, 0.15, 0.05]]]))
    f = top_p_filter(logits, 0.7)
    assert torch.isfinite(f).tolist() == [[[True, True, False, False]]]
    p = MoGParams(f, torch.arange(4.0).view(1, 1, 4, 1).expand(1, 1, 4, 2))
    picks = {int(sample(p, gen)[1]) for _ in range(50)}
    assert picks == {0, 1}


def test_component_temperature_sharpens_and_flattens(gen):
    logits = torch.log(torch.tensor([0.6, 0.3, 0.1])).view(1, 1, 3).expand(1, 4000, 3)
    p = MoGParams(logits, torch.arange(3.0).view(1, 1, 3, 1).expand(1, 4000, 3, 2))

    def share_of_best(t):
        return (sample(p, gen, temperature=t)[1] == 0).float().mean().item()

    assert abs(share_of_best(1.0) - 0.6) < 0.03                     # the mixture itself
    assert share_of_best(0.5) > 0.75                                # (0.36 / 0.46 = 0.78)
    assert share_of_best(4.0) < 0.45                                # towards uniform (0.42)
    z, comp = sample(p, gen, temperature=0)                          # greedy: always the best
    assert (comp == 0).all() and (z == 0).all()


@pytest.mark.parametrize("task, value, words", [("image", "0", "must be above 0"), ("image", "11", "at most 10"),
                                                ("speech", "-1", "must be above 0"), ("speech", "wide", "not a number")])
def test_trainers_refuse_a_bad_sigma_before_any_work(task, value, words, tmp_path):
    from tiny import resgen as resgen_cli
    r = resgen_cli("train", task, "--out", str(tmp_path / "run"), "--sigma", value)
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "run").exists()


def test_a_per_position_sigma_is_each_position_its_own_gaussian():
    z = torch.randn(1, 4, 5)
    mu = torch.randn(1, 4, 1, 5)
    p = MoGParams(torch.zeros(1, 4, 1), mu)
    sig = torch.tensor([[0.1, 0.3, 0.3, 1.0]])
    w = torch.ones(1, 4)
    # a constant tensor is the float
    assert torch.allclose(loss(p, z, w, torch.full((1, 4), 0.3)), loss(p, z, w, 0.3))
    # each position's term is its own sigma's (K = 1: the squared error over 2 sigma^2)
    each = torch.stack([loss(MoGParams(p.logits[:, i:i + 1], mu[:, i:i + 1]), z[:, i:i + 1], w[:, :1],
                             float(sig[0, i])) for i in range(4)])
    assert torch.allclose(loss(p, z, w, sig), each.mean(), atol=1e-6)
