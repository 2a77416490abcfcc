"""Pure rendering of traces: numpy arrays in, uint8 RGB images out. No gradio, no torch."""
from __future__ import annotations

import numpy as np

MASKED = np.array([48, 48, 56], np.uint8)
NOW = np.array([255, 140, 0], np.uint8)          # revealed at the shown step
LO, HI = np.array([40, 70, 140], float), np.array([120, 220, 255], float)  # earlier, by confidence


def _confidence_colour(conf: np.ndarray) -> np.ndarray:
    """Confidences (log-probs, <= 0) -> colours from dark (unsure) to light (sure)."""
    c = np.nan_to_num(conf, nan=0.0)
    x = np.clip(1 + c / 8.0, 0, 1)[..., None]      # log-prob -8 or lower -> darkest
    return (LO + x * (HI - LO)).astype(np.uint8)


def slot_states(arrays: dict, step: int, sample: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> (masked, revealed_now, confidence at reveal) each (N, D) for one sample after `step`."""
    mask = arrays["mask"][step, sample]
    now = arrays["revealed"][step, sample]
    revealed_any = arrays["revealed"][: step + 1, sample]                         # (t, N, D)
    conf_all = arrays["confidence"][: step + 1, sample]
    when = np.where(revealed_any.any(0), revealed_any.argmax(0), -1)              # step of reveal
    conf = np.take_along_axis(conf_all, np.clip(when, 0, None)[None], 0)[0]
    return mask, now, np.where(when >= 0, conf, np.nan)


def outline(img: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> None:
    """A white 2-pixel frame around rows y0..y1-1, columns x0..x1-1 (clipped to the image), in place."""
    H, W = img.shape[:2]
    y0, y1, x0, x1 = max(0, y0), min(H, y1), max(0, x0), min(W, x1)
    img[y0:y0 + 2, x0:x1] = img[y1 - 2:y1, x0:x1] = 255
    img[y0:y1, x0:x0 + 2] = img[y0:y1, x1 - 2:x1] = 255


def token_matrix(arrays: dict, step: int, sample: int = 0, cell: int = 10, selected: int | None = None,
                 cell_h: int | None = None) -> np.ndarray:
    """D rows (depth 1 at the top, cell_h pixels each; default cell) x N columns (positions, cell pixels each):
    masked / revealed now / earlier; the selected position's column outlined."""
    mask, now, conf = slot_states(arrays, step, sample)
    rgb = _confidence_colour(conf)                                               # (N, D, 3)
    rgb[mask] = MASKED
    rgb[now] = NOW
    img = rgb.transpose(1, 0, 2)                                                  # (D, N, 3)
    ch = cell_h or cell
    img = np.kron(img, np.ones((ch, cell, 1), np.uint8))
    img[::ch] = 20
    img[:, ::cell] = 20
    if selected is not None:
        outline(img, 0, img.shape[0], selected * cell - 1, (selected + 1) * cell + 2)
    return img


def token_grid_2d(arrays: dict, step: int, grid: tuple[int, int], sample: int = 0, cell: int = 48,
                  selected: int | None = None) -> np.ndarray:
    """Spatial view for images: each latent cell is a stack of D bars (depth 1 at the top); the selected
    position outlined."""
    mask, now, conf = slot_states(arrays, step, sample)
    N, D = mask.shape
    rgb = _confidence_colour(conf)
    rgb[mask] = MASKED
    rgb[now] = NOW
    h, w = grid
    bar = max(1, cell // D)
    out = np.full((h * (bar * D + 4) + 4, w * (cell + 4) + 4, 3), 20, np.uint8)
    for i in range(N):
        r, c = divmod(i, w)
        y0, x0 = 4 + r * (bar * D + 4), 4 + c * (cell + 4)
        for j in range(D):
            out[y0 + j * bar: y0 + (j + 1) * bar - (1 if bar > 2 else 0), x0: x0 + cell] = rgb[i, j]
    if selected is not None:
        r, c = divmod(selected, w)
        y0, x0 = 4 + r * (bar * D + 4), 4 + c * (cell + 4)
        outline(out, y0 - 2, y0 + bar * D + 2, x0 - 2, x0 + cell + 2)
    return out


def upscale(img: np.ndarray, factor: int = 8) -> np.ndarray:
    """uint8 grey (H, W) or colour (H, W, 3) -> uint8 (H*f, W*f, 3), nearest."""
    g = img.repeat(factor, 0).repeat(factor, 1)
    return g if g.ndim == 3 else np.repeat(g[..., None], 3, -1)


def strip(images: list[np.ndarray], pad: int = 4) -> np.ndarray:
    """Same-size uint8 RGB images side by side."""
    h = max(i.shape[0] for i in images)
    parts = []
    for im in images:
        parts += [im, np.full((h, pad, 3), 255, np.uint8)]
    return np.concatenate(parts[:-1], 1)


def tile(images: np.ndarray, cols: int = 8, pad: int = 2) -> np.ndarray:
    """uint8 (B, H, W) greys or (B, H, W, 3) colours -> one uint8 (rows*(H+pad)+pad, cols*(W+pad)+pad[, 3]) mosaic."""
    B, H, W = images.shape[:3]
    cols = max(1, min(cols, B))
    rows = -(-B // cols)
    out = np.full((rows * (H + pad) + pad, cols * (W + pad) + pad) + images.shape[3:], 255, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        out[pad + r * (H + pad): pad + r * (H + pad) + H, pad + c * (W + pad): pad + c * (W + pad) + W] = im
    return out


def _to_rgb(fig) -> np.ndarray:
    """A matplotlib figure -> uint8 RGB array; the figure is closed."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return img


def save_gif(frames: list[np.ndarray], path, ms: int = 250, hold_ms: int = 1500) -> None:
    """uint8 frames (H, W) or (H, W, 3) -> an animated GIF that loops, holding the last frame."""
    from PIL import Image
    ims = [Image.fromarray(f) for f in frames]
    ims[0].save(path, save_all=True, append_images=ims[1:], loop=0,
                duration=[ms] * (len(ims) - 1) + [hold_ms])


def mel_image(mel: np.ndarray, height_scale: int = 2, width_scale: int = 2, lo: float = -11.5, hi: float = 2.0) -> np.ndarray:
    """log-mel (80, F) -> uint8 RGB (80*h, F*w, 3), low frequencies at the bottom (magma colours)."""
    import matplotlib
    x = np.clip((np.asarray(mel, dtype=np.float32) - lo) / (hi - lo), 0, 1)[::-1]
    rgb = (matplotlib.colormaps["magma"](x)[..., :3] * 255).astype(np.uint8)
    return np.repeat(np.repeat(rgb, height_scale, 0), width_scale, 1)


def progress_plot(curves: list[tuple[str, np.ndarray, np.ndarray]], marks: list[int] | None = None,
                  width: int = 620, height: int = 240) -> np.ndarray:
    """Share of slots known against network calls, one line per run -> RGB image.

    curves: (name, calls (F,), share (F,)) with calls counted at the end of each frame; marks: the
    call count shown now for each curve (dashed, same colour)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width / 100, height / 100), dpi=100)
    colours = ["tab:blue", "tab:red", "tab:green", "tab:purple"]
    for i, (name, calls, share) in enumerate(curves):
        c = colours[i % len(colours)]
        ax.step(np.concatenate([[0], calls]), np.concatenate([[0.0], share]), where="post", color=c, lw=2,
                label=f"{name}: {int(calls[-1])} calls")
        if marks is not None and i < len(marks):
            ax.axvline(marks[i], color=c, ls="--", lw=1)
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlim(0, 1.1 * max(int(calls[-1]) for _, calls, _ in curves))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("network calls (log scale)")
    ax.set_ylabel("share of tokens known")
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    return _to_rgb(fig)


def _font(size: int = 11):
    from PIL import ImageFont
    return ImageFont.load_default(size=size)


def legend_bar(width: int) -> np.ndarray:
    """The token grids' colour key as an RGB strip `width` wide: masked, revealed at this step, and revealed
    earlier as a colour bar from unsure (log-prob -8 or lower) to sure (0)."""
    from PIL import Image, ImageDraw
    width = max(width, 430)
    im = Image.new("RGB", (width, 40), (255, 255, 255))
    d = ImageDraw.Draw(im)
    f = _font()
    d.rectangle([4, 6, 18, 20], fill=tuple(int(v) for v in MASKED))
    d.text((22, 6), "masked", fill=(0, 0, 0), font=f)
    d.rectangle([80, 6, 94, 20], fill=tuple(int(v) for v in NOW))
    d.text((98, 6), "revealed at this step", fill=(0, 0, 0), font=f)
    x0 = 230
    bar = _confidence_colour(np.linspace(-8, 0, 120)[:, None])[:, 0]            # (120, 3)
    for k, c in enumerate(bar):
        d.line([x0 + k, 6, x0 + k, 20], fill=tuple(int(v) for v in c))
    d.text((x0, 23), "earlier: confidence -8", fill=(0, 0, 0), font=f)
    d.text((x0 + 124, 6), "0 (log-prob)", fill=(0, 0, 0), font=f)
    return np.asarray(im)


def annotate_grid(img: np.ndarray, grid: tuple[int, int], depth: int, cell: int = 48) -> np.ndarray:
    """token_grid_2d's image with column numbers below, row numbers on the right and the colour key under it.
    The grid keeps its top-left origin, so a click maps to the same pixel of the bare grid."""
    from PIL import Image, ImageDraw
    h, w = grid
    pitch = max(1, cell // depth) * depth + 4
    H, W = img.shape[:2]
    im = Image.new("RGB", (W + 36, H + 18), (255, 255, 255))
    im.paste(Image.fromarray(img), (0, 0))
    d = ImageDraw.Draw(im)
    f = _font()
    for c in range(w):
        d.text((4 + c * (cell + 4) + cell // 2 - 4, H + 2), str(c), fill=(0, 0, 0), font=f)
    for r in range(h):
        d.text((W + 4, 4 + r * pitch + pitch // 2 - 8), f"r{r}", fill=(0, 0, 0), font=f)
    d.text((W + 2, H + 2), "col", fill=(90, 90, 90), font=f)
    top = np.asarray(im)
    key = legend_bar(top.shape[1])
    return _stack(top, key)


def annotate_matrix(img: np.ndarray, positions: int, depth: int, cell: int, seconds_per_position: float) -> np.ndarray:
    """token_matrix's image with depth labels on the right, time ticks (s) below every 10 positions and the key."""
    from PIL import Image, ImageDraw
    H, W = img.shape[:2]
    row = H // depth
    im = Image.new("RGB", (W + 40, H + 18), (255, 255, 255))
    im.paste(Image.fromarray(img), (0, 0))
    d = ImageDraw.Draw(im)
    f = _font(10)
    for j in range(depth):
        if row >= 9 or j in (0, depth - 1):
            d.text((W + 3, j * row + max(0, row // 2 - 6)), f"d{j + 1}", fill=(0, 0, 0), font=f)
    for p in range(0, positions, 10):
        d.line([p * cell, H, p * cell, H + 4], fill=(0, 0, 0))
        d.text((p * cell + 2, H + 3), f"{p * seconds_per_position:.1f}s", fill=(0, 0, 0), font=f)
    return _stack(np.asarray(im), legend_bar(W + 40))


def _stack(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Two RGB images one above the other, left-aligned, padded white to the wider."""
    W = max(top.shape[1], bottom.shape[1])
    pad = lambda a: np.concatenate([a, np.full((a.shape[0], W - a.shape[1], 3), 255, np.uint8)], 1)  # noqa: E731
    return np.concatenate([pad(top), pad(bottom)], 0)
