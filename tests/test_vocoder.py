
import numpy as np
import pytest
import torch

import resgen
from resgen.speech.audio import log_mel
from resgen.speech.vocoder import (HifiGan, HifiGanConfig, config_of, fold_weight_norm, griffin_lim, load_hifigan,
                                   student_of, vocode)
from resgen.core.weights import ModelFileError

SHIPPED = resgen.assets_dir() / "speech" / "vocoder.safetensors"


def _speech_like(seconds=1.0, sr=22050) -> torch.Tensor:
    """A vowel-ish harmonic tone with a moving pitch."""
    t = np.arange(int(seconds * sr)) / sr
    f0 = 140 + 30 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 20)) * 0.1
    return torch.from_numpy(x.astype(np.float32))


def test_fold_weight_norm_matches_torch():
    conv = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv1d(4, 6, 3))
    g = conv.parametrizations.weight.original0.detach()
    v = conv.parametrizations.weight.original1.detach()
    folded = fold_weight_norm({"c.weight_g": g, "c.weight_v": v, "c.bias": conv.bias.detach()})
    assert set(folded) == {"c.weight", "c.bias"}
    assert torch.allclose(folded["c.weight"], conv.weight.detach(), atol=1e-6)


def test_hifigan_shapes_and_range():
    m = HifiGan(HifiGanConfig(channels=32)).eval()
    with torch.no_grad():
        y = m(torch.randn(2, 80, 10))
    assert y.shape == (2, 10 * 256) and y.abs().max() <= 1


def test_a_student_keeps_the_chosen_blocks_and_loads_from_its_weights(tmp_path):
    from safetensors.torch import save_file
    torch.manual_seed(0)
    teacher = HifiGan(HifiGanConfig(channels=32)).eval()
    student = student_of(teacher, (7, 3)).eval()                       # order given does not matter
    assert student.cfg.resblock_kernels == (3, 7) and student.cfg.channels == 32
    assert len(student.resblocks) == 8 and len(teacher.resblocks) == 12
    t, s = teacher.state_dict(), student.state_dict()
    for stage in range(4):                                            # blocks 0 and 1 of each stage, copied
        for j in range(2):
            for name in ("convs1.2.weight", "convs2.0.bias"):
                assert torch.equal(s[f"resblocks.{stage * 2 + j}.{name}"], t[f"resblocks.{stage * 3 + j}.{name}"])
    assert torch.equal(s["conv_pre.weight"], t["conv_pre.weight"]) and torch.equal(s["ups.3.weight"], t["ups.3.weight"])
    weights = [sum(p.numel() for n, p in m.named_parameters() if n.endswith("weight") and "resblocks" in n)
               for m in (student, teacher)]
    assert weights[0] * 21 == weights[1] * 10                         # 3 + 7 of 3 + 7 + 11 taps in every block
    assert config_of(s) == student.cfg and config_of(t) == teacher.cfg
    save_file({k: v.contiguous() for k, v in s.items()}, str(tmp_path / "student.safetensors"))
    mel = torch.randn(1, 80, 12)
    with torch.no_grad():
        assert torch.equal(load_hifigan(tmp_path / "student.safetensors")(mel), student(mel))
        assert not torch.allclose(student(mel), teacher(mel))           # it is another generator
    for bad in ((), (5,), (3, 3)):
        with pytest.raises(ValueError, match="kernels must be"):
            student_of(teacher, bad)


def test_griffin_lim_resynthesises_the_mel():
    x = _speech_like()
    mel = log_mel(x)
    y = griffin_lim(mel, iters=32)
    assert y.shape == (1, mel.shape[-1] * 256)
    err = (log_mel(y[0]) - mel).abs().mean()
    noise = (log_mel(torch.randn_like(x) * 0.1) - mel).abs().mean()
    assert err < 0.25 * noise


def test_shipped_hifigan_resynthesises_the_mel():
    m = load_hifigan(SHIPPED)
    x = _speech_like()
    mel = log_mel(x)
    y = vocode(mel, "hifigan", m)
    err = (log_mel(y[0]) - mel).abs().mean()
    noise = (log_mel(torch.randn_like(x) * 0.1) - mel).abs().mean()
    assert err < 0.25 * noise
    with pytest.raises(ValueError, match="unknown vocoder"):
        vocode(mel, "wavenet")


