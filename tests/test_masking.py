import math

import pytest
import torch

from resgen.core.masking import (counts_from_mask, gamma, mask_from_counts, masked_sigma, masked_steps,
                                 residual_rms, sample_counts, sample_training_mask)


def test_counts_are_exact_and_spread(gen):
    n = torch.tensor([0, 1, 17, 64 * 8])
    k = sample_counts(n, 64, 8, gen)
    assert torch.equal(k.sum(-1), n)
    assert (k >= 0).all() and (k <= 8).all()


def test_training_masks_are_top_down_with_cosine_counts(gen):
    mask = sample_training_mask(256, 16, 4, gen)
    # monotone in depth: once masked, every deeper slot is masked too
    assert (mask[..., 1:] >= mask[..., :-1]).all()
    assert torch.equal(mask, mask_from_counts(counts_from_mask(mask), 4))
    n = mask.flatten(1).sum(-1).float()
    assert (n >= 1).all()
    # E[n] = N*D * E[cos(pi r / 2)] = N*D * 2/pi
    assert abs(n.mean().item() / 64 - 2 / math.pi) < 0.05


def test_schedule_strictly_decreasing_to_zero():
    for T, N, D in [(1, 4, 2), (16, 64, 8), (16, 64, 16), (8, 4, 2)]:
        m = masked_steps(T, N, D)
        assert len(m) == T and m[-1] == 0
        assert all(a > b for a, b in zip([N * D] + m, m))
    assert gamma(0.0) == 1.0 and abs(gamma(1.0)) < 1e-12
    with pytest.raises(ValueError):
        masked_steps(9, 2, 4)


def test_masks_monotone_in_time():
    """The forward process masks more with time: the sampler's counts are the reverse."""
    m = masked_steps(16, 64, 8)
    assert m == sorted(m, reverse=True)


def test_residual_rms_is_the_size_of_what_k_masked_depths_sum_to():
    g = torch.Generator().manual_seed(0)
    scale = torch.tensor([1.0, 0.5, 0.25, 0.125])                       # RVQ-like: each depth smaller
    per_depth = torch.randn(200, 4, 16, generator=g) * scale[:, None]   # (n, D, E)
    rms = residual_rms(per_depth)                                       # (D,)
    for k in range(1, 5):
        tail = per_depth[:, 4 - k:].sum(1)
        assert math.isclose(float(rms[k - 1]), float(tail.pow(2).mean().sqrt()), rel_tol=1e-5)
    assert (rms[1:] > rms[:-1]).all()                                   # more masked depths, more to predict
    mask = torch.tensor([[[False, False, False, True], [False, True, True, True], [True, True, True, True],
                          [False, False, False, False]]])               # (1, N=4, D=4), k = 1, 3, 4, 0
    s = masked_sigma(mask, rms, 0.25, 1.0)
    assert torch.allclose(s, 0.25 * torch.stack([rms[0], rms[2], rms[3], rms[0]]) / rms[3])
    assert torch.allclose(masked_sigma(mask, rms, 0.25, 0.0), torch.full((1, 4), 0.25))   # power 0: one sigma
