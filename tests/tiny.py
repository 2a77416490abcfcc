"""Helpers that build tiny trained-from-scratch models on synthetic data (seconds, CPU)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TOK_ARGS = ["--synthetic", "--limit", "64", "--batch-size", "16", "--channels", "8,16,16",
            "--depth", "4", "--codebook-size", "16", "--code-dim", "4", "--threads", "1"]
IMG_ARGS = ["--synthetic", "--limit", "64", "--batch-size", "16", "--width", "32", "--layers", "1",
            "--heads", "2", "--components", "4", "--rank", "2", "--threads", "1"]


def resgen(*args: str, cwd: Path | None = None, launcher: list[str] | None = None) -> subprocess.CompletedProcess:
    cmd = (launcher or [sys.executable]) + ["-m", "resgen", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=600)


def tiny_model(root: Path, steps: int = 4, depth: int = 4) -> Path:
    """Train a tiny tokenizer (RVQ depth `depth`) + denoiser; returns the model folder (layout of assets/image)."""
    tok, img = root / "tok", root / "img"
    args = TOK_ARGS[:TOK_ARGS.index("--depth")] + ["--depth", str(depth)] + TOK_ARGS[TOK_ARGS.index("--depth") + 2:]
    r = resgen("train", "image-tokenizer", "--out", str(tok), "--steps", str(steps), *args)
    assert r.returncode == 0, r.stderr
    r = resgen("train", "image", "--tokenizer", str(tok), "--out", str(img), "--steps", str(steps), *IMG_ARGS)
    assert r.returncode == 0, r.stderr
    return img


SPEECH_ARGS = ["--synthetic", "--batch-size", "4", "--width", "32", "--layers", "1", "--heads", "2",
               "--components", "4", "--rank", "2", "--max-prompt", "8", "--max-target", "64", "--threads", "1",
               "--prompt-drop", "0.2"]


def tiny_speech_model(root: Path, steps: int = 6) -> Path:
    """Train a tiny TTS model on a synthetic corpus; returns the model folder (layout of assets/speech)."""
    r = resgen("train", "speech", "--out", str(root), "--steps", str(steps), *SPEECH_ARGS)
    assert r.returncode == 0, r.stderr
    return root


def tiny_ar(folder: Path, model_dir: Path, seed: int = 0) -> Path:
    """An untrained tiny autoregressive baseline on the tokens of the image model in `model_dir`
    (same N, D, V; its ar.json names that model's tokenizer), written by resgen.baselines.ar.save_ar."""
    import torch

    from resgen.baselines.ar import ARConfig, RQTransformer, save_ar
    from resgen.core.weights import file_sha256, read_json
    cfg = read_json(model_dir / "config.json")
    den = cfg["denoiser"]
    torch.manual_seed(seed)
    model = RQTransformer(ARConfig(positions=den["positions"], depth=den["depth"], codebook_size=den["codebook_size"],
                                   num_classes=len(cfg["classes"]), width=32, spatial_layers=1, depth_layers=1,
                                   heads=2))
    folder.mkdir(parents=True, exist_ok=True)
    save_ar(model, folder, cfg["tokenizer"], file_sha256(model_dir / "tokenizer.safetensors"), cfg["classes"], 0)
    return folder


def tiny_emoji_model(root: Path, steps: int = 2) -> Path:
    """A tiny colour model (64x64 RGB, 9 emoji categories) trained on a synthetic copy of the emoji packages;
    returns the model folder (layout of assets/image)."""
    from test_emoji_data import _fake_packages

    from resgen.image import emoji_data as ed
    ed.build(_fake_packages(root / "src", per_cat=4), root / "emoji", val=0.25, heldout=0.25)
    common = ["--data", "emoji", "--emoji-data", str(root / "emoji"), "--threads", "1", "--batch-size", "4"]
    r = resgen("train", "image-tokenizer", *common, "--steps", str(steps), "--depth", "3", "--codebook-size", "8",
               "--code-dim", "4", "--channels", "8,8,8,8", "--out", str(root / "tok"))
    assert r.returncode == 0, r.stderr
    r = resgen("train", "image", *common, "--augment-copies", "0", "--tokenizer", str(root / "tok"), "--out",
               str(root / "model"), "--steps", str(steps), "--width", "16", "--layers", "1", "--heads", "2",
               "--components", "4", "--rank", "2")
    assert r.returncode == 0, r.stderr
    return root / "model"


def exported_speech_denoiser(cfg, folder: Path):
    """A speech Denoiser of `cfg` with every weight random (the zero-initialised maps made non-trivial), exported to
    ONNX in `folder`; asserts torch-onnxruntime parity on three shapes -> (denoiser, onnx path)."""
    import torch
    from export.onnx_denoiser import export_denoiser
    from export.parity import parity
    from resgen.core.denoiser import Denoiser
    from resgen.core.weights import save_module
    torch.manual_seed(0)
    den = Denoiser(cfg).eval()
    for p in den.parameters():
        p.data.normal_(0, 0.1)
    w = folder / "d.safetensors"
    save_module(den, w)
    path = export_denoiser(den, w, folder / "d.onnx", "speech")
    for r in parity(den, path, shapes=((1, 5), (2, 24), (3, 17)), task="speech"):
        assert r["logits"] < 1e-4 and r["means"] < 1e-4, r
    return den, path
