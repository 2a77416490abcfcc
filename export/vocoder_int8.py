"""HiFi-GAN's ONNX graph in mixed precision: the residual blocks of chosen upsampling stages in int8, the rest in
float.

Those blocks are most of a CPU's vocoding time (the 128-channel stage alone is 40%); onnxruntime runs them as
QLinearConv (int8 weights per output channel, uint8 activations) about twice as fast. What is always left in float
is what int8 hurts most (measured as the log-mel L1 between the int8 and float audio of validation recordings,
against 0.35 for the float vocoder's own resynthesis error): the input and output convolutions (0.8) and the
transposed-conv upsamplers (0.3). The last stage's blocks may be chosen but give 0.8; the first three stages' blocks
give 0.1 each, 0.14 together.

Activations are calibrated on log-mel windows of WINDOW frames from training utterances (the espeak corpus's training
split; never a validation or held-out voice), with onnxruntime's percentile calibration (99.999%):
min-max lets rare peaks widen the steps (0.17 instead of 0.14).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

WINDOW = 256                     # mel frames per calibration window (3 s)
MAX_WINDOWS = 16                 # the calibrator keeps every activation of every window in memory
BLOCK = re.compile(r"^/resblocks\.(\d+)/")


def calibration_mels(source: Path | str, window: int = WINDOW, limit: int = MAX_WINDOWS,
                     seed: int = 0) -> list[np.ndarray]:
    """Log-mel windows (1, 80, window) to calibrate on: from a speech corpus folder (`resgen data speech`), `limit`
    utterances of its training split drawn with `seed`; or from a folder of WAVs, every file's windows in turn.
    Several folders, comma-separated: their windows taken in turn (one from each, then the next), `limit` in all."""
    parts = [p for p in str(source).split(",") if p]
    if len(parts) > 1:
        each = [calibration_mels(Path(p), window, limit, seed) for p in parts]
        mixed = [w[k] for k in range(max(map(len, each))) for w in each if k < len(w)]
        return mixed[:limit]
    from resgen.speech.audio import load_audio, log_mel
    source = Path(source)
    if (source / "train.npz").exists():
        f = np.load(source / "train.npz")
        offsets = f["audio_offsets"]
        long_enough = np.flatnonzero(np.diff(offsets) >= window * 256)
        pick = np.random.default_rng(seed).permutation(long_enough)[:limit]
        audio = f["audio"]
        clips = [audio[offsets[i]:offsets[i + 1]].astype(np.float32) / 32768 for i in sorted(pick)]
    else:
        clips = [load_audio(w) for w in sorted(source.glob("*.wav"))]
    per_clip = []
    for clip in clips:
        mel = log_mel(torch.from_numpy(clip))
        mel = mel if mel.dim() == 3 else mel[None]
        per_clip.append([mel[..., s:s + window].numpy().astype(np.float32)
                         for s in range(0, mel.shape[-1] - window + 1, window)])
    out = []
    for k in range(max((len(w) for w in per_clip), default=0)):          # round robin: every clip before seconds
        out += [w[k] for w in per_clip if k < len(w)]
    if not out:
        raise ValueError(f"no speech of at least {window} mel frames in {source} to calibrate the int8 vocoder on")
    return out[:limit]


def int8_nodes(graph, stages: tuple[int, ...], kernels: tuple[int, ...],
               float_blocks: tuple[tuple[int, int], ...] = ()) -> list[str]:
    """The Conv nodes inside the residual blocks of the upsampling stages `stages` (1 = the first, 512 -> 256
    channels; HiFi-GAN V1 has 4), but for the blocks in float_blocks, each (stage, kernel); `kernels`: the residual
    blocks' kernels in each stage (V1: 3, 7, 11)."""
    names = []
    for node in graph.node:
        m = BLOCK.match(node.name)
        if node.op_type != "Conv" or not m:
            continue
        stage, j = divmod(int(m.group(1)), len(kernels))
        if stage + 1 in stages and (stage + 1, kernels[j]) not in float_blocks:
            names.append(node.name)
    return names


def quantise(float_graph: Path, out: Path, stages: tuple[int, ...], kernels: tuple[int, ...],
             mels: list[np.ndarray], float_blocks: tuple[tuple[int, int], ...] = ()) -> Path:
    """float_graph (float32 initialisers, as torch.onnx.export writes them) -> `out` with the chosen blocks'
    convolutions as QuantizeLinear / DequantizeLinear pairs around them (QDQ; onnxruntime fuses them into
    QLinearConv when it opens the file)."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    graph = onnx.load(str(float_graph)).graph
    nodes, name = int8_nodes(graph, stages, kernels, float_blocks), graph.input[0].name
    if not nodes:
        raise ValueError(f"no residual-block convolutions in stages {stages} of {float_graph}")

    class Windows(CalibrationDataReader):
        def __init__(self):
            self.it = iter(mels)

        def get_next(self):
            mel = next(self.it, None)
            return None if mel is None else {name: mel}

    quantize_static(str(float_graph), str(out), Windows(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.Percentile, nodes_to_quantize=nodes)
    return out
