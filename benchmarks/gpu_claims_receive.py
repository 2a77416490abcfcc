"""Rebuild the model folders returned by benchmarks/gpu_claims.sh (float16 weights + claims.tar.gz)
as float32 model folders with their hashes updated, ready for benchmarks/paper_claims.py:

    python benchmarks/gpu_claims_receive.py <folder with the returned files> runs/claims
    python benchmarks/paper_claims.py --ar runs/claims/AR --per-token runs/claims/PT \
        --depth 4=runs/claims/R4 --depth 8=runs/claims/R8 --depth 16=runs/claims/R16
"""
from __future__ import annotations

import json
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from safetensors.torch import load_file, save_file

from resgen import assets_dir
from resgen.weights import file_sha256

MODELS = {"R4": ("denoiser", "config.json", "tok4"), "R8": ("denoiser", "config.json", None),
          "R16": ("denoiser", "config.json", "tok16"), "AR": ("ar", "ar.json", None),
          "PT": ("per_token", "per_token.json", None)}


def receive(src: Path, dest: Path) -> list[Path]:
    done = []
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(src / "claims.tar.gz") as tar:
            tar.extractall(tmp, filter="data")
        runs = next(Path(tmp).rglob("R8")).parent if list(Path(tmp).rglob("R8")) else Path(tmp)
        for name, (weights, meta_name, tok) in MODELS.items():
            half = src / f"{name}.fp16.safetensors"
            meta_path = runs / name / meta_name
            if not half.exists() or not meta_path.exists():
                print(f"{name}: not returned, skipped")
                continue
            out = dest / name
            out.mkdir(parents=True, exist_ok=True)
            sd = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(half)).items()}
            save_file(sd, str(out / f"{weights}.safetensors"))
            meta = json.loads(meta_path.read_text())
            files = meta.get("files", {})
            if "tokenizer.safetensors" in files:
                tok_src = runs / tok / "tokenizer.safetensors" if tok else assets_dir() / "image" / "tokenizer.safetensors"
                shutil.copy(tok_src, out / "tokenizer.safetensors")
                files["tokenizer.safetensors"] = file_sha256(out / "tokenizer.safetensors")
            files[f"{weights}.safetensors"] = file_sha256(out / f"{weights}.safetensors")
            meta["files"] = files
            meta["note"] = "weights returned from the GPU in float16 and stored again as float32"
            (out / meta_name).write_text(json.dumps(meta, indent=2, sort_keys=True))
            if (runs / name / "log.jsonl").exists():
                shutil.copy(runs / name / "log.jsonl", out / "log.jsonl")
            done.append(out)
            print(f"{name}: {out}")
    return done


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    receive(Path(sys.argv[1]), Path(sys.argv[2]))
