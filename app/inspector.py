"""The position inspector's views: which cell a click hit, a table of one position, its life strip (numpy), and
the panel that shows them (gradio, built inside a tab's Blocks)."""
from __future__ import annotations

import math

import numpy as np

from resgen.core.inspect import LIFE_KEPT, LIFE_KNOWN, PositionView

from .render import MASKED, NOW

KNOWN_RGB = np.array([80, 150, 220], np.uint8)
LIFE_RGB = {0: MASKED, LIFE_KEPT: NOW, LIFE_KNOWN: KNOWN_RGB}


def row_height(depth: int, cell: int = 48) -> int:
    """The pixel pitch of one grid row in render.token_grid_2d for this depth (bar * D + 4)."""
    return max(1, cell // depth) * depth + 4


def position_at_grid(x: int, y: int, grid: tuple[int, int], depth: int, cell: int = 48) -> int | None:
    """A click at pixel (x, y) of render.token_grid_2d(..., grid, cell) for a model of this depth -> position."""
    h, w = grid
    pitch = row_height(depth, cell)
    if x < 4 or y < 4:
        return None
    c, rx = divmod(x - 4, cell + 4)
    r, ry = divmod(y - 4, pitch)
    if rx >= cell or ry >= pitch - 4 or not (0 <= c < w and 0 <= r < h):
        return None
    return r * w + c


def position_at_matrix(x: int, positions: int, cell: int) -> int | None:
    """A click at pixel column x of render.token_matrix(..., cell) (one column per position) -> position."""
    p = x // cell
    return p if 0 <= p < positions else None


def inspector_markdown(v: PositionView, steps: int, label: str) -> str:
    """One position at one step as a Markdown table, one row per depth, with a line on the mixture."""
    D = len(v.states)
    lines = [f"**{label}, after step {v.step + 1}/{steps}**", "",
             "| depth | state | code | confidence (log-prob) | revealed at step | residual norm after |",
             "|---|---|---|---|---|---|"]
    for j in range(D):
        conf = "" if math.isnan(v.confidence[j]) else f"{v.confidence[j]:.2f}"
        at = "prompt" if v.revealed_at[j] is None else str(v.revealed_at[j])
        res = ""
        if v.residual_norms is not None and j >= v.first_masked:
            res = f"{v.residual_norms[j - v.first_masked + 1]:.3f}"
        lines.append(f"| {j + 1} | {v.states[j]} | {v.codes[j]} | {conf} | {at} | {res} |")
    if v.residual_norms is not None:
        lines += ["", f"The drawn vector (the predicted sum of the {D - v.first_masked} masked depths' embeddings) "
                      f"has norm {v.residual_norms[0]:.3f}; re-quantising it depth by depth leaves the residual "
                      "norms in the last column."]
    elif v.first_masked == D:
        lines += ["", "Every depth was known before this step: nothing was predicted here."]
    if v.top_components is not None:
        tops = ", ".join(f"#{c} {w:.2f}" for c, w in v.top_components)
        lines += ["", f"Mixture head: heaviest components {tops}; drawn: #{v.component}."]
    return "\n".join(lines)


def life_strip(v: PositionView, cell: int = 14) -> np.ndarray:
    """The life of one position: depth rows (depth 1 on top) x step columns; grey = guessed and re-masked,
    orange = revealed (kept) at that step, blue = known before it. -> uint8 RGB."""
    life = v.life                                                                  # (T, D)
    T, D = life.shape
    rgb = np.zeros((D, T, 3), np.uint8)
    for state, colour in LIFE_RGB.items():
        rgb[(life == state).T] = colour
    img = np.kron(rgb, np.ones((cell, cell, 1), np.uint8))
    img[::cell] = 20
    img[:, ::cell] = 20
    img[:, v.step * cell: (v.step + 1) * cell][[0, -1]] = 255                      # the current step's column
    img[:, [v.step * cell, (v.step + 1) * cell - 1]] = 255
    return img


LIFE_LEGEND = ("Life of this position: one row per depth (depth 1 on top), one column per step; grey = guessed and "
               "re-masked, orange = revealed (kept), blue = known; the framed column is this step. ")


def inspector_panel(prefix: str, click: str, view_label: str, view_legend: str):
    """The inspector's components inside the current gr.Blocks: -> (selected state, table, life strip, view).
    prefix names the element ids (prefix-inspector, prefix-life, `view_label`'s image: prefix-pos-view)."""
    import gradio as gr
    hint = f"Generate, then click {click} of the token grid."
    with gr.Accordion(f"Position inspector: click {click} of the token grid", open=True):
        selected = gr.State(0)
        md = gr.Markdown(hint, elem_id=f"{prefix}-inspector")
        with gr.Row():
            life = gr.Image(format="png", label="Life of this position", elem_id=f"{prefix}-life")
            view = gr.Image(format="png", label=view_label, elem_id=f"{prefix}-pos-view")
        gr.Markdown(LIFE_LEGEND + view_legend)
    return selected, md, life, view


def slow_motion(v: PositionView, arrays: dict, sample: int, start: int = 0) -> str:
    """One step at one position in numbered phases, from the trace: predict the mixture, pick a component,
    re-quantise depth by depth, score confidence, keep the most confident and re-mask the rest."""
    t, D = v.step, len(v.states)
    T = len(arrays["codes"])
    before = (arrays["mask"][t - 1, sample, start:] if t else np.ones_like(arrays["mask"][0, sample, start:]))
    hidden, kept = int(before.sum()), int(arrays["revealed"][t, sample, start:].sum())
    head = f"**Step {t + 1}/{T} in slow motion, at this position**"
    if v.first_masked == D:
        return f"{head}\n\nEvery depth was known before this step: the position only conditioned the others."
    f = v.first_masked
    tops = ", ".join(f"#{c} ({w:.2f})" for c, w in v.top_components) if v.top_components else "not in this trace"
    drawn = dict(v.top_components or ()).get(v.component)
    weight = f", weight {drawn:.2f}" if drawn is not None else ""
    norms = v.residual_norms
    quant = "; ".join(f"depth {j + 1} takes code {v.codes[j]}"
                      + (f" (residual {norms[j - f]:.3f} -> {norms[j - f + 1]:.3f})" if norms else "") for j in range(f, D))
    conf = ", ".join(f"{j + 1}: {v.confidence[j]:.2f}" for j in range(f, D) if not math.isnan(v.confidence[j]))
    now = [j + 1 for j in range(D) if v.states[j] == "revealed now"]
    again = [j + 1 for j in range(D) if v.states[j] == "masked"]
    keep = (f"depths {now[0]}-{now[-1]} kept" if len(now) > 1 else f"depth {now[0]} kept") if now else "nothing kept"
    rest = f"; depths {again[0]}-{again[-1]} hidden again, to be guessed anew next step" if again else ""
    return "\n".join([
        head, "",
        f"1. **Predict the mixture.** The network read the grid with {hidden} tokens hidden and gave this position a "
        f"mixture over the sum of its {D - f} hidden depths' embeddings (depths {f + 1}-{D}); heaviest components: "
        f"{tops}.",
        f"2. **Pick a component.** Drawn: #{v.component}{weight}; its mean is the predicted sum"
        + (f" (norm {norms[0]:.3f})." if norms else "."),
        f"3. **Re-quantise depth by depth.** {quant}.",
        f"4. **Score confidence** (log-prob of the component and the codes up to each depth): {conf}.",
        f"5. **Keep the most confident, re-mask the rest.** Over the whole {'utterance' if start else 'image'} this "
        f"step kept {kept} of the {hidden} hidden tokens; here {keep}{rest}.",
    ])
