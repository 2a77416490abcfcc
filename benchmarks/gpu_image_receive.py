"""Rebuild the model folders returned by benchmarks/gpu_image.sh (A and B: config.json and the
denoiser in two shards) as model folders with the shipped tokenizer (hashes checked):

    python benchmarks/gpu_image_receive.py <folder with the returned files> runs/gpu
    .venv/bin/resgen eval image --model runs/gpu/A --n-per-class 200 --n-ref 2000
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from safetensors.torch import load_file, save_file

from resgen import assets_dir
from resgen.weights import file_sha256


def receive(src: Path, dest: Path) -> list[Path]:
    done = []
    shipped = assets_dir() / "image"
    for name in ("A", "B"):
        parts = [src / f"{name}_denoiser.part{i}.safetensors" for i in (1, 2)]
        meta_path = src / f"{name}_config.json"
        if not meta_path.exists() or not all(p.exists() for p in parts):
            print(f"{name}: not returned, skipped")
            continue
        meta = json.loads(meta_path.read_text())
        others = [f for f in meta["files"] if f != "denoiser.safetensors"]     # the tokenizer (and classifier)
        stale = [f for f in others if meta["files"][f] != file_sha256(shipped / f)]
        if stale:
            print(f"{name}: its {', '.join(stale)} differ from {shipped}'s, skipped")
            continue
        out = dest / name
        out.mkdir(parents=True, exist_ok=True)
        save_file({k: v for p in parts for k, v in load_file(str(p)).items()}, str(out / "denoiser.safetensors"))
        meta["files"]["denoiser.safetensors"] = file_sha256(out / "denoiser.safetensors")   # new bytes, same tensors
        for f in others:
            shutil.copy(shipped / f, out / f)
        (out / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
        done.append(out)
        print(f"{name}: {out} ({meta.get('trained_steps')} steps)")
    return done


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    receive(Path(sys.argv[1]), Path(sys.argv[2]))
