import math

import pytest
import torch

from resgen.core.masking import (counts_from_mask, gamma, mask_from_counts, masked_steps, sample_counts,
                            sample_training_mask)


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
