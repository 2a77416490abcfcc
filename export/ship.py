"""Copy a trained model folder into assets/: only the files its meta json lists, optionally with
float weights stored as float16 (half the bytes; loading casts them back to float32), the hashes
in the meta json rewritten to match.

    python -m export ship runs/claims/R4 assets/image-d4 --half denoiser.safetensors --sampler-from assets/image
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from safetensors.torch import load_file, save_file

from resgen.weights import ModelFileError, check_files, file_sha256, read_json

META_FILES = ("config.json", "ar.json", "per_token.json")


def ship(src: Path, dst: Path, half: tuple[str, ...] = (), sampler_from: Path | None = None,
         label: str | None = None) -> list[Path]:
    """-> the files written in dst; the safetensors files named in `half` are stored as float16.
    Raises ModelFileError when src is not a complete model folder or `half` names a file it lacks."""
    metas = [m for m in META_FILES if (src / m).exists()]
    if not metas:
        raise ModelFileError(f"{src} has none of {', '.join(META_FILES)}")
    meta_name = metas[0]
    meta = read_json(src / meta_name)
    check_files(src, meta, meta_name)
    files = meta.get("files", {})
    if not files:
        raise ModelFileError(f"{src / meta_name} lists no files")
    unknown = set(half) - set(files)
    if unknown:
        raise ModelFileError(f"{src / meta_name} lists no {', '.join(sorted(unknown))}")
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for name in files:
        if name in half:
            state = load_file(str(src / name))
            save_file({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, str(dst / name))
        else:
            shutil.copy(src / name, dst / name)
        files[name] = file_sha256(dst / name)
        written.append(dst / name)
    if "tokenizer_sha256" in meta and "tokenizer.safetensors" in files:
        meta["tokenizer_sha256"] = files["tokenizer.safetensors"]
    if sampler_from is not None:
        meta["sampler"] = read_json(sampler_from / "config.json")["sampler"]
    meta["files"] = files
    if label:
        meta["label"] = label                                   # the name the app shows
    if half:
        meta["float16_files"] = sorted(half)
    (dst / meta_name).write_text(json.dumps(meta, indent=2) + "\n")
    written.append(dst / meta_name)
    return written
