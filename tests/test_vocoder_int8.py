"""The part-int8 HiFi-GAN graph (export/vocoder_int8.py) on a small generator: which convolutions become int8,
the calibration windows, and that the int8 graph still computes the float one's audio."""
import numpy as np
import pytest
import torch

from resgen.speech.vocoder import HifiGan, HifiGanConfig

SMALL = HifiGanConfig(channels=32)


def _speech_like(seconds: float, f0: float, sr: int = 22050) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    phase = 2 * np.pi * np.cumsum(f0 + 20 * np.sin(2 * np.pi * 2 * t)) / sr
    return (sum(np.sin(k * phase) / k for k in range(1, 15)) * 0.1).astype(np.float32)


def _small_graph(path):
    torch.manual_seed(0)
    model = HifiGan(SMALL).eval()
    torch.onnx.export(model, (torch.full((1, 80, 32), -5.0),), str(path), dynamo=False, opset_version=17,
                      input_names=["mel"], output_names=["audio"],
                      dynamic_axes={"mel": {0: "B", 2: "F"}, "audio": {0: "B", 1: "T"}})
    return model


def _wavs(folder, seconds=(1.0, 0.6, 2.0)):
    import soundfile as sf
    folder.mkdir()
    for i, s in enumerate(seconds):
        sf.write(str(folder / f"v{i}.wav"), _speech_like(s, 110 + 40 * i), 22050)
    return folder


def test_calibration_windows_come_round_robin_from_every_file(tmp_path):
    from export.vocoder_int8 import calibration_mels
    folder = _wavs(tmp_path / "wavs")
    mels = calibration_mels(folder, window=32, limit=100)
    frames = [1.0, 0.6, 2.0]
    counts = [int(s * 22050 / 256 + 1) // 32 for s in frames]           # whole windows in each file
    assert len(mels) == sum(counts) and all(m.shape == (1, 80, 32) and m.dtype == np.float32 for m in mels)
    assert [m.tobytes() for m in calibration_mels(folder, window=32, limit=3)] == [m.tobytes() for m in mels[:3]]
    assert not np.array_equal(mels[0], mels[1])                          # the first window of two different files
    with pytest.raises(ValueError, match="no speech of at least"):
        calibration_mels(folder, window=10_000)
    other = _wavs(tmp_path / "more", (0.5,))                               # one window
    both = calibration_mels(f"{folder},{other}", window=32, limit=4)    # folders take turns, the limit in all
    mine = calibration_mels(other, window=32)
    assert [m.tobytes() for m in both] == [x.tobytes() for x in (mels[0], mine[0], mels[1], mels[2])]


def test_only_the_first_stages_residual_blocks_become_int8(tmp_path):
    import onnx

    from export.vocoder_int8 import int8_nodes, quantise
    from resgen.speech.audio import log_mel
    model = _small_graph(tmp_path / "float.onnx")
    graph = onnx.load(str(tmp_path / "float.onnx")).graph
    kernels = SMALL.resblock_kernels
    k = len(kernels)
    picked = int8_nodes(graph, (1, 3), kernels)
    assert len(picked) == 2 * k * 2 * len(SMALL.dilations)                # 2 stages x 3 blocks x 6 convolutions
    assert {int(n.split("/")[1].split(".")[1]) // k + 1 for n in picked} == {1, 3}
    but = int8_nodes(graph, (1, 3), kernels, float_blocks=((3, 11), (2, 7)))   # (2, 7) is not in an int8 stage
    assert set(but) == {n for n in picked if not n.startswith(f"/resblocks.{2 * k + 2}/")}
    assert len(but) == len(picked) - 6
    calib = [log_mel(torch.from_numpy(_speech_like(1.0, f))).numpy()[..., :64] for f in (100, 160, 220)]
    out = quantise(tmp_path / "float.onnx", tmp_path / "int8.onnx", (1, 3), kernels, calib)
    q = onnx.load(str(out)).graph
    dequantised = {o for n in q.node if n.op_type == "DequantizeLinear" for o in n.output}
    int8_convs = {c.name for c in q.node if c.op_type == "Conv" and c.input[1] in dequantised}
    assert int8_convs == set(picked)                                    # those, and no upsampler or pre/post conv

    import onnxruntime as ort
    mel = log_mel(torch.from_numpy(_speech_like(0.8, 130)))
    ref = model(mel).detach().numpy()
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"mel": mel.numpy()})[0]
    assert got.shape == ref.shape
    assert np.corrcoef(ref.ravel(), got.ravel())[0, 1] > 0.95           # the same audio, up to int8 rounding
    assert not np.array_equal(ref, got)
    with pytest.raises(ValueError, match="no residual-block"):
        quantise(tmp_path / "float.onnx", tmp_path / "none.onnx", (), kernels, calib)


def test_stage_and_block_lists_on_the_command_line():
    import argparse

    from export.__main__ import block_list, stage_list
    assert stage_list("2") == (2,) and stage_list("3,1,1") == (1, 3)
    for bad in ("0", "5", "a", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            stage_list(bad)
    assert block_list("3:11") == ((3, 11),) and block_list("3:11,2:7,3:11") == ((2, 7), (3, 11))
    for bad in ("3", "3:a", "", "3:11:1"):
        with pytest.raises(argparse.ArgumentTypeError):
            block_list(bad)


def test_export_of_the_shipped_vocoder_with_an_int8_stage(tmp_path):
    """The whole path on the real HiFi-GAN: float weights kept float16, stage 2 in int8, stamped, opened by the
    pipeline's loader, and close to the float audio."""
    import shutil

    import onnx

    import resgen
    from export.vocoder import export_onnx
    from resgen.speech.audio import log_mel
    from resgen.speech.vocoder import load_hifigan
    from resgen.speech.vocoder_backends import load_vocoder
    weights = tmp_path / "vocoder.safetensors"
    shutil.copy(resgen.assets_dir() / "speech" / "vocoder.safetensors", weights)
    out = export_onnx(weights, int8_stages=(2,), calibration=_wavs(tmp_path / "wavs", (3.2, 3.1)))
    g = onnx.load(str(out))
    meta = {p.key: p.value for p in g.metadata_props}
    assert meta["int8_stages"] == "2" and meta["int8_calibration"] == "wavs" and meta["int8_float_blocks"] == "none"
    dequantised = {o for n in g.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    blocks = {c.name.split("/")[1] for c in g.graph.node if c.op_type == "Conv" and c.input[1] in dequantised}
    assert blocks == {"resblocks.3", "resblocks.4", "resblocks.5"}
    assert any(n.op_type == "Cast" for n in g.graph.node)                # the float weights stay float16 on disk
    assert out.stat().st_size < 0.97 * weights.stat().st_size         # a float graph is the float16 weights' size
    fn, name = load_vocoder(weights, "onnx")
    assert name == "onnxruntime" and fn.metadata["int8_stages"] == "2"
    mel = log_mel(torch.from_numpy(_speech_like(0.5, 140)))
    with torch.no_grad():
        ref, got = load_hifigan(weights)(mel), fn(mel)
    err = float((log_mel(ref) - log_mel(got)).abs().mean())
    assert 0 < err < 0.15, err
    for blocks in (((3, 11),), ((2, 5),)):                           # not in an int8 stage; no such kernel
        with pytest.raises(ValueError, match="float blocks"):
            export_onnx(weights, tmp_path / "x.onnx", int8_stages=(2,), calibration=tmp_path / "wavs",
                        float_blocks=blocks)
