"""The speech tab: zero-shot TTS from a text and a voice prompt, and the step visualiser.

The visualiser shows the token grid (RVQ depth x target positions), the mel spectrogram from the
tokens revealed so far with its audio (Griffin-Lim, fast), the depth ladder (the final speech
from its first d depths), and the masking schedule.
"""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

import gradio as gr
import numpy as np

from resgen.speech.corpus import ACCENTS

from . import render
from .captions import method_panel, step_caption
from .schedule_plot import schedule_plot
from .exports import as_spoken, prompt_codes, speech_steps_zip, trace_file
from .help import INFO, SAMPLE_TEXTS, SPEECH_GUIDE
from .inspector import inspector_markdown, inspector_panel, life_strip, slow_motion, position_at_matrix
from .speech_run import make_handlers
from .speech_span import position_words, seconds_tick, span_audio, span_frames
from .token_map import ORDERS, token_map_component, token_map_html, token_map_svg

VOCODERS = ["hifigan", "griffin-lim"]
GRID_CELL, GRID_ROW = 6, 10         # pixels per token position (width) and per depth (height) in the grid
STEP_GL_ITERS = 16                  # Griffin-Lim iterations of the per-step preview audio (the final audio: HiFi-GAN or 32)


def prompt_examples(folder: Path) -> dict[str, Path]:
    """Shipped example voices: {label: wav path} from prompts.json (empty when absent)."""
    try:
        items = json.loads((folder / "prompts.json").read_text())
    except (OSError, ValueError):
        return {}
    return {i.get("label", f"{i['voice']} (held out)"): folder / i["file"] for i in items if (folder / i["file"]).exists()}


