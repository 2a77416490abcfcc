"""ONNX export and the onnxruntime backend on a tiny model."""
import json
import shutil
import sys

import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import resgen  # noqa: E402
from export.onnx_denoiser import export_denoiser, example_inputs  # noqa: E402
from export.parity import parity  # noqa: E402
from resgen.core.backends import OrtPredict  # noqa: E402
from resgen.core.config import DenoiserConfig, MoGConfig  # noqa: E402
from resgen.core.denoiser import Denoiser  # noqa: E402
from resgen.core.weights import save_module  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny-onnx") / "m"
    shutil.copytree(tiny_model_dir, d)
    pipe = resgen.load("image", backend="torch", model_dir=d)
    export_denoiser(pipe.denoiser, d / "denoiser.safetensors", d / "denoiser.onnx", "image")
    return d


def test_random_denoiser_matches_torch(tmp_path):
    torch.manual_seed(0)
    cfg = DenoiserConfig(positions=32, depth=4, codebook_size=16, code_dim=4, width=32, layers=2, heads=2,
                         mog=MoGConfig(components=4, rank=2))
    den = Denoiser(cfg).eval()
    for p in den.parameters():                      # adaLN-Zero starts at zero: make it non-trivial
        p.data.normal_(0, 0.1)
    w = tmp_path / "d.safetensors"
    save_module(den, w)
    path = export_denoiser(den, w, tmp_path / "d.onnx", "image")
    rows = parity(den, path, shapes=((1, 32), (3, 32), (8, 16), (2, 7)))
    for r in rows:
        assert r["logits"] < 1e-4 and r["means"] < 1e-4, r
    meta = OrtPredict(path, provider="cpu").metadata
    assert meta["resgen_task"] == "image" and len(meta["weights_sha256"]) == 64


def test_sampling_on_both_backends_agrees(model_dir):
    a = resgen.load("image", backend="torch", model_dir=model_dir)
    b = resgen.load("image", backend="onnx", model_dir=model_dir)
    assert a.backend.startswith("torch") and b.backend.startswith("onnxruntime")
    ra = a.generate(list(range(10)) * 2, steps=8, cfg=2.0, seed=5)
    rb = b.generate(list(range(10)) * 2, steps=8, cfg=2.0, seed=5)
    same = (ra.codes == rb.codes).float().mean().item()
    assert same >= 0.99, same


@pytest.mark.parametrize("faster", ["torch", "onnx"])
def test_auto_on_a_cpu_takes_the_faster_backend_measured_once(model_dir, tmp_path, monkeypatch, faster):
    from resgen.core import backend_choice
    monkeypatch.setenv("RESGEN_CACHE", str(tmp_path))
    calls = []

    def fake_measure(torch_fn, ort_fn, inputs, repeats=7):
        calls.append([tuple(x.shape) for x in inputs])
        torch_fn(*inputs), ort_fn(*inputs)                     # both really run on the probe inputs
        return {"torch": 1.0, "onnx": 2.0} if faster == "torch" else {"torch": 2.0, "onnx": 1.0}
    monkeypatch.setattr(backend_choice, "measure", fake_measure)
    want = "torch (cpu)" if faster == "torch" else "onnxruntime (CPU)"
    assert resgen.load("image", backend="auto", model_dir=model_dir).backend == want
    assert resgen.load("image", backend="auto", model_dir=model_dir).backend == want      # from the cache
    assert len(calls) == 1 and calls[0][0][0] == 2                   # one probe: a CFG batch of 2
    record = next(iter(json.loads((tmp_path / "backend_choice.json").read_text()).values()))
    assert record["choice"] == faster and set(record["seconds_per_call"]) == {"torch", "onnx"}
    assert resgen.load("image", backend="onnx", model_dir=model_dir).backend == "onnxruntime (CPU)"   # asked for


def test_auto_measures_for_real_and_keeps_the_faster(model_dir, tmp_path, monkeypatch):
    from resgen.core import backend_choice
    monkeypatch.setenv("RESGEN_CACHE", str(tmp_path))
    pipe = resgen.load("image", backend="auto", model_dir=model_dir)
    record = next(iter(json.loads((tmp_path / "backend_choice.json").read_text()).values()))
    secs = record["seconds_per_call"]
    assert secs["torch"] > 0 and secs["onnx"] > 0 and record["choice"] == min(secs, key=secs.get)
    assert pipe.backend == ("torch (cpu)" if record["choice"] == "torch" else "onnxruntime (CPU)")
    assert backend_choice.cpu_name() in next(iter(json.loads((tmp_path / "backend_choice.json").read_text())))


