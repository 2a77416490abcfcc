"""The shipped image model: loads, samples the requested classes, and its files match their hashes."""
import json

import pytest
import torch

import resgen
from resgen.eval.classifier import Classifier
from resgen.core.weights import file_sha256, load_module

MODEL = resgen.assets_dir() / "image"


def test_files_match_their_hashes():
    cfg = json.loads((MODEL / "config.json").read_text())
    for name, sha in cfg["files"].items():
        assert file_sha256(MODEL / name) == sha, name


@pytest.fixture(scope="module")
def pipe():
    return resgen.load("image", backend="torch")


def test_samples_are_labelled_as_requested(pipe):
    clf = load_module(Classifier(), MODEL / "classifier.safetensors").eval()
    labels = list(range(10)) * 5                                # 50 images, 5 per class
    res = pipe.generate(labels, steps=16, cfg=3.0, seed=0)
    assert res.images.shape == (50, 28, 28)
    pred = clf.predict(torch.from_numpy(res.images).float() / 255)
    acc = (pred == torch.tensor(labels)).float().mean().item()
    assert acc >= 0.8, f"classifier agreed with the requested class on {acc:.0%} of samples"
    # not collapsed: images of one class differ from each other
    assert res.images[0::10].std(0).mean() > 5


def test_denoiser_calls_do_not_depend_on_depth(pipe):
    calls = []
    inner = pipe.predict

    def counting(tokens, cond):
        calls.append(tokens.shape)
        return inner(tokens, cond)

    pipe.predict = counting
    try:
        pipe.generate([1, 2], steps=8, cfg=2.0, seed=0)
        pipe.generate([1, 2], steps=8, cfg=1.0, seed=0)
    finally:
        pipe.predict = inner
    assert len(calls) == 8 + 8                       # one call a step, with or without guidance
    assert calls[0] == (4, 64, pipe.depth)           # with guidance: the 2 rows with and the 2 without the class
    assert calls[-1] == (2, 64, pipe.depth)


def test_shipped_onnx_is_current_and_matches_torch(pipe, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from export.onnx_denoiser import export_denoiser
    from export.parity import parity
    from resgen.core.backends import load_onnx
    assert load_onnx(MODEL, file_sha256(MODEL / "denoiser.safetensors"))[1] is None   # not stale
    for r in parity(pipe.denoiser, MODEL / "denoiser.onnx", shapes=((1, None), (5, None))):
        assert r["logits"] < 1e-4 and r["means"] < 1e-4, r
    fresh = export_denoiser(pipe.denoiser, MODEL / "denoiser.safetensors", tmp_path / "d.onnx", "image")
    for r in parity(pipe.denoiser, fresh, shapes=((2, None),)):
        assert r["logits"] < 1e-4 and r["means"] < 1e-4, r
