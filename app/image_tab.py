"""The image tab: class-conditional generation, streamed step by step, and the step visualiser."""
from __future__ import annotations

import random
import tempfile
import time
import warnings
from pathlib import Path

import gradio as gr
import numpy as np

from . import render
from .captions import method_panel, step_caption
from .schedule_plot import schedule_plot
from .exports import trace_file
from .help import IMAGE_GUIDE, INFO
from .inspector import inspector_markdown, inspector_panel, life_strip, slow_motion, position_at_grid
from .token_map import ORDERS, token_map_component, token_map_html, token_map_svg
from .image_models import default_class, model_label, zoom
from .tour import tour_step

MAX_IMAGES = 64
BACKENDS = ["auto", "onnx", "torch"]

def build_image_tab(get_pipeline, models: dict, backend_default: str = "auto"):
    """get_pipeline(model, backend) -> ImagePipeline (loaded lazily, cached by the caller); models: {label:
    {"classes": [...], "defaults": the model's sampler defaults (steps, cfg, temperature, top_p)}}, the first is
    shown first (a model picker appears when there are several)."""
    first = next(iter(models))
    classes, defaults = models[first]["classes"], models[first]["defaults"]

    def load(backend, model=None):
        if backend not in BACKENDS:
            raise gr.Error(f"Unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}.")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                pipe = get_pipeline(model or first, backend)
            except Exception as e:                      # missing or stale model files: a message
                raise gr.Error(f"Could not load the image model: {e}") from None
        for w in caught:
            gr.Warning(str(w.message))
        return pipe

    def run_pipe(arrays):
        """The pipeline that made a run (its model and backend)."""
        return load(arrays["meta"]["_backend_choice"], arrays["meta"].get("model"))

    def pick_model(model):
        if model not in models:
            raise gr.Error(f"Unknown model {model!r}; choose one of: {', '.join(models)}.")
        m = models[model]
        d = m["defaults"]
        return (gr.update(choices=m["classes"], value=[default_class(m["classes"])]), gr.update(value=d["steps"]),
                gr.update(value=d["cfg"]), gr.update(value=d["temperature"]), gr.update(value=d["top_p"]))

    def generate(names, n, steps, cfg, temperature, top_p, seed, randomize, backend, model=None):
        label = model_label(model, models) if model else first      # a label, or a name such as "emoji"
        if label is None:
            raise gr.Error(f"Unknown model {model!r}; choose one of: {', '.join(models)}.")
        model = label
        classes = models[model]["classes"]
        if not names:
            raise gr.Error("Pick at least one class.")
        lower = [c.lower() for c in classes]                          # class names match in any case
        unknown = [x for x in names if str(x).strip().lower() not in lower]
        if unknown:
            raise gr.Error(f"Unknown class {unknown[0]!r}; choose from: {', '.join(classes)}.")
        names = [classes[lower.index(str(x).strip().lower())] for x in names]
        try:
            n, steps, seed = int(n), int(steps), int(seed or 0)
        except (TypeError, ValueError):
            raise gr.Error("Number of images, steps and seed must be whole numbers.") from None
        if not 1 <= n <= MAX_IMAGES:
            raise gr.Error(f"Number of images must be between 1 and {MAX_IMAGES}.")
        if not 0 <= seed < 2**31:
            raise gr.Error("Seed must be between 0 and 2147483647.")
        seed = random.randrange(2**31) if randomize else seed
        labels = [classes.index(names[i % len(names)]) for i in range(n)]
        pipe = load(backend, model)
        try:                                            # bad settings raise here, before any work
            it = pipe.generate_steps(labels, steps=steps, cfg=cfg, temperature=temperature, top_p=top_p, seed=seed)
        except ValueError as e:
            raise gr.Error(str(e)) from None
        t0 = time.perf_counter()
        traces = []
        for tr in it:
            traces.append(tr)
            guess = pipe.to_uint8(pipe.decode(tr.pred_codes[:1]))
            yield (None, f"step {tr.step + 1}/{steps}: {tr.masked} of {tr.mask[0].numel()} slots still masked",
                   None, gr.update(), render.upscale(guess[0], zoom(guess.shape[1])), gr.update())
        secs = time.perf_counter() - t0
        images = pipe.to_uint8(pipe.decode(traces[-1].codes))
        gallery = [(render.upscale(im, zoom(im.shape[0]) // 2), classes[y]) for im, y in zip(images, labels)]
        pair = f" (each a batch of 2 x {n}: with and without the class)" if cfg != 1 else ""
        info = (f"{n} images in {secs:.2f} s on {pipe.backend}; seed {seed}; {steps} steps, "
                f"{steps} denoiser calls{pair}; CFG {cfg:g}, temperature {temperature:g}, top-p {top_p:g}, "
                f"mixture temperature {pipe.defaults.pi_temperature:g} (model default); "
                f"RVQ depth {pipe.depth}; model {model}")
        from resgen.core.trace import trace_arrays
        arrays = trace_arrays(traces)
        arrays["meta"] = {"task": "image", "model": model, "labels": labels, "classes": classes, "seed": seed,
                          "steps": steps,
                          "cfg": cfg, "temperature": temperature, "top_p": top_p,
                          "pi_temperature": pipe.defaults.pi_temperature, "backend": pipe.backend,
                          "grid": [pipe.grid, pipe.grid], "depth": pipe.depth,
                          "codebook_size": pipe.codebook_size, "_backend_choice": backend}
        yield (gallery, info, arrays, gr.update(maximum=steps, value=steps), gr.update(),
               gr.update(maximum=max(n - 1, 1), value=0, interactive=n > 1))      # the index runs over the n made

    def _need(arrays):
        if not arrays:
            raise gr.Error("Generate images first.")

    def show(arrays, step, sample, depth, selected=None):
        if not arrays:
            return None, None, None, None, ""
        import torch
        pipe = run_pipe(arrays)
        T, B = arrays["codes"].shape[:2]
        t = min(max(int(step), 1), T) - 1
        b = min(max(int(sample), 0), B - 1)
        grid = render.annotate_grid(render.token_grid_2d(arrays, t, (pipe.grid, pipe.grid), b, selected=selected),
                                    (pipe.grid, pipe.grid), pipe.depth)
        codes = torch.from_numpy(arrays["codes"][t, b:b + 1].astype(np.int64))
        mask = torch.from_numpy(arrays["mask"][t, b:b + 1])
        pred = torch.from_numpy(arrays["pred_codes"][t, b:b + 1].astype(np.int64))
        revealed = pipe.to_uint8(pipe.decode_partial(codes, mask))[0]
        guess = pipe.to_uint8(pipe.decode(pred))[0]
        final = torch.from_numpy(arrays["codes"][-1, b:b + 1].astype(np.int64))
        d, z = int(depth), zoom(revealed.shape[0])
        if d:
            ladder = render.upscale(pipe.to_uint8(pipe.decode(final, min(d, pipe.depth)))[0], z)
        else:
            ladder = render.strip([render.upscale(pipe.to_uint8(pipe.decode(final, k))[0], max(1, round(3 * z / 8)))
                                   for k in range(1, pipe.depth + 1)])
        preview = render.strip([render.upscale(revealed, z), render.upscale(guess, z)])
        return grid, preview, ladder, schedule_plot(arrays["mask"][:, b], t), step_caption(arrays, t, b)

    def show_map(arrays, step, sample, selected, order):
        """The unrolled token map (positions x depth, hover text per cell) of one image at one step."""
        if not arrays:
            return ""
        T, B = arrays["codes"].shape[:2]
        t, b = min(max(int(step), 1), T) - 1, min(max(int(sample), 0), B - 1)
        w = arrays["meta"]["grid"][1]
        svg = token_map_svg(arrays, t, b, selected=selected, order=order,
                            name=lambda i: f"position {i} (row {i // w}, column {i % w})")
        return token_map_html(svg, "One column per position (row-major), depth 1 on top, colours as in the grid; "
                                   "the white line is the waterline: known depths above it, masked below.")

    def inspect(arrays, step, sample, position):
        """The position inspector: a table of the position at this step, its life strip, and the patch of the
        step's full guess decoded from its first d depths, d = 1..D."""
        if not arrays:
            return "Generate, then click a cell of the token grid.", None, None
        import torch

        from resgen.core.inspect import inspect_position
        pipe = run_pipe(arrays)
        T, B, N = arrays["codes"].shape[:3]
        t, b = min(max(int(step), 1), T) - 1, min(max(int(sample), 0), B - 1)
        i = min(max(int(position), 0), N - 1)
        v = inspect_position(arrays, t, b, i, pipe.tokenizer.rvq.codebooks.cpu().numpy())
        r, c = divmod(i, pipe.grid)
        md = inspector_markdown(v, T, f"Image {b}, position {i} (row {r}, column {c})")
        md += "\n\n" + slow_motion(v, arrays, b)
        pred = torch.from_numpy(arrays["pred_codes"][t, b:b + 1].astype(np.int64))
        size = pipe.to_uint8(pipe.decode(pred, 1))[0].shape[0]
        s = size // pipe.grid                                              # pixels per latent cell
        y0, y1 = max(0, (r - 1) * s), min(size, (r + 2) * s)              # the cell with one cell around it
        x0, x1 = max(0, (c - 1) * s), min(size, (c + 2) * s)
        crops, z = [], max(1, 24 // s)                                     # 8 for Fashion-MNIST's 3-pixel cells
        for d in range(1, pipe.depth + 1):
            im = render.upscale(pipe.to_uint8(pipe.decode(pred, d))[0][y0:y1, x0:x1], z)
            yy, xx = (r * s - y0) * z, (c * s - x0) * z
            render.outline(im, yy, yy + s * z, xx, xx + s * z)
            crops.append(im)
        return md, life_strip(v), render.strip(crops)

    def select_cell(arrays, step, sample, depth, order, evt: gr.SelectData):
        """A click on the token grid selects the position under it (a click between cells keeps the last)."""
        if not arrays or evt.index is None:
            return (gr.update(),) * 6
        pipe = run_pipe(arrays)
        x, y = evt.index[:2]
        i = position_at_grid(int(x), int(y), (pipe.grid, pipe.grid), pipe.depth)
        if i is None:
            return (gr.update(),) * 6
        md, life, patches = inspect(arrays, step, sample, i)
        return i, show(arrays, step, sample, depth, i)[0], show_map(arrays, step, sample, i, order), md, life, patches

    def pick_on_map(arrays, step, sample, depth, order, evt: gr.EventData):
        """A click on the token map selects the position of the cell under it."""
        i = getattr(evt, "pos", None)
        if not arrays or i is None:
            return (gr.update(),) * 6
        md, life, patches = inspect(arrays, step, sample, int(i))
        return (int(i), show(arrays, step, sample, depth, int(i))[0], show_map(arrays, step, sample, int(i), order),
                md, life, patches)

    def step_views(arrays, step, sample, depth, selected, order):
        """Everything that follows the step: the views, the inspector and the token map, in one event."""
        return (*show(arrays, step, sample, depth, selected), *inspect(arrays, step, sample, selected),
                show_map(arrays, step, sample, selected, order))

    def export_gif(arrays):
        _need(arrays)
        import torch
        pipe = run_pipe(arrays)
        T, B = arrays["codes"].shape[:2]
        frames = []
        for t in range(T):
            codes = torch.from_numpy(arrays["codes"][t].astype(np.int64))
            imgs = pipe.to_uint8(pipe.decode_partial(codes, torch.from_numpy(arrays["mask"][t])))
            k = 3 if imgs.shape[1] <= 32 else 1
            frames.append(render.tile(imgs).repeat(k, 0).repeat(k, 1))
        path = Path(tempfile.mkdtemp(prefix="resgen-")) / f"resgen-image-seed{arrays['meta']['seed']}.gif"
        render.save_gif(frames, path)
        return str(path)

    def export_trace(arrays):
        _need(arrays)
        return trace_file(arrays, "image")

    def tour(k, arrays):
        k, text, act = tour_step(int(k), arrays)
        u = lambda key: gr.update(value=act[key]) if key in act else gr.update()        # noqa: E731
        return (k, text, u("step"), act.get("selected", gr.update()), u("depth"), u("order"),
                gr.update(open=True) if act.get("method") else gr.update())

    def advance(arrays, step):
        if not arrays:
            return gr.update()
        return int(step) % len(arrays["codes"]) + 1

    with gr.Blocks() as tab:
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                model = gr.Radio(list(models), value=first, label="Model", info=INFO["model"],
                                 visible=len(models) > 1, elem_id="image-model")
                names = gr.CheckboxGroup(classes, value=[default_class(classes)], label="Classes",
                                         info=INFO["classes"], elem_id="image-classes")
                n = gr.Slider(1, MAX_IMAGES, value=8, step=1, label="Number of images", info=INFO["n"],
                              elem_id="image-n")
                steps = gr.Slider(1, 64, value=defaults["steps"], step=1, label="Sampling steps T", info=INFO["steps"],
                                  elem_id="image-steps")
                with gr.Row():
                    go = gr.Button("Generate", variant="primary", elem_id="image-generate")
                    stop = gr.Button("Stop", elem_id="image-stop")
                with gr.Accordion("More settings: CFG, temperature, top-p, seed, backend", open=False,
                                  elem_id="image-settings"):
                    cfg = gr.Slider(0, 10, value=defaults["cfg"], step=0.25, label="CFG scale (1 = off)",
                                    info=INFO["cfg"])
                    temperature = gr.Slider(0, 5, value=defaults["temperature"], step=0.1,
                                            label="Confidence noise temperature", info=INFO["temperature"])
                    top_p = gr.Slider(0.05, 1.0, value=defaults["top_p"], step=0.05,
                                      label="Top-p over mixture components", info=INFO["top_p"])
                    with gr.Row():
                        seed = gr.Number(value=0, precision=0, label="Seed", info=INFO["seed"], elem_id="image-seed")
                        randomize = gr.Checkbox(value=False, label="Random seed", info=INFO["randomize"])
                    backend = gr.Dropdown(BACKENDS, value=backend_default, label="Backend", info=INFO["backend"],
                                          elem_id="image-backend")
            with gr.Column(scale=2):
                with gr.Row():
                    live = gr.Image(format="png", label="Current guess (first image)", elem_id="image-live", height=200, scale=1)
                    info = gr.Textbox(label="Run", elem_id="image-info", lines=5, scale=2)
                gallery = gr.Gallery(label="Samples", columns=8, height=250, elem_id="image-gallery")
        gr.Markdown(IMAGE_GUIDE)
        arrays = gr.State(None)
        timer = gr.Timer(0.7, active=False)
        with gr.Row():
            step = gr.Slider(1, 16, value=16, step=1, label="Step", info=INFO["step"], elem_id="image-step")
            sample = gr.Slider(0, 7, value=0, step=1, label="Image index (of the images made)", info=INFO["sample"],
                               elem_id="image-sample")
            depth = gr.Slider(0, 16, value=0, step=1, label="Depth ladder: first d depths", info=INFO["depth"],
                              elem_id="image-depth")
            with gr.Column(min_width=120):
                play = gr.Button("Play", elem_id="image-play", size="sm")
                pause = gr.Button("Pause", elem_id="image-pause", size="sm")
        with gr.Row():
            tour_btn = gr.Button("Tour: next", elem_id="image-tour-btn", scale=0, min_width=140, size="sm")
            tour_md = gr.Markdown("New here? **Tour: next** walks you through one run in five steps.",
                                  elem_id="image-tour")
        tour_k = gr.State(0)
        with gr.Accordion("How ResGEN samples", open=False) as method_box:
            method = gr.Markdown("Generate first: the panel explains the method with the run's own numbers.",
                                 elem_id="image-method")
        caption = gr.Markdown("", elem_id="image-caption")
        with gr.Row():
            grid_img = gr.Image(format="png", label="Tokens: positions x depth", elem_id="image-grid")
            preview = gr.Image(format="png", label="Preview at this step: revealed | full guess", elem_id="image-preview")
        with gr.Row():
            tmap = token_map_component("image-map")
            order = gr.Radio(list(ORDERS), value="position", label="Token map: columns in order of",
                             info=INFO["order"], elem_id="image-map-order", scale=0, min_width=220)
        selected, insp_md, insp_life, insp_patch = inspector_panel(
            "image", "a cell", "Its patch from depths 1..d",
            "Patch: this step's full guess around the position (outlined), decoded from its first d depths, "
            "d = 1 .. D from left to right.")
        with gr.Row():
            ladder = gr.Image(format="png", label="Depth ladder", elem_id="image-ladder")
            schedule = gr.Image(format="png", label="Masking schedule (dashed: this step)", elem_id="image-schedule")
        with gr.Row():
            gif_btn = gr.Button("Export trajectory as GIF", elem_id="image-gif-btn")
            trace_btn = gr.Button("Export trace file (.npz)", elem_id="image-trace-btn")
            exported = gr.File(label="Download", elem_id="image-export")

        views = [grid_img, preview, ladder, schedule, caption]
        insp_views = [insp_md, insp_life, insp_patch]
        model.change(pick_model, model, [names, steps, cfg, temperature, top_p], api_name=False)
        settings = [n, steps, cfg, temperature, top_p, seed, randomize, backend, model]
        ev = go.click(generate, [names, *settings], [gallery, info, arrays, step, live, sample], api_name=False,
                      concurrency_limit=2)
        # The API's /generate_image takes the class names as a list and the model as a label or name ("emoji"):
        # gradio checks a value against the choices a checkbox group or radio was built with.
        gr.Button(visible=False).click(generate, [gr.JSON(visible=False), *settings[:-1], gr.Textbox(visible=False)],
                                       [gallery, info, arrays, step, live, sample], api_name="generate_image",
                                       concurrency_limit=2)
        ev.then(show, [arrays, step, sample, depth, selected], views, api_name=False).then(
            inspect, [arrays, step, sample, selected], insp_views, api_name=False).then(
            show_map, [arrays, step, sample, selected, order], tmap, api_name=False)
        ev.then(lambda a: method_panel(a, 0, float(a["meta"].get("cfg", 1)) != 1) if a else gr.update(),
                arrays, method, api_name=False)
        stop.click(None, None, None, cancels=[ev])
        for ctl in (step, sample):            # one round trip for every view of a step (three cost 3x the overhead)
            ctl.change(step_views, [arrays, step, sample, depth, selected, order], [*views, *insp_views, tmap],
                       api_name=False, show_progress="hidden")
        depth.change(show, [arrays, step, sample, depth, selected], views, api_name=False, show_progress="hidden")
        order.change(show_map, [arrays, step, sample, selected, order], tmap, api_name=False, show_progress="hidden")
        grid_img.select(select_cell, [arrays, step, sample, depth, order], [selected, grid_img, tmap, *insp_views],
                        api_name=False)
        tmap.click(pick_on_map, [arrays, step, sample, depth, order], [selected, grid_img, tmap, *insp_views],
                   api_name=False)
        gr.Button(visible=False).click(inspect, [arrays, step, sample, gr.Number(0, visible=False)], insp_views,
                                       api_name="image_inspect")
        # The same view as an API call (state lives in the client's session).
        gr.Button(visible=False).click(show, [arrays, step, sample, depth], views, api_name="image_step")
        tour_btn.click(tour, [tour_k, arrays], [tour_k, tour_md, step, selected, depth, order, method_box],
                       api_name=False).then(inspect, [arrays, step, sample, selected], insp_views, api_name=False).then(
            show_map, [arrays, step, sample, selected, order], tmap, api_name=False).then(
            show, [arrays, step, sample, depth, selected], views, api_name=False)
        play.click(lambda: gr.Timer(active=True), None, timer, api_name=False)
        pause.click(lambda: gr.Timer(active=False), None, timer, api_name=False)
        timer.tick(advance, [arrays, step], step, api_name=False)
        gif_btn.click(export_gif, arrays, exported, api_name="image_gif")
        trace_btn.click(export_trace, arrays, exported, api_name="image_trace")
    return tab