def build_speech_tab(get_pipeline, examples: dict[str, Path], defaults: dict, backend_default: str = "auto"):
    """get_pipeline(backend) -> SpeechPipeline (lazy, cached by the caller)."""

    def load(backend):
        try:
            return get_pipeline(backend)
        except Exception as e:                            # not installed yet, stale or corrupt files
            raise gr.Error(f"Could not load the speech model: {e}") from None

    pick_example, generate = make_handlers(load, examples)

    def pick_chunk(all_arrays, k):
        """The visualiser follows chunk k (1-based) of the last run."""
        if not all_arrays:
            return None
        return all_arrays[min(max(int(k), 1), len(all_arrays)) - 1]

    def _target(arrays, key, t):
        Np = arrays["meta"]["prompt_positions"]
        return arrays[key][t, 0, Np:]

    def show_step(arrays, step, selected=None):
        """The views that depend on the step: grid (the selected target position outlined), mel and audio of the
        revealed tokens (through the run's postfilter, so the last step's mel is the speech's), schedule, caption."""
        if not arrays:
            return None, None, None, None, ""
        import torch
        pipe = load(arrays["meta"]["_backend_choice"])
        t = min(max(int(step), 1), len(arrays["codes"])) - 1
        Np = arrays["meta"]["prompt_positions"]
        target = {k: v[:, :, Np:] for k, v in arrays.items() if k in ("mask", "revealed", "confidence")}
        codes = torch.from_numpy(_target(arrays, "codes", t).astype(np.int64))
        mel_t = as_spoken(pipe, arrays, pipe.decode_partial(codes, torch.from_numpy(_target(arrays, "mask", t)),
                                                            prompt_codes(arrays)))
        grid = render.token_matrix(target, t, 0, cell=GRID_CELL, selected=selected, cell_h=GRID_ROW)
        grid = render.annotate_matrix(grid, target["mask"].shape[2], target["mask"].shape[3], GRID_CELL,
                                      pipe.cfg.frames_per_position * 256 / 22050)
        return (grid,
                render.mel_image(mel_t.cpu().numpy()),
                (22050, pipe.vocode(mel_t, "griffin-lim", STEP_GL_ITERS)), schedule_plot(target["mask"][:, 0], t),
                step_caption(arrays, t, 0, start=Np))

    def step_views(arrays, step, selected, order):          # all that follows the step, in one event
        return (*show_step(arrays, step, selected), *inspect(arrays, step, selected), show_map(arrays, step, selected, order))

    def show_ladder(arrays, depth):
        """The final speech from its first d depths, through the run's postfilter (vocoded once per depth change, not
        per step); at d = D it is the speech the run returned."""
        if not arrays:
            return None
        import torch
        pipe = load(arrays["meta"]["_backend_choice"])
        final = torch.from_numpy(_target(arrays, "codes", len(arrays["codes"]) - 1).astype(np.int64))
        mel_d = as_spoken(pipe, arrays, pipe.decode(final, min(max(int(depth), 1), pipe.tok_cfg.rvq.depth),
                                                    prompt_codes(arrays)))
        return (22050, pipe.vocode(mel_d, arrays["meta"]["vocoder"]))

    def show(arrays, step, depth, selected=None):
        grid, mel, audio, schedule, caption = show_step(arrays, step, selected)
        return grid, mel, audio, show_ladder(arrays, depth), schedule, caption

    def inspect(arrays, step, position):
        """The position inspector for target position `position`: its table at this step, its life strip, and the
        mel around it from this step's full guess at depths 1..d."""
        if not arrays:
            return "Generate, then click a column of the token grid.", None, None
        import torch

        from resgen.core.inspect import inspect_position
        pipe = load(arrays["meta"]["_backend_choice"])
        T, _, N, D = arrays["codes"].shape
        Np = arrays["meta"]["prompt_positions"]
        t, p = min(max(int(step), 1), T) - 1, min(max(int(position), 0), N - Np - 1)
        v = inspect_position(arrays, t, 0, Np + p, pipe.tokenizer.rvq.codebooks.cpu().numpy())
        s = pipe.cfg.frames_per_position
        sec = s * 256 / 22050
        md = inspector_markdown(v, T, f"Target position {p} (mel frames {s * p}-{s * p + s - 1}, "
                                      f"{p * sec:.2f}-{(p + 1) * sec:.2f} s)") + "\n\n" + slow_motion(v, arrays, 0, Np)
        pred = torch.from_numpy(_target(arrays, "pred_codes", t).astype(np.int64))
        f0, f1 = span_frames(p, N - Np, s)
        mels = []
        for d in range(1, D + 1):
            im = render.mel_image(pipe.decode(pred, d)[:, f0:f1].cpu().numpy(), 1, 3)
            render.outline(im, 0, im.shape[0], (s * p - f0) * 3, (s * p + s - f0) * 3)
            mels.append(im)
        return md, life_strip(v), render.strip(mels)

    def show_map(arrays, step, selected, order):
        """The unrolled token map of the target positions, with a hover text per cell."""
        if not arrays:
            return ""
        t = min(max(int(step), 1), len(arrays["codes"])) - 1
        sec = load(arrays["meta"]["_backend_choice"]).cfg.frames_per_position * 256 / 22050
        svg = token_map_svg(arrays, t, 0, start=arrays["meta"]["prompt_positions"], selected=selected, order=order,
                            name=lambda p: position_words(p, sec), ticks=lambda p: seconds_tick(p, sec), cell=6, row=10)
        return token_map_html(svg, "The grid's slots with a hover text per cell; the white line is the waterline: "
                                   "known depths above it, masked below.")

    def select_cell(arrays, step, order, evt: gr.SelectData):
        """A click on the token grid selects the target position (column) under it."""
        if not arrays or evt.index is None:
            return (gr.update(),) * 6
        Np, N = arrays["meta"]["prompt_positions"], arrays["codes"].shape[2]
        p = position_at_matrix(int(evt.index[0]), N - Np, GRID_CELL)
        return (gr.update(),) * 6 if p is None else select_at(arrays, step, order, p)

    def pick_on_map(arrays, step, order, evt: gr.EventData):
        """A click on the token map selects the target position of the cell under it."""
        p = getattr(evt, "pos", None)
        return (gr.update(),) * 6 if not arrays or p is None else select_at(arrays, step, order, int(p))

    def select_at(arrays, step, order, p):
        return (p, show_step(arrays, step, p)[0], show_map(arrays, step, p, order), *inspect(arrays, step, p))

    def listen_span(arrays, step, position):
        """The selected span heard from depth 1, 1-2, ... 1-D (on demand: it runs the vocoder D times)."""
        if not arrays:
            raise gr.Error("Generate, then pick a position.")
        import torch
        T, _, N, _ = arrays["codes"].shape
        Np = arrays["meta"]["prompt_positions"]
        t, p = min(max(int(step), 1), T) - 1, min(max(int(position), 0), N - Np - 1)
        pred = torch.from_numpy(_target(arrays, "pred_codes", t).astype(np.int64))
        rate, audio, note = span_audio(load(arrays["meta"]["_backend_choice"]), pred, p, arrays["meta"]["vocoder"],
                                       prompt_codes(arrays))
        return (rate, audio), f"Step {t + 1}/{T}. {note}"

    def export_steps(arrays):
        if not arrays:
            raise gr.Error("Generate speech first.")
        return speech_steps_zip(load(arrays["meta"]["_backend_choice"]), arrays)

    def export_trace(arrays):
        if not arrays:
            raise gr.Error("Generate speech first.")
        return trace_file(arrays, "speech")

    with gr.Blocks() as tab:
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                text = gr.Textbox(SAMPLE_TEXTS[0], lines=2, max_lines=12, elem_id="speech-text", info=INFO["text"],
                                  label="Text (up to 3,000 characters)")
                example = gr.Dropdown(list(examples), value=None, label="An example voice", info=INFO["example"],
                                      elem_id="speech-example")
                prompt = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Voice prompt (1-20 s)",
                                  elem_id="speech-prompt")
                with gr.Row():
                    go = gr.Button("Speak", variant="primary", elem_id="speech-generate")
                    stop = gr.Button("Stop", elem_id="speech-stop")
                prompt_text = gr.Textbox("", lines=1, max_lines=4, label="What the prompt says (optional)",
                                         info=INFO["prompt_text"], elem_id="speech-prompt-text")
                with gr.Accordion("Sample texts", open=False):
                    gr.Examples([[t] for t in SAMPLE_TEXTS], [text], label="Sample texts")
                with gr.Accordion("More settings: speed, steps, CFG, voice guidance, contrast, voice colour, seed, "
                                  "vocoder, accent, backend",
                                  open=False,
                                  elem_id="speech-settings"):
                    speed = gr.Slider(0.5, 2.0, value=1.0, step=0.05, label="Speed", info=INFO["speed"])
                    steps = gr.Slider(1, 64, value=defaults["steps"], step=1, label="Sampling steps T",
                                      info=INFO["steps"])
                    cfg = gr.Slider(0, 6, value=defaults["cfg"], step=0.25, label="CFG on the text (1 = off)",
                                    info=INFO["speech_cfg"])
                    speaker_cfg = gr.Slider(0, 4, value=defaults.get("speaker_cfg", 1.0), step=0.25,
                                            label="Guidance on the voice (1 = off)", info=INFO["speaker_cfg"],
                                            elem_id="speech-speaker-cfg")
                    matched = defaults.get("contrast", 0.0) == "prompt"
                    contrast_match = gr.Checkbox(value=matched, label="Formant contrast matched to the prompt",
                                                 info=INFO["contrast_match"], elem_id="speech-contrast-match")
                    contrast = gr.Slider(0, 1, value=0.0 if matched else defaults.get("contrast", 0.0), step=0.05,
                                         label="Formant contrast (postfilter; 0 = off)", info=INFO["contrast"],
                                         elem_id="speech-contrast", interactive=not matched)
                    contrast_match.change(lambda m: gr.update(interactive=not m), contrast_match, contrast,
                                          api_name=False)
                    correct = gr.Checkbox(value=bool(defaults.get("correction", 0.0)),
                                          label="Voice colour corrected from the prompt", info=INFO["correction"],
                                          elem_id="speech-correction")
                    with gr.Row():
                        seed = gr.Number(value=0, precision=0, label="Seed", info=INFO["seed"], elem_id="speech-seed")
                        randomize = gr.Checkbox(value=False, label="Random seed", info=INFO["randomize"])
                    vocoder = gr.Radio(VOCODERS, value="hifigan", label="Vocoder", info=INFO["vocoder"])
                    accent = gr.Dropdown(list(ACCENTS), value="en-us", label="Accent of the text", info=INFO["accent"])
                    backend = gr.Dropdown(["auto", "torch", "onnx"], value=backend_default, label="Backend",
                                          info=INFO["backend"])
            with gr.Column(scale=2):
                out_audio = gr.Audio(label="Speech", type="numpy", elem_id="speech-audio", interactive=False)
                out_mel = gr.Image(format="png", label="Mel spectrogram", elem_id="speech-mel", height=220)
                info = gr.Textbox(label="Run", elem_id="speech-info")
        gr.Markdown(SPEECH_GUIDE)
        arrays, all_arrays = gr.State(None), gr.State(None)
        timer = gr.Timer(1.5, active=False)
        with gr.Row():
            chunk = gr.Slider(1, 2, value=1, step=1, label="Chunk of a long text", info=INFO["chunk"], visible=False,
                              elem_id="speech-chunk")
            step = gr.Slider(1, 16, value=16, step=1, label="Step", info=INFO["step"], elem_id="speech-step")
            depth = gr.Slider(1, 16, value=8, step=1, label="Depth ladder: first d depths", info=INFO["speech_depth"],
                              elem_id="speech-depth")
            with gr.Column(min_width=120):
                play = gr.Button("Play", elem_id="speech-play", size="sm")
                pause = gr.Button("Pause", elem_id="speech-pause", size="sm")
        with gr.Accordion("How ResGEN samples", open=False):
            method = gr.Markdown("Generate first: the panel explains the method with the run's own numbers.",
                                 elem_id="speech-method")
        caption = gr.Markdown("", elem_id="speech-caption")
        with gr.Row():
            grid = gr.Image(format="png", label="Tokens: depth x positions", elem_id="speech-grid")
            step_mel = gr.Image(format="png", label="Mel from the revealed tokens", elem_id="speech-step-mel")
        selected, insp_md, insp_life, insp_mel = inspector_panel(
            "speech", "a column", "Its mel from depths 1..d",
            "Mel: this step's full guess around the position (outlined, 6 positions either side), decoded from its "
            "first d depths, d = 1 .. D from left to right.")
        with gr.Row():
            with gr.Column(scale=3):
                tmap = token_map_component("speech-map")
            order = gr.Radio(list(ORDERS), value="position", label="Token map: columns in order of", scale=1,
                             info=INFO["order"])
        with gr.Row():
            span_btn = gr.Button("Listen to the selected span at depth 1, 1-2, ... 1-D", elem_id="speech-span-btn",
                                 scale=1)
            span_audio_out = gr.Audio(label="The span, depth by depth", type="numpy", elem_id="speech-span-audio",
                                      interactive=False, scale=2)
            span_note = gr.Markdown("", elem_id="speech-span-note")
        with gr.Row():
            step_audio = gr.Audio(label="Audio at this step", type="numpy", elem_id="speech-step-audio",
                                  interactive=False)
            ladder_audio = gr.Audio(label="Final speech from the first d depths", type="numpy",
                                    elem_id="speech-ladder-audio", interactive=False)
            schedule = gr.Image(format="png", label="Masking schedule (dashed: this step)", elem_id="speech-schedule")
        with gr.Row():
            steps_btn = gr.Button("Export per-step audio (.zip)", elem_id="speech-steps-btn")
            trace_btn = gr.Button("Export trace file (.npz)", elem_id="speech-trace-btn")
            exported = gr.File(label="Download", elem_id="speech-export")

        views = [grid, step_mel, step_audio, ladder_audio, schedule, caption]
        example.change(pick_example, example, [prompt, prompt_text], api_name=False)
        ev = go.click(generate, [text, prompt, speed, steps, cfg, seed, randomize, vocoder, accent, backend,
                                 prompt_text, speaker_cfg, contrast, contrast_match, correct],
                      [out_audio, out_mel, info, arrays, step, chunk, all_arrays], api_name="generate_speech",
                      concurrency_limit=2)
        insp_views = [insp_md, insp_life, insp_mel]
        ev.then(show, [arrays, step, depth, selected], views, api_name=False).then(
            inspect, [arrays, step, selected], insp_views, api_name=False).then(
            show_map, [arrays, step, selected, order], tmap, api_name=False)
        ev.then(lambda a: method_panel(a, a["meta"]["prompt_positions"], float(a["meta"].get("cfg", 1)) != 1,
                                       float(a["meta"].get("speaker_cfg", 1)) != 1)
                if a else gr.update(), arrays, method, api_name=False)
        stop.click(None, None, None, cancels=[ev])
        chunk.input(pick_chunk, [all_arrays, chunk], arrays, api_name="speech_chunk").then(
            show, [arrays, step, depth, selected], views, api_name=False).then(
            inspect, [arrays, step, selected], insp_views, api_name=False).then(
            show_map, [arrays, step, selected, order], tmap, api_name=False)
        step.change(step_views, [arrays, step, selected, order], [grid, step_mel, step_audio, schedule, caption,
                                                                  *insp_views, tmap], api_name=False, show_progress="hidden")
        order.change(show_map, [arrays, step, selected, order], tmap, api_name=False, show_progress="hidden")
        grid.select(select_cell, [arrays, step, order], [selected, grid, tmap, *insp_views], api_name=False)
        tmap.click(pick_on_map, [arrays, step, order], [selected, grid, tmap, *insp_views], api_name=False)
        span_btn.click(listen_span, [arrays, step, selected], [span_audio_out, span_note], api_name=False)
        gr.Button(visible=False).click(listen_span, [arrays, step, gr.Number(0, visible=False)],
                                       [span_audio_out, span_note], api_name="speech_span_audio")
        gr.Button(visible=False).click(inspect, [arrays, step, gr.Number(0, visible=False)], insp_views,
                                       api_name="speech_inspect")
        depth.change(show_ladder, [arrays, depth], ladder_audio, api_name=False)
        gr.Button(visible=False).click(show, [arrays, step, depth], views, api_name="speech_step")
        play.click(lambda: gr.Timer(active=True), None, timer, api_name=False)
        pause.click(lambda: gr.Timer(active=False), None, timer, api_name=False)
        timer.tick(lambda a, t: gr.update() if not a else int(t) % len(a["codes"]) + 1, [arrays, step], step,
                   api_name=False)
        steps_btn.click(export_steps, arrays, exported, api_name="speech_steps_audio")
        trace_btn.click(export_trace, arrays, exported, api_name="speech_trace")
    return tab
