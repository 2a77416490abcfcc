"""`resgen sample image|speech ...`: generate from a shipped model (and write a trace file)."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from resgen.core.argtypes import ranged, ranged_or
from resgen.core.errors import UsageError


def add_image_args(p: argparse.ArgumentParser):
    p.add_argument("--label", default="0",
                   help="class index or name, case-insensitive (e.g. 7 or Sneaker; with --model emoji e.g. "
                        "\"Animals & Nature\"); several as a comma list, cycled over --n")
    p.add_argument("--n", type=int, default=16, help="number of images (1-256)")
    p.add_argument("--steps", type=int, default=None,
                   help="sampling steps T = denoiser calls (CFG rides in the same batch; default: model's, 24 for assets/image)")
    p.add_argument("--cfg", type=float, default=None,
                   help="classifier-free guidance scale; 1 = off (default: model's, 1.1 for assets/image)")
    p.add_argument("--temperature", type=float, default=None,
                   help="scale of the annealed Gumbel noise on confidences (default: model's)")
    p.add_argument("--top-p", type=float, default=None, help="nucleus over mixture components (default: model's)")
    p.add_argument("--pi-temperature", type=float, default=None,
                   help="mixture logits / this before the component draw, 0..10; 0 = the most likely component "
                        "(default: model's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"])
    p.add_argument("--model", default=None,
                   help="a shipped model's name, image (Fashion-MNIST, grey) or emoji (colour), or a model folder "
                        "(default: image)")
    p.add_argument("--out", default="out/image", help="folder for the PNGs and grid.png")
    p.add_argument("--trace", default=None, help="write the per-step trace (.npz) here")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")


def _check_writable_dir(path: Path):
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create output folder {path}: {e.strerror}") from None
    if not os.access(path, os.W_OK):
        raise UsageError(f"output folder {path} is not writable")


def _check_writable_file(path: Path):
    parent = path.parent if str(path.parent) else Path(".")
    _check_writable_dir(parent)
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"cannot write {path}")


def _start(args, out_is_dir: bool) -> float:
    """Check the outputs are writable and set the threads, before any heavy import; -> start time."""
    (_check_writable_dir if out_is_dir else _check_writable_file)(Path(args.out))
    if args.trace:
        _check_writable_file(Path(args.trace))
    t0 = time.perf_counter()
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    return t0


def run_image(args) -> None:
    if not 1 <= args.n <= 256:
        raise UsageError(f"--n must be between 1 and 256 (got {args.n})")
    if args.steps is not None and args.steps < 1:
        raise UsageError(f"--steps must be at least 1 (got {args.steps})")
    out = Path(args.out)
    t0 = _start(args, out_is_dir=True)
    import resgen
    from resgen.image.io import save_images
    from resgen.core.trace import save_traces
    from resgen.core.weights import ModelFileError
    try:
        pipe = resgen.load("image", backend=args.backend, model=args.model)
    except (ModelFileError, ValueError) as e:
        raise UsageError(str(e)) from None
    raw = [s for s in args.label.split(",") if s.strip()]
    if not raw:
        raise UsageError("--label is empty")
    try:
        labels = [pipe.label_id(s) for s in raw]
        labels = [labels[i % len(labels)] for i in range(args.n)]
        t_load = time.perf_counter() - t0
        result = pipe.generate(labels, steps=args.steps, cfg=args.cfg, temperature=args.temperature,
                               top_p=args.top_p, seed=args.seed, pi_temperature=args.pi_temperature)
    except ValueError as e:
        raise UsageError(str(e)) from None
    paths = save_images(out, result.images, labels, pipe.classes)
    if args.trace:
        save_traces(args.trace, result.traces, result.trace_meta(pipe))
    total = time.perf_counter() - t0
    s = result.settings
    print(f"wrote {len(paths)} images and {out / 'grid.png'}"
          + (f", trace {args.trace}" if args.trace else ""))
    print(f"backend {result.backend}; steps {s['steps']}, cfg {s['cfg']}, temperature {s['temperature']}, "
          f"top_p {s['top_p']}, pi_temperature {s['pi_temperature']}, seed {s['seed']}; sampling {result.seconds:.2f} s, "
          f"load {t_load:.2f} s, total {total:.2f} s", file=sys.stderr)


def add_speech_args(p: argparse.ArgumentParser):
    p.add_argument("--text", required=True,
                   help="what to say (English, at most 3,000 characters; a long text is spoken in chunks of about "
                        "a sentence, joined with a short cross-fade)")
    p.add_argument("--prompt", required=True, help="a recording of the voice to use (1-20 s, any rate/channels)")
    p.add_argument("--prompt-text", default=None,
                   help="what the prompt says (optional): the speech then takes the prompt speaker's pace")
    p.add_argument("--speed", type=float, default=1.0, help="speaking rate (0.5-2; durations are divided by it)")
    p.add_argument("--accent", default="en-us", help="pronunciation used to phonemise the text")
    p.add_argument("--steps", type=int, default=None, help="sampling steps T (default: model's)")
    p.add_argument("--cfg", type=float, default=None, help="guidance scale on the text; 1 = off (default: model's)")
    p.add_argument("--speaker-cfg", type=float, default=None,
                   help="guidance on the prompt's voice; 1 = off (default: model's)")
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--contrast", type=ranged_or("prompt", 1.0), default=None,
                   help='spectral-contrast postfilter on the generated mel, 0-1 (0 = off), or "prompt": matched to '
                        "the prompt's formant detail (default: model's)")
    p.add_argument("--correction", type=ranged(1.0), default=None,
                   help="how much of the tokenizer's error on the prompt's voice to take out of the speech, 0-1 "
                        "(0 = none; default: model's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vocoder", default="hifigan", choices=["hifigan", "griffin-lim"])
    p.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"])
    p.add_argument("--model", default=None, help="model folder (default: assets/speech)")
    p.add_argument("--out", default="out/speech.wav", help="the WAV to write")
    p.add_argument("--trace", default=None, help="write the per-step trace (.npz) here")
    p.add_argument("--trace-chunk", type=int, default=1, help="a long text: which chunk's trace --trace writes (1 = first)")
    p.add_argument("--threads", type=int, default=0)


def run_speech(args) -> None:
    out = Path(args.out)
    t0 = _start(args, out_is_dir=False)
    import resgen
    from resgen.speech.audio import AudioError, save_audio
    from resgen.core.trace import save_traces
    from resgen.core.weights import ModelFileError
    try:
        import soundfile as sf
        try:
            audio, rate = sf.read(args.prompt, dtype="float32", always_2d=False)
        except Exception as e:
            raise UsageError(f"cannot read the prompt {args.prompt}: {e}") from None
        pipe = resgen.load("speech", backend=args.backend, model_dir=args.model)
        t_load = time.perf_counter() - t0
        chunks = pipe.chunk_text(args.text, audio, rate, speed=args.speed, accent=args.accent,
                                 prompt_text=args.prompt_text)
        if not 1 <= args.trace_chunk <= len(chunks):
            raise UsageError(f"--trace-chunk {args.trace_chunk}: the text has {len(chunks)} chunk(s)")

        def progress(k, n, text):
            if n > 1:
                print(f"chunk {k + 1}/{n}: {text[:60]!r}{'...' if len(text) > 60 else ''}", file=sys.stderr, flush=True)
        result = pipe.generate(args.text, audio, rate, speed=args.speed, steps=args.steps, cfg=args.cfg,
                               temperature=args.temperature, top_p=args.top_p, seed=args.seed, accent=args.accent,
                               vocoder=args.vocoder, on_chunk=progress, prompt_text=args.prompt_text,
                               speaker_cfg=args.speaker_cfg, contrast=args.contrast, correction=args.correction)
    except (ModelFileError, AudioError, ValueError) as e:
        raise UsageError(str(e)) from None
    save_audio(out, result.audio, result.sample_rate)
    if args.trace:
        part = result.parts[args.trace_chunk - 1]
        meta = {**part.trace_meta(), "chunk": args.trace_chunk, "chunks": len(result.parts),
                "chunk_text": result.chunk_texts[args.trace_chunk - 1] if result.chunks else args.text.strip()}
        save_traces(args.trace, part.traces, meta)
    s = result.settings
    for notice in s.get("prompt_notices", []):
        print(f"prompt: {notice}", file=sys.stderr)
    print(f"wrote {out} ({result.duration:.2f} s of speech)" + (f", trace {args.trace}" if args.trace else ""))
    voc = args.vocoder + (f" ({s['vocoder_backend']})" if s.get("vocoder_backend") else "")
    from resgen.speech.postfilter import describe
    print(f"backend {result.backend}, vocoder {voc}; steps {s['steps']}, cfg {s['cfg']}, "
          f"speaker_cfg {s['speaker_cfg']}, contrast {describe(s['contrast'])}"
          f"{' (matched to the prompt)' if s.get('contrast_setting') else ''}, correction {s['correction']:g}, "
          f"speed {s['speed']}, "
          f"pace {s['pace']}{' (from the prompt transcript)' if args.prompt_text else ''}, "
          f"seed {s['seed']}; sampling + vocoding {result.seconds:.2f} s (real-time factor {result.rtf:.2f}), "
          f"load {t_load:.2f} s, total {time.perf_counter() - t0:.2f} s", file=sys.stderr)
