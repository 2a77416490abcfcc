"""The image tab: class-conditional generation, streamed step by step, and the step visualiser."""
from __future__ import annotations

import random
import tempfile
import time

import gradio as gr
import numpy as np

from . import render

MAX_IMAGES = 64


def _traces_to_arrays(traces) -> dict:
    keys = ("codes", "mask", "revealed", "confidence", "pred_codes")
    return {k: np.stack([getattr(t, k).cpu().numpy() for t in traces]) for k in keys}


def build_image_tab(get_pipeline, classes: list[str]):
    """get_pipeline() -> ImagePipeline (loaded lazily, cached by the caller)."""

    def generate(names, n, steps, cfg, temperature, top_p, seed, randomize):
        if not names:
            raise gr.Error("Pick at least one class.")
        n, steps = int(n), int(steps)
        if not 1 <= n <= MAX_IMAGES:
            raise gr.Error(f"Number of images must be between 1 and {MAX_IMAGES}.")
        seed = random.randrange(2**31) if randomize else int(seed)
        labels = [classes.index(names[i % len(names)]) for i in range(n)]
        pipe = get_pipeline()
        t0 = time.perf_counter()
        traces = []
        try:
            for tr in pipe.generate_steps(labels, steps=steps, cfg=cfg, temperature=temperature,
                                          top_p=top_p, seed=seed):
                traces.append(tr)
                guess = pipe.to_uint8(pipe.decode(tr.pred_codes))
                yield (None, f"step {tr.step + 1}/{steps}: {tr.masked} slots still masked", None,
                       gr.update(), render.upscale(guess[0], 8))
        except ValueError as e:
            raise gr.Error(str(e)) from None
        secs = time.perf_counter() - t0
        images = pipe.to_uint8(pipe.decode(traces[-1].codes))
        gallery = [(render.upscale(im, 4), classes[y]) for im, y in zip(images, labels)]
        info = (f"{n} images in {secs:.2f} s on {pipe.backend}; seed {seed}; {steps} steps, "
                f"{steps * (1 if cfg == 1 else 2)} denoiser calls; RVQ depth {pipe.depth}")
        arrays = _traces_to_arrays(traces)
        arrays["labels"] = np.array(labels)
        yield (gallery, info, arrays, gr.update(maximum=steps, value=steps), None)

    def show(arrays, step, sample, depth):
        if not arrays:
            return None, None, None
        pipe = get_pipeline()
        t = int(step) - 1
        b = min(int(sample), arrays["codes"].shape[1] - 1)
        grid = render.token_grid_2d(arrays, t, (pipe.grid, pipe.grid), b)
        import torch
        codes = torch.from_numpy(arrays["codes"][t, b:b + 1]).long()
        mask = torch.from_numpy(arrays["mask"][t, b:b + 1])
        pred = torch.from_numpy(arrays["pred_codes"][t, b:b + 1]).long()
        revealed = pipe.to_uint8(pipe.decode_partial(codes, mask))[0]
        guess = pipe.to_uint8(pipe.decode(pred))[0]
        final = torch.from_numpy(arrays["codes"][-1, b:b + 1]).long()
        ladder = [render.upscale(pipe.to_uint8(pipe.decode(final, d))[0], 4) for d in range(1, pipe.depth + 1)]
        preview = render.strip([render.upscale(revealed, 8), render.upscale(guess, 8)])
        return grid, preview, ladder[int(depth) - 1] if depth else render.strip(ladder)

    with gr.Blocks() as tab:
        with gr.Row():
            with gr.Column(scale=1):
                names = gr.CheckboxGroup(classes, value=[classes[7]], label="Classes (cycled over the images)")
                n = gr.Slider(1, MAX_IMAGES, value=8, step=1, label="Number of images")
                steps = gr.Slider(1, 64, value=16, step=1, label="Sampling steps T")
                cfg = gr.Slider(0, 10, value=3.0, step=0.5, label="CFG scale (1 = off)")
                temperature = gr.Slider(0, 5, value=1.0, step=0.1, label="Confidence noise temperature")
                top_p = gr.Slider(0.05, 1.0, value=0.9, step=0.05, label="Top-p over mixture components")
                with gr.Row():
                    seed = gr.Number(value=0, precision=0, label="Seed")
                    randomize = gr.Checkbox(value=False, label="Random seed")
                with gr.Row():
                    go = gr.Button("Generate", variant="primary", elem_id="image-generate")
                    stop = gr.Button("Stop", elem_id="image-stop")
            with gr.Column(scale=2):
                live = gr.Image(label="Current guess (first image)", elem_id="image-live", height=224)
                gallery = gr.Gallery(label="Samples", columns=8, elem_id="image-gallery")
                info = gr.Textbox(label="Run", elem_id="image-info")
        gr.Markdown("### Step by step\nThe 8x8 grid shows each latent cell as a stack of its RVQ depths "
                    "(depth 1 on top): grey = masked, orange = revealed at this step, blue = revealed "
                    "earlier (lighter = more confident). Preview: revealed tokens only | model's full guess.")
        arrays = gr.State(None)
        with gr.Row():
            step = gr.Slider(1, 16, value=16, step=1, label="Step", elem_id="image-step")
            sample = gr.Slider(0, MAX_IMAGES - 1, value=0, step=1, label="Image index")
            depth = gr.Slider(0, 16, value=0, step=1, label="Depth ladder: first d depths (0 = all)")
        with gr.Row():
            grid_img = gr.Image(label="Tokens: positions x depth", elem_id="image-grid")
            preview = gr.Image(label="Preview at this step", elem_id="image-preview")
            ladder = gr.Image(label="Final image from the first d depths", elem_id="image-ladder")
        ev = go.click(generate, [names, n, steps, cfg, temperature, top_p, seed, randomize],
                      [gallery, info, arrays, step, live], api_name="generate_image", concurrency_limit=2)
        ev.then(show, [arrays, step, sample, depth], [grid_img, preview, ladder])
        stop.click(None, None, None, cancels=[ev])
        for ctl in (step, sample, depth):
            ctl.change(show, [arrays, step, sample, depth], [grid_img, preview, ladder], api_name=False)
    return tab
