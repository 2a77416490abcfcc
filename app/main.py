"""build_app() composes the tabs; main() parses --host/--port/--share/--backend and launches."""
from __future__ import annotations

import argparse
import functools
import json
import os
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from .image_models import CLASSES  # noqa: E402  (light: no gradio, no torch)
from .launch import launch  # noqa: E402

SAMPLER_KEYS = ("steps", "cfg", "temperature", "top_p", "speaker_cfg")


def sampler_defaults(model_dir=None) -> dict:
    """The sampler defaults in a model's config.json (read without loading weights)."""
    from resgen import assets_dir
    from resgen.core.config import SamplerConfig, to_dict
    out = {k: v for k, v in to_dict(SamplerConfig()).items() if k in SAMPLER_KEYS}
    path = (assets_dir() / "image" if model_dir is None else model_dir) / "config.json"
    try:
        cfg = json.loads(path.read_text())
        out.update({k: v for k, v in cfg.get("sampler", {}).items() if k in SAMPLER_KEYS})
        if "postfilter" in cfg:                    # a speech model's default spectral contrast
            from resgen.speech.postfilter import check_contrast
            out["contrast"] = check_contrast(cfg["postfilter"].get("contrast", 0.0))      # a number or "prompt"
            out["correction"] = float(cfg["postfilter"].get("correction", 0.0))
    except (OSError, ValueError, AttributeError, TypeError):
        pass                       # a missing or broken model is reported when it is first used
    return out


def build_app(load_image=None, backend: str = "auto", image_defaults: dict | None = None, load_speech=None,
              speech_defaults: dict | None = None, speech_examples: dict | None = None, compare_root=None,
              image_folders: dict | None = None):
    """load_image(backend) -> ImagePipeline and load_speech(backend) -> SpeechPipeline; default to
    the shipped models, loaded on first use (one cached pipeline per backend). image_folders: {label: model
    folder} of the Image tab's models (default: the installed ones, `image_models`); load_image, when given,
    loads the first of them. compare_root: the folder whose image models (image/, image-d<D>/, image-ar/) the
    Compare tab offers (assets/)."""
    import gradio as gr

    from resgen import assets_dir
    from resgen import load as resgen_load
    from resgen.baselines.ar import load_ar

    from resgen.baselines.compare import installed_image_models

    from .compare_tab import build_compare_tab
    from .image_models import image_models, model_classes  # noqa: F811
    from .image_tab import build_image_tab
    from .speech_tab import build_speech_tab, prompt_examples

    image_folders = dict(image_folders or image_models())
    first_image = next(iter(image_folders))

    def load_image_model(label, backend):
        if load_image is not None and label == first_image:
            return load_image(backend)
        if label not in image_folders:
            raise ValueError(f"unknown image model {label!r}; choose one of: {', '.join(image_folders)}")
        return resgen_load("image", backend=backend, model_dir=image_folders[label])
    if load_speech is None:
        def load_speech(backend):
            import resgen
            return resgen.load("speech", backend=backend)
    get_image = functools.lru_cache(maxsize=4)(load_image_model)
    get_speech = functools.lru_cache(maxsize=3)(load_speech)
    compare_models = installed_image_models(assets_dir() if compare_root is None else compare_root)
    get_compare_pipe = functools.lru_cache(maxsize=4)(
        lambda folder: resgen_load("image", backend="torch", model_dir=folder))
    get_ar = functools.lru_cache(maxsize=2)(load_ar)
    if speech_examples is None:
        speech_examples = prompt_examples(assets_dir() / "speech" / "prompts")

    with gr.Blocks(title="ResGEN") as demo:
        gr.Markdown("# ResGEN\nMasked generation over residual-vector-quantised tokens: every step, "
                    "every depth.")
        with gr.Tab("Image"):
            models = {label: {"classes": model_classes(folder),
                              "defaults": (image_defaults if label == first_image and image_defaults
                                           else sampler_defaults(folder))}
                      for label, folder in image_folders.items()}
            build_image_tab(get_image, models, backend)
        with gr.Tab("Speech"):
            build_speech_tab(get_speech, speech_examples,
                             speech_defaults or sampler_defaults(assets_dir() / "speech"), backend)
        with gr.Tab("Compare"):
            build_compare_tab(compare_models, get_compare_pipe, get_ar, CLASSES,
                              image_defaults or sampler_defaults())
    demo.queue(default_concurrency_limit=2)
    return demo


def main(argv=None):
    on_space = bool(os.environ.get("SPACE_ID"))
    p = argparse.ArgumentParser(description="ResGEN app")
    p.add_argument("--host", default="0.0.0.0" if on_space else "127.0.0.1")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", 7860)))
    p.add_argument("--share", action="store_true")
    p.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"])
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    demo = build_app(backend=args.backend)
    launch(demo, args.host, args.port, share=args.share)
    print(f"ResGEN app ready in {time.perf_counter() - t0:.1f} s at http://{args.host}:{args.port}/", flush=True)
    demo.block_thread()
