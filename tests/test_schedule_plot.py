"""The schedule plot: the curves drawn once per run, the step's marker and title painted per step."""
import numpy as np
import pytest

from app import schedule_plot as sp


def _mask(T=8, N=16, D=4, seed=0):
    """A top-down schedule: each step reveals more slots, depth 1 first."""
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((N, D)) + np.arange(D)[None] * 0.5, axis=None)   # shallow depths first
    when = np.empty(N * D, int)
    when[order] = np.minimum(np.arange(N * D) * T // (N * D), T - 1)
    return np.arange(T)[:, None, None] < when.reshape(N, D)[None]                   # masked after each step


def _orange(img):
    return (np.abs(img.astype(int) - np.array(sp.ORANGE)).sum(-1) < 40)


def test_marker_moves_with_the_step_and_curves_stay():
    m = _mask()
    a, b = sp.schedule_plot(m, 1), sp.schedule_plot(m, 6)
    assert a.shape == b.shape == (sp.LABEL_BAND + 260, 520, 3) and a.dtype == np.uint8
    cols_a = np.flatnonzero(_orange(a)[130:230].sum(0) > 20)    # the dashed line's columns, below the title
    cols_b = np.flatnonzero(_orange(b)[130:230].sum(0) > 20)
    assert cols_a.size and cols_b.size and cols_b.min() > cols_a.max() + 100      # step 7 far right of step 2
    same = (a == b).all(-1)
    assert same.mean() > 0.9                                      # only the marker and title differ


def test_title_counts_the_revealed_slots():
    m = _mask()
    base = sp._cached_base(m, 520, 260)
    for step in range(m.shape[0]):
        assert base.known[step] == m.size // m.shape[0] - m[step].sum()
    assert sp._title(3, 8, 16, 64) == "after step 3/8: 16 of 64 slots revealed (25%)"


def test_background_is_cached_per_run_and_bounded():
    sp._CACHE.clear()
    m = _mask()
    sp.schedule_plot(m, 0)
    sp.schedule_plot(m, 5)
    assert len(sp._CACHE) == 1
    for s in range(sp._CACHE_SIZE + 3):
        sp.schedule_plot(_mask(seed=s + 1), 0)
    assert len(sp._CACHE) == sp._CACHE_SIZE


def test_step_out_of_range_is_an_error():
    with pytest.raises(ValueError, match="outside"):
        sp.schedule_plot(_mask(T=4), 4)
