"""One line of plain words per sampling step, read off the trace (the visualiser's caption)."""
from __future__ import annotations

import numpy as np


def step_caption(arrays: dict, step: int, sample: int = 0, start: int = 0) -> str:
    """arrays: a trace (resgen/core/trace.py); step 0-based; positions before `start` (a speech prompt) are left out.

    -> e.g. "Step 5/16: 37 tokens revealed at 30 of 64 positions (depth 1: 28, depth 2: 9); 412 of 512 still
    masked; 0 positions complete, 12 untouched; mean confidence of the revealed 0.42"."""
    T = len(arrays["codes"])
    t = min(max(int(step), 0), T - 1)
    revealed = arrays["revealed"][t, sample, start:]                     # (N, D)
    mask = arrays["mask"][t, sample, start:]
    N, D = mask.shape
    new = int(revealed.sum())
    at = int(revealed.any(-1).sum())
    per_depth = revealed.sum(0)
    depths = ", ".join(f"depth {j + 1}: {int(c)}" for j, c in enumerate(per_depth) if c)
    whole = int(revealed.all(-1).sum())
    how = f" (all {D} depths each)" if new and whole == at and new == at * D else (f" ({depths})" if depths else "")
    conf = arrays["confidence"][t, sample, start:][revealed]
    mean_p = f"; mean confidence of the revealed {float(np.exp(conf).mean()):.2f}" if new else ""
    return (f"Step {t + 1}/{T}: {new} tokens revealed at {at} of {N} positions{how}; "
            f"{int(mask.sum())} of {N * D} still masked; {int((~mask).all(-1).sum())} positions complete, "
            f"{int(mask.all(-1).sum())} untouched{mean_p}")
