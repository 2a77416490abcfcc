"""The masking-schedule plot of one run, fast enough to redraw on every step change.

The curves do not depend on the shown step, only the marker does. So matplotlib draws them once per run (the
background, kept in a small cache keyed by the mask's bytes), and each step change only paints the marker (a
dashed line and a dot) and the title onto a copy of that background with PIL: 2.6 ms a step on an idle 2-core CPU (a whole
matplotlib figure took 226 ms under cProfile with a training run beside it).
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

ORANGE = (255, 127, 14)          # matplotlib's tab:orange
TITLE_PT = 9
LABEL_BAND = 28                  # white rows on top: the app's image label sits there, not over the title
_CACHE: OrderedDict[tuple, "_Base"] = OrderedDict()
_CACHE_SIZE = 8                  # a few runs (tabs, images of one run); each entry is one ~0.4 MB RGB image


@dataclass(frozen=True)
class _Base:
    rgb: np.ndarray              # uint8 (H, W, 3): axes, curves, legend; no marker, no title
    x0: float                    # pixel column of step 0
    x_per_step: float            # pixel columns per step
    y0: float                    # pixel row of share 0
    y_per_unit: float            # pixel rows per unit of share (negative: up)
    title_xy: tuple[float, float]  # pixel centre of the title
    masked: np.ndarray           # (T+1,) share of all slots masked after each step (0 = before the first)
    known: np.ndarray            # (T,) slots revealed after each step
    total: int                   # N*D


def _base(mask: np.ndarray, width: int, height: int) -> _Base:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    T, N, D = mask.shape
    t = np.arange(0, T + 1)
    masked = np.concatenate([[1.0], mask.reshape(T, -1).mean(1)])
    per_depth = np.concatenate([np.zeros((1, D)), 1 - mask.mean(1)])            # (T+1, D)
    fig, ax = plt.subplots(figsize=(width / 100, height / 100), dpi=100)
    cmap = plt.get_cmap("viridis")
    for j in range(D):
        ax.plot(t, per_depth[:, j], lw=1, color=cmap(j / max(1, D - 1)),
                label=f"depth {j + 1} revealed" if j in (0, D - 1) else None)
    ax.plot(t, masked, lw=2.5, color="black", label="masked (all slots)")
    ax.set_title(_title(T, T, N * D, N * D), fontsize=TITLE_PT)     # the longest title: room for every step's
    ax.set_xlim(0, T)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("step")
    ax.set_ylabel("share of slots")
    ax.legend(loc="center right", fontsize=7, frameon=False)
    fig.tight_layout()
    fig.canvas.draw()
    H = fig.canvas.get_width_height()[1]
    bb = ax.title.get_window_extent()
    title_xy = ((bb.x0 + bb.x1) / 2, H - (bb.y0 + bb.y1) / 2)
    ax.title.set_text("")
    fig.canvas.draw()
    (ax0, ay0), (ax1, ay1) = ax.transData.transform([(0, 0), (T, 1)])           # display: origin bottom-left
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    known = (N * D - mask.reshape(T, -1).sum(1)).astype(int)
    return _Base(rgb, ax0, (ax1 - ax0) / T, H - ay0, -(ay1 - ay0), title_xy, masked, known, N * D)


def _title(step: int, T: int, known: int, total: int) -> str:
    return f"after step {step}/{T}: {known} of {total} slots revealed ({known / total:.0%})"


def _cached_base(mask: np.ndarray, width: int, height: int) -> _Base:
    key = (mask.shape, width, height, hashlib.blake2b(np.packbits(mask).tobytes(), digest_size=16).digest())
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    base = _CACHE[key] = _base(mask, width, height)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return base


def schedule_plot(mask: np.ndarray, step: int, width: int = 520, height: int = 260) -> np.ndarray:
    """The masking schedule of one sample: mask bool (T, N, D) after each step -> uint8 RGB
    (LABEL_BAND + height, width, 3).

    Thick line: share of all N*D slots still masked after each step. Thin lines: share of each depth's slots
    revealed so far (depth 1 is revealed first). The dashed line and the dot mark `step` (0-based), and the title
    gives the count of slots revealed by then.
    """
    from PIL import Image, ImageDraw, ImageFont
    from matplotlib import font_manager

    T = mask.shape[0]
    if not 0 <= step < T:
        raise ValueError(f"step {step} is outside the run's steps 0..{T - 1}")
    b = _cached_base(np.asarray(mask, bool), width, height)
    im = Image.fromarray(b.rgb.copy())
    draw = ImageDraw.Draw(im)
    x = b.x0 + (step + 1) * b.x_per_step
    top, bottom = b.y0 + 1.02 * b.y_per_unit, b.y0 - 0.02 * b.y_per_unit
    y = top
    while y < bottom:                                                   # dashed, as matplotlib's "--"
        draw.line([(x, y), (x, min(y + 7, bottom))], fill=ORANGE, width=2)
        y += 11
    yd = b.y0 + b.masked[step + 1] * b.y_per_unit
    draw.ellipse([x - 4, yd - 4, x + 4, yd + 4], fill=ORANGE)
    font = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), round(TITLE_PT * 100 / 72))
    draw.text(b.title_xy, _title(step + 1, T, int(b.known[step]), b.total), fill=ORANGE, font=font, anchor="mm")
    return np.pad(np.asarray(im), ((LABEL_BAND, 0), (0, 0), (0, 0)), constant_values=255)
