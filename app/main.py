"""build_app() composes the tabs; main() parses --host/--port/--share/--backend and launches."""
from __future__ import annotations

import argparse
import functools
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def build_app(load_image=None, backend: str = "auto"):
    """load_image() -> ImagePipeline; defaults to the shipped model, loaded on first use."""
    import gradio as gr

    from .image_tab import build_image_tab

    if load_image is None:
        def load_image():
            import resgen
            return resgen.load("image", backend=backend)
    get_image = functools.lru_cache(maxsize=1)(load_image)

    with gr.Blocks(title="ResGEN") as demo:
        gr.Markdown("# ResGEN\nMasked generation over residual-vector-quantised tokens: every step, "
                    "every depth.")
        with gr.Tab("Image"):
            build_image_tab(get_image, CLASSES)
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
    build_app(backend=args.backend).launch(server_name=args.host, server_port=args.port, share=args.share)
