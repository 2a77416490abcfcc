"""Rebuild the model folders returned by benchmarks/gpu_claims.sh (float16 weights + claims.tar.gz)
as float32 model folders with their hashes updated, and unpack returned FID sample sets
(codes_<i>.tar) into <dest>/codes/, ready for benchmarks/paper_claims.py:

    python benchmarks/gpu_claims_receive.py <folder with the returned files> runs/claims
    python benchmarks/paper_claims.py --no-shipped --depth 8=runs/claims/R8 --depth 4=runs/claims/R4 \
        --depth 16=runs/claims/R16 --ar runs/claims/AR --per-token runs/claims/PT \
        --codes runs/claims/codes/<set> <the sampler flags the set was sampled with>   (README, "The paper's claims")
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


def find_tokenizer(sha: str, runs: Path, dest: Path, tok: str | None) -> Path:
    """The tokenizer a model was trained with (by its hash): returned in the archive (trained on the
    GPU), or the one carried there: dest/<tok>, assets/image-d<D> or assets/image."""
    d = tok[3:] if tok else None
    candidates = ([runs / tok, dest / tok, assets_dir() / f"image-d{d}"] if tok else []) + [assets_dir() / "image"]
    for folder in candidates:
        path = folder / "tokenizer.safetensors"
        if path.exists() and file_sha256(path) == sha:
            return path
    raise SystemExit(f"no tokenizer with sha256 {sha[:12]}... in {', '.join(map(str, candidates))}")


def receive_codes(src: Path, dest: Path) -> list[Path]:
    """Unpack the FID sample sets (codes_<i>.tar from gpu_return.py) into dest/codes/<set>/."""
    done = []
    for tar_path in sorted(src.glob("codes_*.tar")):
        with tarfile.open(tar_path) as tar:
            tar.extractall(dest / "codes", filter="data")
            done += [dest / "codes" / m.name for m in tar.getmembers() if m.isfile()]
    for path in done:
        print(f"codes: {path}")
    return done


def receive(src: Path, dest: Path) -> list[Path]:
    done = receive_codes(src, dest)
    if not (src / "claims.tar.gz").exists():
        return done
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
                tok_src = find_tokenizer(files["tokenizer.safetensors"], runs, dest, tok)
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
