"""Copy a trained model folder into assets/: only the files its meta json lists, optionally with
float weights stored as float16 (half the bytes; loading casts them back to float32), the hashes
in the meta json rewritten to match.

    python -m export ship runs/claims/R4 assets/image-d4 --half denoiser.safetensors --sampler-from assets/image

`--tokenizer-from DIR` ships DIR's tokenizer.safetensors instead of SRC's: only a tokenizer that
encodes exactly like SRC's (same encoder, codebooks and statistics; only its decoder differs, as
after `resgen train speech-tokenizer --init ... --decoder-only`), so the model's codes stay valid.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from safetensors.torch import load_file, save_file

from resgen.core.weights import ModelFileError, check_files, file_sha256, read_json

META_FILES = ("config.json", "ar.json", "per_token.json")


def same_encoder(a: Path, b: Path) -> bool:
    """Do two tokenizer weight files encode alike (every tensor equal except the decoder's)?"""
    sa, sb = load_file(str(a)), load_file(str(b))
    keep = {k for k in sa if not k.startswith("decoder.")}
    return keep == {k for k in sb if not k.startswith("decoder.")} and all(
        sa[k].shape == sb[k].shape and bool((sa[k] == sb[k]).all()) for k in keep)


def decoder_shape(folder: Path, current: dict | None) -> dict | None:
    """The tokenizer config of `folder` (tokenizer.json of a run, or config.json of a model folder) when it differs
    from `current` in the decoder's shape only (`--decoder-channels`, `--decoder-blocks`, `--decoder-post-blocks`);
    None when it has none or is the same. Raises ModelFileError when anything else differs."""
    from resgen.core.config import MelTokenizerConfig, from_dict
    from resgen.speech.tokenizer import meta_file, same_codes
    meta = meta_file(folder)
    new = read_json(meta).get("tokenizer") if meta is not None else None
    if not new or current is None:
        return None
    a, b = from_dict(MelTokenizerConfig, current), from_dict(MelTokenizerConfig, new)
    if a == b:
        return None
    if not same_codes(a, b):
        raise ModelFileError(f"{meta} describes another tokenizer than the model's (only the decoder may differ)")
    return new


def ship(src: Path, dst: Path, half: tuple[str, ...] = (), sampler_from: Path | None = None,
         label: str | None = None, tokenizer_from: Path | None = None) -> list[Path]:
    """-> the files written in dst; the safetensors files named in `half` are stored as float16.
    Raises ModelFileError when src is not a complete model folder, `half` names a file it lacks, or
    `tokenizer_from` holds a tokenizer that encodes differently."""
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
    sources = {name: src / name for name in files}
    if tokenizer_from is not None:
        tok = tokenizer_from / "tokenizer.safetensors"
        if "tokenizer.safetensors" not in files or not tok.exists():
            raise ModelFileError(f"{tok if not tok.exists() else src / meta_name} has no tokenizer.safetensors")
        if not same_encoder(src / "tokenizer.safetensors", tok):
            raise ModelFileError(f"{tok} encodes differently from {src}'s tokenizer (only the decoder may differ); "
                                 "train the model on its codes instead")
        sources["tokenizer.safetensors"] = tok
        shape = decoder_shape(tokenizer_from, meta.get("tokenizer"))
        if shape is not None:
            meta["tokenizer"] = shape
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for name in files:
        if name in half:
            state = load_file(str(sources[name]))
            save_file({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, str(dst / name))
        else:
            shutil.copy(sources[name], dst / name)
        files[name] = file_sha256(dst / name)
        written.append(dst / name)
    if "tokenizer_sha256" in meta and "tokenizer.safetensors" in files:
        meta["tokenizer_sha256"] = files["tokenizer.safetensors"]
    if sampler_from is not None:
        meta["sampler"] = read_json(sampler_from / "config.json")["sampler"]
    meta["files"] = files
    if tokenizer_from is not None:
        meta["tokenizer_from"] = str(tokenizer_from)
    if label:
        meta["label"] = label                                   # the name the app shows
    if half:
        meta["float16_files"] = sorted(half)
    (dst / meta_name).write_text(json.dumps(meta, indent=2) + "\n")
    written.append(dst / meta_name)
    return written