def test_stale_onnx_falls_back_to_torch(model_dir, tmp_path):
    d = tmp_path / "m"
    shutil.copytree(model_dir, d)
    other = Denoiser(resgen.load("image", backend="torch", model_dir=d).den_cfg)
    export_denoiser(other, d / "tokenizer.safetensors", d / "denoiser.onnx", "image")   # wrong hash
    with pytest.warns(UserWarning, match="stale"):
        pipe = resgen.load("image", backend="auto", model_dir=d)
    assert pipe.backend.startswith("torch")


def test_missing_onnx_or_onnxruntime_falls_back(model_dir, tmp_path, monkeypatch):
    d = tmp_path / "m"
    shutil.copytree(model_dir, d)
    (d / "denoiser.onnx").unlink()
    with pytest.warns(UserWarning, match="not found"):
        assert resgen.load("image", backend="onnx", model_dir=d).backend.startswith("torch")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)          # import fails
    with pytest.warns(UserWarning, match="onnxruntime is not installed"):
        assert resgen.load("image", backend="auto", model_dir=model_dir).backend.startswith("torch")


def test_example_inputs_cover_mask_and_null_ids():
    cfg = DenoiserConfig()
    tokens, labels = example_inputs(cfg, batch=64)
    assert tokens.max() <= cfg.codebook_size and labels.max() <= cfg.num_classes


# ---- the speech denoiser: (tokens, cond) with a condition id per position -------------------------
@pytest.fixture(scope="module")
def speech_dir(tiny_speech_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny-speech-onnx") / "m"
    shutil.copytree(tiny_speech_dir, d)
    from export.onnx_denoiser import export_task
    export_task("speech", d)
    return d


def test_speech_export_matches_torch(speech_dir):
    pipe = resgen.load("speech", backend="torch", model_dir=speech_dir)
    for p in pipe.model.denoiser.parameters():       # non-trivial weights: adaLN-Zero starts near zero
        p.data.normal_(0, 0.1)
    from export.onnx_denoiser import export_denoiser
    path = export_denoiser(pipe.model.denoiser, speech_dir / "model.safetensors", speech_dir / "random.onnx", "speech")
    cfg = pipe.cfg.denoiser
    rows = parity(pipe.model.denoiser, path, shapes=((1, 5), (2, cfg.positions), (3, 17)), task="speech")
    for r in rows:
        assert r["logits"] < 1e-4 and r["means"] < 1e-4, r
    meta = OrtPredict(path, provider="cpu").metadata
    assert meta["resgen_task"] == "speech"
    assert OrtPredict(path, provider="cpu").input_names == ["tokens", "cond"]


def test_speech_sampling_on_both_backends_agrees(speech_dir):
    from test_speech_pipeline import SR, _tone
    a = resgen.load("speech", backend="torch", model_dir=speech_dir)
    b = resgen.load("speech", backend="onnx", model_dir=speech_dir)
    assert a.backend.startswith("torch") and b.backend == "onnxruntime (CPU)"
    ra = a.generate("The quick brown fox jumps.", _tone(), SR, steps=6, cfg=2.0, seed=4, vocoder="griffin-lim")
    rb = b.generate("The quick brown fox jumps.", _tone(), SR, steps=6, cfg=2.0, seed=4, vocoder="griffin-lim")
    assert ra.codes.shape == rb.codes.shape
    assert (ra.codes == rb.codes).float().mean().item() >= 0.99


def test_speech_stale_onnx_falls_back(speech_dir, tmp_path):
    d = tmp_path / "m"
    shutil.copytree(speech_dir, d)
    pipe = resgen.load("speech", backend="torch", model_dir=d)
    from export.onnx_denoiser import export_denoiser
    export_denoiser(pipe.model.denoiser, d / "tokenizer.safetensors", d / "denoiser.onnx", "speech")  # wrong hash
    with pytest.warns(UserWarning, match="stale"):
        assert resgen.load("speech", backend="onnx", model_dir=d).backend.startswith("torch")
