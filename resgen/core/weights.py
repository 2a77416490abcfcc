"""Model files: `<name>.safetensors` + a `config.json` section, with a content hash.

The hash (sha256 of the safetensors bytes) lets derived files (the ONNX export) detect that the
weights they came from have changed.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


class ModelFileError(RuntimeError):
    """A model file is missing, unreadable or does not match its config."""


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_module(module: torch.nn.Module, path: str | Path) -> str:
    """Saves the state dict (contiguous, shared tensors cloned) and returns its sha256. Written beside the file and
    moved over it, so a run stopped mid-write (a time limit) leaves the previous checkpoint whole."""
    state = {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp))
    os.replace(tmp, path)
    return file_sha256(path)


def read_state(path: str | Path) -> dict[str, torch.Tensor]:
    """A safetensors file -> its tensors; a missing or unreadable file raises ModelFileError."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"missing model file {path}")
    try:
        return load_file(str(path))
    except Exception as e:  # safetensors raises several types for corrupt files
        raise ModelFileError(f"cannot read {path}: {e}") from None


def load_module(module: torch.nn.Module, path: str | Path) -> torch.nn.Module:
    path = Path(path)
    state = read_state(path)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).splitlines()[0]
        raise ModelFileError(f"{path} does not match its config: {first}") from None
    return module


def read_json(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"missing {path}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFileError(f"cannot parse {path}: {e}") from None


def check_files(model_dir: str | Path, meta: dict, meta_name: str = "config.json") -> None:
    """Raise ModelFileError when a weight file listed in meta["files"] (name -> sha256) is missing
    or differs from its hash (stale or corrupt)."""
    model_dir = Path(model_dir)
    for name, sha in meta.get("files", {}).items():
        path = model_dir / name
        if not path.exists():
            raise ModelFileError(f"missing model file {path}")
        if file_sha256(path) != sha:
            raise ModelFileError(f"{path} does not match the hash in {model_dir / meta_name} (stale or corrupt)")
