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


def method_panel(arrays: dict, start: int = 0, guided: bool = True, voice: bool = False) -> str:
    """'How ResGEN samples', with this run's numbers (arrays: its trace; positions before `start` are a prompt;
    guided: CFG on the condition; voice: guidance on the prompt's voice too)."""
    T = len(arrays["codes"])
    mask = arrays["mask"][:, 0, start:]                                      # (T, N, D)
    N, D = mask.shape[1:]
    total = N * D
    left = [total] + [int(m.sum()) for m in mask]
    revealed = [left[t] - left[t + 1] for t in range(T)]
    first_depth = [int(r[:, 0].sum()) for r in arrays["revealed"][:, 0, start:]]
    d1_done = next((t + 1 for t in range(T) if not mask[t, :, 0].any()), T)
    rows = ["with and without the condition"] * guided + ["without the prompt's voice"] * voice
    calls = f"{T} network calls" + (f" (each one batch of {len(rows) + 1}: {', and '.join(rows)})" if rows else "")
    prompt = f" The {start} prompt positions are given and never masked." if start else ""
    return "\n".join([
        "**How ResGEN samples** (the numbers are this run's)",
        "",
        f"1. **Masking, top-down across depths.** Each of the N = {N} positions holds D = {D} RVQ tokens, depth 1 "
        f"coarse to depth {D} fine: N·D = {total} tokens. Training hides a random share of them, always the finest "
        f"depths of a position first; sampling starts with all {total} hidden.{prompt}",
        "2. **One prediction per position: the sum.** At every step the network reads the whole grid once and "
        "predicts, for each position, a mixture of Gaussians over the *sum* of the embeddings of its hidden depths: "
        "one vector per position, however many depths it still hides. The sampler draws a component and takes "
        "its mean.",
        "3. **Re-quantisation.** That vector is quantised depth by depth against the RVQ codebooks, from the first "
        "hidden depth down: each depth takes the nearest code and passes on the residual, which shrinks (the "
        "position inspector shows the residual norms).",
        "4. **Confidence-based reveal.** Each guessed token gets a confidence (the component's probability times "
        "its codes'); the most confident are kept, bottom-up within a position, and the rest are hidden again "
        f"and guessed anew next step. This run kept {', '.join(map(str, revealed))} tokens at steps 1..{T}; "
        f"depth 1 was complete after step {d1_done} ({', '.join(map(str, first_depth[:d1_done]))} depth-1 tokens "
        "a step).",
        f"5. **Why the steps do not grow with depth.** The schedule sets how many tokens stay hidden after each "
        f"step, not which depth comes next, so {total} tokens took {calls}. A token-by-token model needs one call "
        f"per token: {total} for this grid, and twice as many at depth {2 * D}; here the same {T} steps would do.",
    ])
