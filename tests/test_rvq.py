import torch

from resgen.core.config import RVQConfig
from resgen.core.rvq import ResidualVQ


def _trained_rvq(depth=4, steps=30):
    torch.manual_seed(0)
    rvq = ResidualVQ(RVQConfig(depth=depth, codebook_size=32, dim=8))
    data = torch.randn(8, 64, 8)
    rvq.train()
    for _ in range(steps):
        rvq(data)
    rvq.eval()
    return rvq, data


def test_round_trip_codes_to_latents_to_codes():
    rvq, data = _trained_rvq()
    codes = rvq.encode(data)
    assert codes.shape == (8, 64, 4) and codes.dtype == torch.long
    zq = rvq.decode(codes)
    st, codes2, _ = rvq(data)                      # eval forward: straight-through value is z_q
    assert torch.equal(codes2, codes) and torch.allclose(st, zq, atol=1e-5)
    assert (data - zq).pow(2).mean() < 0.5 * data.var()
    # Greedy RVQ is not exactly idempotent, but the coarse depth of a decoded latent is stable.
    assert (rvq.encode(zq)[..., 0] == codes[..., 0]).float().mean() > 0.9


def test_partial_depth_decoding_is_prefix_sum_and_error_falls_with_depth():
    rvq, data = _trained_rvq()
    codes = rvq.encode(data)
    per_depth = rvq.embed_per_depth(codes)
    errors = []
    for d in range(1, 5):
        part = rvq.decode(codes, d)
        assert torch.allclose(part, per_depth[:, :, :d].sum(2))
        errors.append((data - part).pow(2).mean().item())
    assert all(a > b for a, b in zip(errors, errors[1:])), errors


def test_quantise_from_fills_only_masked_depths():
    rvq, data = _trained_rvq()
    codes = rvq.encode(data)
    start = torch.full((8, 64), 2)
    residual = data - rvq.decode(codes, 2)
    pred, logp = rvq.quantise_from(residual, start, beta=1.0)
    assert torch.equal(pred[..., 2:], codes[..., 2:])
    assert (pred[..., :2] == 0).all() and (logp[..., :2] == 0).all()
    assert (logp[..., 2:] <= 0).all()


def test_dead_codes_are_restarted():
    rvq = ResidualVQ(RVQConfig(depth=1, codebook_size=16, dim=2, ema_decay=0.5))
    rvq.train()
    rvq(torch.randn(1, 100, 2))
    rvq.codebooks[0, 3] = 1e6          # a code nobody will ever pick
    for _ in range(10):
        rvq(torch.randn(1, 100, 2))
    assert rvq.codebooks[0, 3].abs().max() < 100


def test_quantise_from_at_a_code_temperature_draws_from_the_code_posterior():
    """temperature 0 (default) is the nearest code; a tiny temperature still is; at temperature 1 a
    one-depth draw follows softmax(-dist / beta), and the returned log p is that of the drawn code."""
    rvq, data = _trained_rvq(depth=1)
    z = data[:1, :1].expand(1, 4000, 8).contiguous()         # one latent, 4000 draws
    start = torch.zeros(1, 4000, dtype=torch.long)
    beta = 2.0
    nearest, logp0 = rvq.quantise_from(z, start, beta)
    g = torch.Generator().manual_seed(0)
    cold, _ = rvq.quantise_from(z, start, beta, temperature=1e-6, generator=g)
    assert torch.equal(cold, nearest) and (nearest == nearest[0, 0, 0]).all()
    drawn, logp = rvq.quantise_from(z, start, beta, temperature=1.0, generator=g)
    d2 = (z[0, 0] - rvq.codebooks[0]).pow(2).sum(-1)
    p = torch.softmax(-d2 / beta, -1)
    freq = torch.bincount(drawn[0, :, 0], minlength=p.numel()).float() / 4000
    assert drawn.unique().numel() > 1 and (freq - p).abs().max() < 0.03
    assert torch.allclose(logp[0, :, 0], p.log()[drawn[0, :, 0]], atol=1e-5)
    again, _ = rvq.quantise_from(z, start, beta, temperature=1.0, generator=torch.Generator().manual_seed(0))
    first, _ = rvq.quantise_from(z, start, beta, temperature=1.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again, first)
