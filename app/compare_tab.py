"""The Compare tab: two image runs side by side, scrubbed together by share of network calls.

Mode "ResGEN vs autoregressive": the same class and seed through ResGEN and the AR baseline on the
same RVQ tokens. Mode "Two ResGEN runs": two seeds, two CFG values or two RVQ depths. Both sides
run in PyTorch on this machine, one after the other, so their timings compare.
"""
from __future__ import annotations

import gradio as gr
import numpy as np

from . import render
from .help import INFO

MODES = ["ResGEN vs autoregressive", "Two ResGEN runs"]
MAX_IMAGES = 8


def build_compare_tab(models, get_pipe, get_ar, classes: list[str], defaults: dict):
    """models: resgen.baselines.compare.ModelEntry list (installed_image_models); get_pipe(folder) ->
    ImagePipeline and get_ar(folder) -> RQTransformer, both cached by the caller; defaults: the
    shipped model's sampler defaults."""
    from resgen.baselines.compare import check_ar_tokens, revealed_share, run_ar, run_resgen
    from resgen.core.weights import ModelFileError

    by_name = {m.name: m for m in models}
    resgen_names = [m.name for m in models if m.kind == "resgen"]
    ar_names = [m.name for m in models if m.kind == "ar"]
    has_ar = bool(ar_names)

    def right_default(mode):
        names = ar_names if mode == MODES[0] else resgen_names
        return names[0] if names else None

    def load_pipe(entry):
        try:
            return get_pipe(entry.folder)
        except Exception as e:                          # missing, stale or corrupt files: a message
            raise gr.Error(f"Could not load {entry.name}: {e}") from None

    def decoder_for(ar_entry):
        """The ResGEN pipeline whose tokenizer the AR model was trained on (it decodes AR samples)."""
        errors = []
        for m in models:
            if m.kind == "resgen" and m.depth == ar_entry.depth:
                pipe = load_pipe(m)
                try:
                    check_ar_tokens(ar_entry.folder, pipe)
                    return pipe
                except ModelFileError as e:
                    errors.append(str(e))
        raise gr.Error(f"No installed ResGEN model shares the tokens of {ar_entry.name}. {' '.join(errors)}")

    warmed = set()

    def one_run(name, labels, seed, cfg, steps):
        entry = by_name.get(name)
        if entry is None:
            raise gr.Error(f"Pick a model for each side (got {name!r}).")
        if name not in warmed:                          # one untimed run: first-call costs stay out of the timing
            warmed.add(name)
            one_run(name, labels[:1], seed, cfg, steps)
        try:
            if entry.kind == "ar":
                pipe = decoder_for(entry)
                try:
                    model = get_ar(entry.folder)
                except Exception as e:
                    raise gr.Error(f"Could not load {entry.name}: {e}") from None
                return run_ar(model, pipe, entry.name, labels, seed, cfg), pipe
            pipe = load_pipe(entry)
            return run_resgen(pipe, entry.name, labels, seed, cfg, steps=steps), pipe
        except ValueError as e:
            raise gr.Error(str(e)) from None

    def compare(mode, cls, n, steps, a_name, a_seed, a_cfg, b_name, b_seed, b_cfg):
        if mode not in MODES:
            raise gr.Error(f"Unknown mode {mode!r}.")
        if mode == MODES[0] and not has_ar:
            raise gr.Error("The autoregressive baseline is not installed (assets/image-ar); see the README "
                           "to train it, or use the mode 'Two ResGEN runs'.")
        if cls not in classes:
            raise gr.Error(f"Unknown class {cls!r}.")
        try:
            n, steps, a_seed, b_seed = int(n), int(steps), int(a_seed or 0), int(b_seed or 0)
            a_cfg, b_cfg = float(a_cfg), float(b_cfg)
        except (TypeError, ValueError):
            raise gr.Error("Images, steps and seeds must be whole numbers; CFG a number.") from None
        if not 1 <= n <= MAX_IMAGES:
            raise gr.Error(f"Number of images must be between 1 and {MAX_IMAGES}.")
        for s in (a_seed, b_seed):
            if not 0 <= s < 2**31:
                raise gr.Error("Seeds must be between 0 and 2147483647.")
        labels = [classes.index(cls)] * n
        runs, pipes = [], []
        for name, seed, cfg in ((a_name, a_seed, a_cfg), (b_name, b_seed, b_cfg)):
            run, pipe = one_run(name, labels, seed, cfg, steps)
            runs.append(run)
            pipes.append(pipe)
        state = {"runs": runs, "folders": [by_name[a_name].folder, by_name[b_name].folder],
                 "decoders": [p.model_dir for p in pipes]}
        tiles = [render.upscale(render.tile(r.images, cols=4), 4) for r in runs]
        fast, slow = sorted(runs, key=lambda r: r.seconds)
        summary = (f"{fast.name} took {fast.seconds:.2f} s and {slow.name} {slow.seconds:.2f} s for {n} image(s): "
                   f"{slow.seconds / max(fast.seconds, 1e-9):.1f}x. Network calls: {runs[0].calls} (left) vs "
                   f"{runs[1].calls} (right). Both in PyTorch on this machine, one after the other.")
        return (tiles[0], info(runs[0]), tiles[1], info(runs[1]), summary, state, 100)

    def info(run):
        s = run.settings
        n = len(run.images)
        what = (f"{s['steps']} steps" if "steps" in s else
                f"{run.frames} positions x {s['depth']} depths, one token per call")
        return (f"{n} image(s) in {run.seconds:.2f} s ({run.seconds / n:.2f} s each); {run.calls} network calls "
                f"({what}); seed {s['seed']}; CFG {s['cfg']:g}; RVQ depth {s['depth']}")

    def show(state, progress):
        if not state:
            return None, None, None, None, None, ""
        import torch
        out, curves, marks, where = [], [], [], []
        share = float(progress) / 100
        for run, decoder in zip(state["runs"], state["decoders"]):
            pipe = get_pipe(decoder)
            f = run.frame_at(share)
            arrays = run.arrays
            out.append(render.token_grid_2d(arrays, f, (pipe.grid, pipe.grid), 0, cell=32))
            codes = torch.from_numpy(arrays["codes"][f, :1].astype(np.int64))
            mask = torch.from_numpy(arrays["mask"][f, :1])
            out.append(render.upscale(pipe.to_uint8(pipe.decode_partial(codes, mask))[0], 8))
            curves.append((run.name, run.frame_calls, revealed_share(run)))
            marks.append(int(run.frame_calls[f]))
            kind = "step" if "steps" in run.settings else "position"
            where.append(f"{run.name}: {kind} {f + 1}/{run.frames} after {run.frame_calls[f]} of {run.calls} calls")
        plot = render.progress_plot(curves, marks)
        return out[0], out[1], out[2], out[3], plot, "; ".join(where)

    with gr.Blocks() as tab:
        gr.Markdown("Two generators on the same class, side by side. Scrub **progress** to see both at the "
                    "same share of their network calls: ResGEN reveals tokens at every position and depth "
                    "in T steps; the autoregressive baseline draws one token per call, position by position "
                    "(raster order), depth 1 to D within a position." +
                    ("" if has_ar else "\n\n*The autoregressive baseline is not installed here "
                     "(`assets/image-ar/`); the README says how to train it. Two ResGEN runs work.*"))
        with gr.Row():
            mode = gr.Radio(MODES, value=MODES[0] if has_ar else MODES[1], label="Mode", info=INFO["cmp_mode"],
                            elem_id="cmp-mode")
            cls = gr.Dropdown(classes, value=classes[7], label="Class", info=INFO["cmp_class"],
                              elem_id="cmp-class")
            n = gr.Slider(1, MAX_IMAGES, value=1, step=1, label="Images per side", info=INFO["cmp_n"],
                          elem_id="cmp-n")
            steps = gr.Slider(1, 64, value=defaults["steps"], step=1, label="ResGEN steps T",
                              info=INFO["cmp_steps"], elem_id="cmp-steps")
            go = gr.Button("Compare", variant="primary", elem_id="cmp-run", scale=0, min_width=140)
        with gr.Row():
            with gr.Column():
                a_model = gr.Dropdown(resgen_names, value=resgen_names[0] if resgen_names else None,
                                      label="Left: model", info=INFO["cmp_model"], elem_id="cmp-a-model")
                with gr.Row():
                    a_seed = gr.Number(value=0, precision=0, label="Seed", info=INFO["cmp_seed"], elem_id="cmp-a-seed")
                    a_cfg = gr.Number(value=defaults["cfg"], label="CFG (1 = off)", info=INFO["cmp_cfg"],
                                      elem_id="cmp-a-cfg")
                a_images = gr.Image(format="png", label="Left: samples", elem_id="cmp-a-images", height=240)
                a_info = gr.Textbox(label="Left: run", elem_id="cmp-a-info")
            with gr.Column():
                b_model = gr.Dropdown(resgen_names + ar_names, value=right_default(mode.value),
                                      label="Right: model", info=INFO["cmp_model"], elem_id="cmp-b-model")
                with gr.Row():
                    b_seed = gr.Number(value=0 if has_ar else 1, precision=0, label="Seed",
                                       info=INFO["cmp_seed"], elem_id="cmp-b-seed")
                    b_cfg = gr.Number(value=defaults["cfg"], label="CFG (1 = off)", info=INFO["cmp_cfg"],
                                      elem_id="cmp-b-cfg")
                b_images = gr.Image(format="png", label="Right: samples", elem_id="cmp-b-images", height=240)
                b_info = gr.Textbox(label="Right: run", elem_id="cmp-b-info")
        summary = gr.Textbox(label="Timing", elem_id="cmp-summary")
        state = gr.State(None)
        progress = gr.Slider(1, 100, value=100, step=1, label="Progress: share of each run's network calls (%)",
                             info=INFO["cmp_progress"], elem_id="cmp-progress")
        where = gr.Textbox(label="Shown", elem_id="cmp-where")
        with gr.Row():
            a_grid = gr.Image(format="png", label="Left: tokens (first image)", elem_id="cmp-a-grid")
            a_prev = gr.Image(format="png", label="Left: decoded from the known tokens", elem_id="cmp-a-preview")
            b_grid = gr.Image(format="png", label="Right: tokens (first image)", elem_id="cmp-b-grid")
            b_prev = gr.Image(format="png", label="Right: decoded from the known tokens", elem_id="cmp-b-preview")
        plot = gr.Image(format="png", label="Tokens known against network calls", elem_id="cmp-plot")

        def on_mode(m):                                 # a preset for the right side; any pairing runs
            return gr.update(value=right_default(m)), gr.update(value=0 if m == MODES[0] else 1)

        mode.change(on_mode, mode, [b_model, b_seed], api_name=False)
        views = [a_grid, a_prev, b_grid, b_prev, plot, where]
        ev = go.click(compare, [mode, cls, n, steps, a_model, a_seed, a_cfg, b_model, b_seed, b_cfg],
                      [a_images, a_info, b_images, b_info, summary, state, progress], api_name="compare",
                      concurrency_limit=1)
        ev.then(show, [state, progress], views, api_name=False)
        progress.change(show, [state, progress], views, api_name="compare_step")
    return tab
