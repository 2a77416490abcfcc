"""The Image tab's guided tour: five steps through one run, each of which acts on the page (sets the step, picks a
position, the depth ladder, the token map's order, opens the method panel) and says what to look at."""
from __future__ import annotations

STEPS = 5


def tour_step(k: int, arrays: dict | None) -> tuple[int, str, dict]:
    """Tour step k (0 = not started; the button shows step k + 1) over the current run -> (the step now shown,
    its text, what to set: any of step, selected, depth, order, method (open the method panel))."""
    if k <= 0 or arrays is None:
        if arrays is None:
            return 1, ("**Tour 1/5: make a run.** Press **Generate**: the defaults make 8 images of the ticked class. "
                       "Then press **Tour: next** again."), {}
        k = 1
    T, _, N, D = arrays["codes"].shape
    mid = max(1, T // 2)
    pos = (N // 2) + int(N ** 0.5) // 2 if N >= 4 else 0          # a cell near the middle of the image
    if k == 1:
        return 2, (f"**Tour 2/5: the first step.** Step 1/{T}: nearly all {N * D} tokens are still masked (grey). "
                   "The caption counts the few the sampler kept (orange in the grid); the preview's right half is the "
                   "model's full guess from this one network call: already a blurry outline."), {"step": 1}
    if k == 2:
        return 3, (f"**Tour 3/5: one position.** Step {mid}/{T}, position {pos} selected (outlined). The inspector "
                   "lists its depths: which are known, the code each got and how sure the model was. Read the slow "
                   "motion under the table: the mixture, the drawn component, re-quantisation depth by depth, the "
                   "residual shrinking, and what was kept."), {"step": mid, "selected": pos}
    if k == 3:
        return 4, (f"**Tour 4/5: depth by depth.** The depth ladder now shows the final image from depth 1 only: "
                   f"coarse. Drag it to {D} to add detail. The token map is ordered by known depth: the white "
                   "waterline falls like a staircase, since a position's depths are revealed from depth 1 down."),\
            {"depth": 1, "order": "known depth"}
    return 0, (f"**Tour 5/5: why it is fast.** The panel *How ResGEN samples* (now open) explains the method with "
               f"this run's numbers: {N * D} tokens in {T} network calls, where a token-by-token model needs "
               f"{N * D}. Press **Play** to watch the run step by step. (Tour: next starts again.)"),\
        {"step": T, "method": True, "depth": 0, "order": "position"}
