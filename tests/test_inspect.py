"""The position inspector over a real sampling run (a deterministic stand-in network, a real RVQ)."""
import numpy as np
import pytest
import torch

from resgen.core.inspect import KNOWN, LIFE_KEPT, LIFE_KNOWN, LIFE_REMASKED, MASKED, NOW, inspect_position
from resgen.core.sampler import init_state, make_plan, run
from resgen.core.trace import TOP_COMPONENTS, load_traces, save_traces, trace_arrays
from test_sampler import _setup


def _run(D=4, T=6, B=2):
    rvq, net, N = _setup(D)
    plan = make_plan(T, N, D, cfg=2.0, temperature=1.0, top_p=1.0, sigma=0.5)
    outs = list(run(net, plan, rvq, init_state(B, N, D), torch.arange(B), torch.full((B,), 99),
                    mask_id=rvq.cfg.codebook_size, generator=torch.Generator().manual_seed(0)))
    return rvq, [tr for _, tr in outs]


def test_trace_carries_the_drawn_sum_and_the_heaviest_components(tmp_path):
    rvq, traces = _run()
    arrays = trace_arrays(traces)
    T, B, N, D = arrays["codes"].shape
    assert arrays["pred_sum"].shape == (T, B, N, rvq.cfg.dim) and arrays["pred_sum"].dtype == np.float16
    assert arrays["top_components"].shape == (T, B, N, min(TOP_COMPONENTS, 4))
    w = arrays["top_weights"].astype(np.float64)
    assert (np.diff(w, axis=-1) <= 1e-3).all() and (w.sum(-1) <= 1 + 1e-2).all()     # heaviest first, a share
    save_traces(tmp_path / "t.npz", traces, {"task": "test"})
    back, _ = load_traces(tmp_path / "t.npz")
    assert np.array_equal(back["pred_sum"], arrays["pred_sum"]) and np.array_equal(back["top_components"],
                                                                                   arrays["top_components"])


def test_a_position_read_off_the_trace():
    rvq, traces = _run()
    arrays = trace_arrays(traces)
    T, B, N, D = arrays["codes"].shape
    cb = rvq.codebooks.numpy()
    for i in range(N):
        v = inspect_position(arrays, 0, 1, i, cb)
        assert v.first_masked == 0 and v.states[0] in (NOW, MASKED)             # step 1: all was masked before
        assert len(v.residual_norms) == D + 1
        z = arrays["pred_sum"][0, 1, i].astype(np.float64)
        assert v.residual_norms[0] == pytest.approx(np.linalg.norm(z), rel=1e-6)
        last = inspect_position(arrays, T - 1, 1, i, cb)
        assert MASKED not in last.states and all(s is not None for s in last.revealed_at)
        assert list(last.codes) == arrays["codes"][-1, 1, i].tolist()               # the final tokens
        # the life strip: each depth is re-masked until its reveal step, kept there, known after it
        for j in range(D):
            r = last.revealed_at[j] - 1
            assert (last.life[:r, j] == LIFE_REMASKED).all() and last.life[r, j] == LIFE_KEPT
            assert (last.life[r + 1:, j] == LIFE_KNOWN).all()
            assert last.life_codes[r, j] == arrays["codes"][-1, 1, i, j]
        assert list(last.revealed_at) == sorted(last.revealed_at)                  # bottom-up within a position
        assert v.top_components[0][1] >= v.top_components[-1][1]
    mid = inspect_position(arrays, 2, 0, 3, cb)
    assert all((s == KNOWN) == (mid.revealed_at[j] is not None and mid.revealed_at[j] <= 2)
               for j, s in enumerate(mid.states))
    with pytest.raises(ValueError, match="within"):
        inspect_position(arrays, T, 0, 0, cb)
    old = {k: v for k, v in arrays.items() if k not in ("pred_sum", "top_components", "top_weights")}
    bare = inspect_position(old, 1, 0, 0, cb)                                   # an older trace file
    assert bare.residual_norms is None and bare.top_components is None


def test_slow_motion_tells_the_step_in_five_phases_from_the_trace():
    from app.inspector import slow_motion
    rvq, traces = _run()
    arrays = trace_arrays(traces)
    T, B, N, D = arrays["codes"].shape
    cb = rvq.codebooks.numpy()
    t = 2
    i = int(np.flatnonzero(arrays["revealed"][t, 0].any(-1))[0])             # a position that kept something
    v = inspect_position(arrays, t, 0, i, cb)
    text = slow_motion(v, arrays, 0)
    assert text.startswith(f"**Step {t + 1}/{T} in slow motion")
    assert [f"{k}. **" in text for k in range(1, 6)] == [True] * 5
    hidden, kept = int(arrays["mask"][t - 1, 0].sum()), int(arrays["revealed"][t, 0].sum())
    assert f"with {hidden} tokens hidden" in text and f"kept {kept} of the {hidden} hidden tokens" in text
    assert f"Drawn: #{v.component}" in text
    for j in range(v.first_masked, D):                                         # every re-quantised depth, its code
        assert f"depth {j + 1} takes code {v.codes[j]}" in text
    last = inspect_position(arrays, T - 1, 0, i, cb)
    if last.first_masked == D:
        assert "Every depth was known before this step" in slow_motion(last, arrays, 0)
