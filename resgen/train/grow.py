"""Start a grown speech model from a trained smaller one: deeper (`resgen train speech --init M --layers L`) and/or
with a global voice vector (`--voice-vector`) or self-conditioning (`--self-cond`) added.

The grown model takes every weight of the smaller one; the denoiser blocks past the smaller model's last one are
appended fresh, and so are the voice vector's and the estimate's input maps. A fresh block is the identity: adaLN-Zero
initialises its gates to zero and its local convolution's output to zero; the voice map's last layer and the
estimate's map start at zero. So the grown model computes exactly what the smaller one did until training moves the
new parts (DiT's argument for adaLN-Zero).
"""
from __future__ import annotations

from dataclasses import replace
from fnmatch import fnmatchcase
from pathlib import Path

import torch

from resgen.core.config import SpeechModelConfig
from resgen.core.weights import ModelFileError, read_state


def grows(small: SpeechModelConfig, big: SpeechModelConfig) -> bool:
    """True when `big` is `small` with more denoiser blocks, a voice vector and/or self-conditioning added, nothing
    else changed."""
    deeper = big.denoiser.layers >= small.denoiser.layers
    voiced = big.denoiser.voice_cond >= 0 and small.denoiser.voice_cond < 0
    selfc = big.denoiser.self_cond and not small.denoiser.self_cond
    same = replace(big, denoiser=replace(big.denoiser, layers=small.denoiser.layers,
                                         voice_cond=small.denoiser.voice_cond,
                                         self_cond=small.denoiser.self_cond)) == small
    return deeper and same and (big.denoiser.layers > small.denoiser.layers or voiced or selfc)


def load_grown(model: torch.nn.Module, path: str | Path, small_layers: int) -> torch.nn.Module:
    """Load a smaller model's weights into `model` (a SpeechModel with more blocks or a voice vector); the blocks
    from `small_layers` on and the voice map keep their fresh (identity) initialisation. Any other mismatch is
    refused."""
    path = Path(path)
    state = read_state(path)
    layers = len(model.denoiser.blocks)
    new = tuple(f"denoiser.blocks.{i}." for i in range(small_layers, layers))
    if not any(k.startswith("denoiser.voice.") for k in state):          # the voice vector is new too
        new += ("denoiser.voice.",)
    if not any(k.startswith("denoiser.prev_in.") for k in state):        # so is self-conditioning's input map
        new += ("denoiser.prev_in.",)
    ours = model.state_dict()
    unexpected = sorted(set(state) - set(ours))
    missing = sorted(k for k in set(ours) - set(state) if not k.startswith(new))
    grown = [k for k in state if k.startswith(new)]
    if unexpected or missing or grown:
        first = (unexpected or missing or grown)[0]
        raise ModelFileError(f"{path} is not the {small_layers}-block version of this model (first mismatch: {first})")
    try:
        model.load_state_dict(state, strict=False)
    except RuntimeError as e:
        raise ModelFileError(f"{path} does not match: {str(e).splitlines()[0]}") from None
    return model


def freeze_except(model: torch.nn.Module, patterns: list[str]) -> int:
    """Train only the parameters whose names match one of the glob `patterns` (for example the voice map and the
    adaLN layers of a model grown with a voice vector: the new part learns, the rest cannot drift); -> how many
    parameters stay trainable. Raises ValueError when no name matches."""
    kept = 0
    for name, p in model.named_parameters():
        p.requires_grad_(any(fnmatchcase(name, pat) for pat in patterns))
        kept += p.numel() if p.requires_grad else 0
    if not kept:
        raise ValueError(f"no parameter matches {', '.join(patterns)} (names look like denoiser.blocks.0.ada.1.weight)")
    return kept
