"""Files a tab offers for download: the trace of a run (.npz), and a speech run's audio after every step (.zip)."""
from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import numpy as np


def trace_file(arrays: dict, task: str) -> str:
    """The run's trace as a .npz (format in resgen/core/trace.py), without the app's private meta keys -> path."""
    from resgen.core.trace import save_trace_arrays
    meta = {k: v for k, v in arrays["meta"].items() if not k.startswith("_")}
    path = Path(tempfile.mkdtemp(prefix="resgen-")) / f"resgen-{task}-seed{meta['seed']}.npz"
    save_trace_arrays(path, arrays, meta)
    return str(path)


def as_spoken(pipe, arrays: dict, mel):
    """A mel decoded from a speech run's trace, through that run's correction and postfilter, as its speech was
    made."""
    from resgen.speech.correction import Correction
    from resgen.speech.postfilter import check_contrast
    fix = Correction.from_dict(arrays["meta"].get("correction_map"))
    mel = mel if fix is None else fix.apply(mel)
    return pipe.postfilter.apply(mel, check_contrast(arrays["meta"].get("contrast", 0.0)))    # a number or per band group


def prompt_codes(arrays: dict):
    """A speech run's prompt codes (Np, D), int64 tensor: the context its target is decoded behind
    (SpeechPipeline.decode)."""
    import torch
    return torch.from_numpy(arrays["codes"][-1, 0, : arrays["meta"]["prompt_positions"]].astype(np.int64))


def speech_steps_zip(pipe, arrays: dict) -> str:
    """One WAV per step (Griffin-Lim) from the target tokens revealed so far, through the run's postfilter, zipped
    -> path."""
    import soundfile as sf
    import torch
    Np = arrays["meta"]["prompt_positions"]
    folder = Path(tempfile.mkdtemp(prefix="resgen-"))
    path = folder / f"resgen-speech-seed{arrays['meta']['seed']}-steps.zip"
    with zipfile.ZipFile(path, "w") as z:
        for t in range(len(arrays["codes"])):
            codes = torch.from_numpy(arrays["codes"][t, 0, Np:].astype(np.int64))
            mel = as_spoken(pipe, arrays, pipe.decode_partial(codes, torch.from_numpy(arrays["mask"][t, 0, Np:]),
                                                              prompt_codes(arrays)))
            wav = folder / f"step_{t + 1:02d}.wav"
            sf.write(wav, pipe.vocode(mel, "griffin-lim"), 22050, subtype="PCM_16")
            z.write(wav, wav.name)
    return str(path)
