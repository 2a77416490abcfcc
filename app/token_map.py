"""The unrolled token map: every (position, depth) slot of one sample at one step as an SVG cell, depth 1 on top,
one column per position, with a hover text per cell and a click that selects the position (shown in gr.HTML).

Top-down masking keeps the known depths of a position on top of its masked ones, so the boundary between them is
a waterline; ordered by known depth, the columns show it falling step by step. Pure: numpy in, an SVG string out.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .render import MASKED, NOW, _confidence_colour

ORDERS = ("position", "known depth")
# Click and hover, attached once to the component's element (its innerHTML is replaced on every step).
JS = """
element.addEventListener('click', (e) => {
  const r = e.target.closest('[data-pos]');
  if (r) trigger('click', {pos: Number(r.dataset.pos)});
});
element.addEventListener('mouseover', (e) => {
  const r = e.target.closest('[data-pos]');
  const out = element.querySelector('.tm-read');
  if (r && out) out.textContent = r.querySelector('title').textContent;
});
"""
CSS = """
.tm-read { font: 12px monospace; min-height: 1.4em; margin: 2px 0 4px 0; color: var(--body-text-color); }
.tm-wrap { overflow-x: auto; }
svg rect[data-pos] { cursor: pointer; }
svg rect[data-pos]:hover { stroke: #fff; stroke-width: 1.5; }
"""


def _rgb(c) -> str:
    return f"rgb({int(c[0])},{int(c[1])},{int(c[2])})"


def slot_table(arrays: dict, step: int, sample: int, start: int = 0) -> dict[str, np.ndarray]:
    """What each target slot (positions start.., every depth) is after `step` (0-based), each (N, D):
    mask, now (revealed at this step), code (held, or this step's guess where masked), when (the step it was
    revealed, 0-based; -1 if still masked or known from the start), conf (log-prob of the held code at its
    reveal, or of the step's guess where masked; NaN where none was drawn)."""
    sl = np.s_[start:]
    mask = arrays["mask"][step, sample, sl]
    now = arrays["revealed"][step, sample, sl]
    rev = arrays["revealed"][: step + 1, sample, sl]                               # (t, N, D)
    ever = rev.any(0)
    when = np.where(ever, rev.argmax(0), -1)
    conf_at = np.take_along_axis(arrays["confidence"][: step + 1, sample, sl], np.clip(when, 0, None)[None], 0)[0]
    conf = np.where(mask, arrays["confidence"][step, sample, sl], np.where(ever, conf_at, np.nan))
    code = np.where(mask, arrays["pred_codes"][step, sample, sl], arrays["codes"][step, sample, sl])
    return {"mask": mask, "now": now, "code": code.astype(np.int64), "when": when, "conf": conf}


def cell_text(name: str, depth: int, s: dict, i: int, j: int, steps: int) -> str:
    """The hover text of slot (position i, depth j, 0-based) of a slot_table; name: the position's own words."""
    c, conf, when = int(s["code"][i, j]), float(s["conf"][i, j]), int(s["when"][i, j])
    sure = "" if math.isnan(conf) else f", confidence {math.exp(conf):.2f} (log-prob {conf:.2f})"
    if s["mask"][i, j]:
        state = f"masked: this step guessed code {c}{sure}, re-masked"
    elif s["now"][i, j]:
        state = f"revealed at this step ({when + 1}/{steps}): code {c}{sure}"
    elif when >= 0:
        state = f"code {c}, revealed at step {when + 1}/{steps}{sure}"
    else:
        state = f"code {c}, given (prompt)"
    return f"{name} · depth {j + 1}/{depth} · {state}"


def token_map_svg(arrays: dict, step: int, sample: int = 0, *, start: int = 0, selected: int | None = None,
                  order: str = "position", name: Callable[[int], str] = lambda i: f"position {i}",
                  ticks: Callable[[int], str | None] = lambda i: str(i) if i % 8 == 0 else None,
                  cell: int = 12, row: int = 12) -> str:
    """The map of one sample after `step` (0-based), target positions start.. (numbered from 0) -> SVG text.
    order: "position" (columns in position order) or "known depth" (most known depths first, then the earliest
    revealed); ticks(i) labels column positions on the axis (None: no label)."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
    s = slot_table(arrays, step, sample, start)
    N, D = s["mask"].shape
    steps = len(arrays["codes"])
    known = (~s["mask"]).sum(1)
    cols = np.arange(N)
    if order == "known depth":
        first = np.where(s["when"] >= 0, s["when"], steps).min(1)
        cols = np.lexsort((cols, first, -known))
    rgb = _confidence_colour(np.where(s["mask"], np.nan, s["conf"]))
    rgb[s["mask"]] = MASKED
    rgb[s["now"]] = NOW
    left, top, W, H = 28, 4, N * cell, D * row
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + W + 6}" height="{top + H + 20}" '
           f'font-family="sans-serif" font-size="10" role="img" aria-label="token map">',
           f'<rect x="{left}" y="{top}" width="{W}" height="{H}" fill="#141414"/>']
    for j in range(D):
        if row >= 9 or j in (0, D - 1):
            out.append(f'<text x="2" y="{top + j * row + row - 2}">d{j + 1}</text>')
    line = []
    for x, i in enumerate(cols):
        for j in range(D):
            out.append(f'<rect data-pos="{i}" x="{left + x * cell}" y="{top + j * row}" width="{cell - 1}" '
                       f'height="{row - 1}" fill="{_rgb(rgb[i, j])}"><title>{cell_text(name(int(i)), D, s, i, j, steps)}'
                       '</title></rect>')
        line += [f"{left + x * cell},{top + known[i] * row}", f"{left + (x + 1) * cell},{top + known[i] * row}"]
        label = ticks(int(i)) if order == "position" else None
        if label is not None:
            out.append(f'<text x="{left + x * cell}" y="{top + H + 12}">{label}</text>')
    out.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="#fff" stroke-width="1.5" '
               'pointer-events="none" class="waterline"/>')
    if selected is not None and 0 <= selected < N:
        x = int(np.flatnonzero(cols == selected)[0])
        out.append(f'<rect x="{left + x * cell - 1}" y="{top - 2}" width="{cell + 1}" height="{H + 3}" fill="none" '
                   'stroke="#ff2d95" stroke-width="2" pointer-events="none" class="selected"/>')
    axis = "position" if order == "position" else "positions, most known depths first"
    out.append(f'<text x="{left + W - 4}" y="{top + H + 12}" text-anchor="end" fill="#666">{axis}</text></svg>')
    return "".join(out)


def token_map_html(svg: str, caption: str) -> str:
    """The map with its hover read-out line above it (the element the JS fills) and a one-line key."""
    return (f'<div class="tm-read">Hover a cell for its values; click to inspect its position.</div>'
            f'<div class="tm-wrap">{svg}</div><div style="font-size:11px;color:#666">{caption}</div>')


def token_map_component(elem_id: str):
    """The gr.HTML that shows token_map_html, with the click and hover script (inside the current gr.Blocks)."""
    import gradio as gr
    return gr.HTML("", js_on_load=JS, css_template=CSS, elem_id=elem_id)
