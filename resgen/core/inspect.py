"""One position of a sampling run, read off its trace: what the visualiser's position inspector shows.

For position i of sample b at step t (0-based) of a trace (resgen/core/trace.py):
- the state of every depth after the step: masked, revealed at this step, or known before it;
- the code each depth holds or was guessed at this step, and the confidence of the guess;
- the step at which each depth was revealed over the whole run;
- the residual norms as the drawn vector (the predicted sum of the masked embeddings) is re-quantised depth by
  depth: before the first masked depth and after each one, so each depth's shrinking share shows;
- the mixture's heaviest components and their weights, and the one drawn;
- the life of the position: for every step and depth, whether its guess was kept, re-masked, or already known.
The optional trace fields (pred_sum, top_components, top_weights) give the last two; without them those are None.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MASKED, NOW, KNOWN = "masked", "revealed now", "known"
LIFE_REMASKED, LIFE_KEPT, LIFE_KNOWN = 0, 1, 2          # the life strip's states


@dataclass(frozen=True)
class PositionView:
    step: int                          # 0-based
    position: int
    states: tuple[str, ...]            # (D,) MASKED / NOW / KNOWN after the step
    codes: tuple[int, ...]             # (D,) the code held (known) or guessed at this step
    confidence: tuple[float, ...]      # (D,) log-probability of the guess (component + codes up to the depth); NaN: known
    revealed_at: tuple[int | None, ...]  # (D,) 1-based step of the reveal; None: never in the run (a prompt)
    residual_norms: tuple[float, ...] | None   # norms before the first masked depth and after each masked depth
    first_masked: int                  # first depth (0-based) masked before the step; D: none
    component: int                     # mixture component drawn
    top_components: tuple[tuple[int, float], ...] | None   # (component, weight), heaviest first
    life: np.ndarray                   # (T, D) LIFE_* codes
    life_codes: np.ndarray             # (T, D) the code guessed (or held) at each step


def inspect_position(arrays: dict, step: int, sample: int, position: int,
                     codebooks: np.ndarray | None = None) -> PositionView:
    """arrays: a trace; codebooks (D, V, E) of the RVQ (for the residual norms) or None."""
    T, B, N, D = arrays["codes"].shape
    if not (0 <= step < T and 0 <= sample < B and 0 <= position < N):
        raise ValueError(f"step, sample, position must be within ({T}, {B}, {N}); got ({step}, {sample}, {position})")
    t, b, i = step, sample, position
    mask_after = arrays["mask"][t, b, i]                                          # (D,)
    now = arrays["revealed"][t, b, i]
    mask_before = mask_after | now
    states = tuple(NOW if now[j] else (MASKED if mask_after[j] else KNOWN) for j in range(D))
    guess = arrays["pred_codes"][t, b, i].astype(np.int64)
    codes = tuple(int(c) for c in np.where(mask_before, guess, arrays["codes"][t, b, i]))
    conf = arrays["confidence"][t, b, i].astype(np.float64)
    revealed = arrays["revealed"][:, b, i]                                        # (T, D)
    revealed_at = tuple(int(revealed[:, j].argmax()) + 1 if revealed[:, j].any() else None for j in range(D))
    first = int(np.argmax(mask_before)) if mask_before.any() else D
    norms = None
    if codebooks is not None and "pred_sum" in arrays and first < D:
        r = arrays["pred_sum"][t, b, i].astype(np.float64)
        norms = [float(np.linalg.norm(r))]
        for j in range(first, D):
            r = r - codebooks[j][guess[j]]
            norms.append(float(np.linalg.norm(r)))
        norms = tuple(norms)
    top = None
    if "top_components" in arrays:
        top = tuple((int(c), float(w)) for c, w in zip(arrays["top_components"][t, b, i], arrays["top_weights"][t, b, i]))
    before_all = np.concatenate([np.ones((1, D), bool), arrays["mask"][:-1, b, i]])  # (T, D) masked before each step
    life = np.where(~before_all, LIFE_KNOWN, np.where(revealed, LIFE_KEPT, LIFE_REMASKED)).astype(np.int8)
    life_codes = np.where(before_all, arrays["pred_codes"][:, b, i], arrays["codes"][:, b, i]).astype(np.int64)
    return PositionView(t, i, states, codes, tuple(float(c) for c in conf), revealed_at, norms, first,
                        int(arrays["component"][t, b, i]), top, life, life_codes)