def test_missing_or_wrong_vocoder_file(tmp_path):
    with pytest.raises(ModelFileError, match="missing vocoder"):
        load_hifigan(tmp_path / "none.safetensors")
    from safetensors.torch import save_file
    save_file({"x": torch.zeros(2)}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(ModelFileError, match="not a HiFi-GAN"):
        load_hifigan(tmp_path / "bad.safetensors")


def test_shipped_vocoder_onnx_is_current_and_close_to_torch():
    """The shipped graph runs the residual blocks of stages 1-3 in int8 but stage 3's 11-tap block (docs/backends.md):
    the same audio as the float module up to int8's rounding."""
    from resgen.speech.vocoder_backends import open_onnx
    session, why = open_onnx(SHIPPED)
    assert why is None, why                             # present, loads, exported from these very weights
    assert session.metadata["int8_stages"] == "1,2,3" and session.metadata["int8_float_blocks"] == "3:11"
    mel = log_mel(_speech_like(0.5))
    ref = vocode(mel, "hifigan", load_hifigan(SHIPPED))
    got = vocode(mel, "hifigan", session)
    assert got.shape == ref.shape and 0 < (got - ref).abs().max() < 0.2
    assert float((log_mel(got[0]) - log_mel(ref[0])).abs().mean()) < 0.3        # 0.21: the tone's empty bands lift
    assert np.corrcoef(got[0].numpy(), ref[0].numpy())[0, 1] > 0.95


def _vocoder_dir(tmp_path):
    import shutil
    for name in ("vocoder.safetensors", "vocoder.onnx"):
        shutil.copy(SHIPPED.with_name(name), tmp_path / name)
    return tmp_path / "vocoder.safetensors"


@pytest.mark.parametrize("faster", ["torch", "onnx"])
def test_vocoder_auto_takes_the_faster_backend_measured_once(tmp_path, monkeypatch, faster):
    import json

    from resgen.core import backend_choice
    from resgen.speech.vocoder_backends import OrtHifiGan, load_vocoder
    monkeypatch.setenv("RESGEN_CACHE", str(tmp_path))
    calls = []

    def fake_measure(torch_fn, ort_fn, inputs, repeats=7):
        calls.append(repeats)
        a, b = torch_fn(*inputs), ort_fn(*inputs)                 # both really run on the probe mel
        assert a.shape == b.shape and a.abs().max() > 0 and b.abs().max() > 0   # float and part-int8 audio
        return {"torch": 1.0, "onnx": 2.0} if faster == "torch" else {"torch": 2.0, "onnx": 1.0}
    monkeypatch.setattr(backend_choice, "measure", fake_measure)
    weights = _vocoder_dir(tmp_path)
    want = "torch" if faster == "torch" else "onnxruntime"
    fn, name = load_vocoder(weights, "auto")
    assert name == want and isinstance(fn, OrtHifiGan) == (faster == "onnx")
    assert load_vocoder(weights, "auto")[1] == want and len(calls) == 1            # the second from the cache
    record = next(iter(json.loads((tmp_path / "backend_choice.json").read_text()).values()))
    assert record["choice"] == faster
    assert load_vocoder(weights, "torch")[1] == "torch" and load_vocoder(weights, "onnx")[1] == "onnxruntime"
    with pytest.raises(ValueError, match="unknown backend"):
        load_vocoder(weights, "tensorrt")


def test_missing_or_stale_vocoder_onnx_falls_back_to_torch(tmp_path):
    from safetensors.torch import load_file, save_file

    from resgen.speech.vocoder_backends import load_vocoder
    weights = _vocoder_dir(tmp_path)
    state = load_file(str(weights))
    state["conv_post.bias"] = state["conv_post.bias"] + 0.5        # other weights: the graph is stale
    save_file(state, str(weights))
    with pytest.warns(UserWarning, match="stale"):
        assert load_vocoder(weights, "onnx")[1] == "torch"
    weights.with_suffix(".onnx").unlink()
    with pytest.warns(UserWarning, match="not found"):
        assert load_vocoder(weights, "auto")[1] == "torch"


def test_speech_pipeline_vocodes_on_the_backend_asked_for():
    mel = log_mel(_speech_like(0.3))[0]
    out = {}
    for backend in ("torch", "onnx"):
        pipe = resgen.load("speech", backend=backend)
        assert pipe.vocoder_backend is None and pipe.vocoder_precision is None   # HiFi-GAN loads on first use
        out[backend] = pipe.vocode(mel)
        assert pipe.vocoder_backend == {"torch": "torch", "onnx": "onnxruntime"}[backend]
        assert pipe.vocoder_precision == {"torch": "float", "onnx": "int8 stages 1,2,3 (3:11 float)"}[backend]
    assert out["torch"].shape == out["onnx"].shape == (mel.shape[-1] * 256,)
    assert 0 < abs(out["torch"] - out["onnx"]).max() < 0.2                  # float and part-int8
    assert np.corrcoef(out["torch"], out["onnx"])[0, 1] > 0.95
