"""Put back together what `benchmarks/gpu/run.sh JOB` returned from a device call, as model folders here:

    python benchmarks/gpu/receive.py image  <files_at> runs/gpu      # candidates A, B (two shards each) + the shipped tokenizer
    python benchmarks/gpu/receive.py claims <files_at> runs/claims   # R4 R8 R16 AR PT (float16 -> float32) + FID sets
    python benchmarks/gpu/receive.py speech <files_at> runs/gpu-speech --tokenizer .data/speech/tokenizer
    python benchmarks/gpu/receive.py emoji  <files_at> runs/gpu-emoji   # tokenizer, denoiser, classifier: a model folder

Then, for instance, `resgen eval image --model runs/gpu/A`, or
`python benchmarks/claims/paper_claims.py --no-shipped --depth 8=runs/claims/R8 ... --codes runs/claims/codes/<set>`
with the sampler flags the set was sampled with (docs/paper-claims.md). Every folder's config records the sha256 of
its files, so a model put together from wrong parts fails to load.
"""
from __future__ import annotations

import argparse
import json
import shutil
import tarfile
import tempfile
from pathlib import Path

from safetensors.torch import load_file, save_file

from resgen import assets_dir
from resgen.core.weights import file_sha256


def merge_shards(parts: list[Path], out: Path) -> str:
    """Shards of one state dict (disjoint keys) -> one safetensors file; returns its sha256."""
    merged: dict = {}
    for p in parts:
        sd = load_file(str(p))
        overlap = set(sd) & set(merged)
        if overlap:
            raise SystemExit(f"{p}: keys already in an earlier shard: {sorted(overlap)[:3]}")
        merged.update(sd)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(merged, str(out))
    return file_sha256(out)


def receive_image(src: Path, dest: Path) -> list[Path]:
    """Candidates A and B of the image job: config.json and the denoiser in shards; the tokenizer and
    classifier are the shipped ones (checked by hash)."""
    done = []
    shipped = assets_dir() / "image"
    for name in ("A", "B"):
        parts = sorted(src.glob(f"{name}_denoiser.part*.safetensors"))
        meta_path = src / f"{name}_config.json"
        if not meta_path.exists() or not parts:
            print(f"{name}: not returned, skipped")
            continue
        meta = json.loads(meta_path.read_text())
        others = [f for f in meta["files"] if f != "denoiser.safetensors"]     # the tokenizer (and classifier)
        stale = [f for f in others if meta["files"][f] != file_sha256(shipped / f)]
        if stale:
            print(f"{name}: its {', '.join(stale)} differ from {shipped}'s, skipped")
            continue
        out = dest / name
        meta["files"]["denoiser.safetensors"] = merge_shards(parts, out / "denoiser.safetensors")  # new bytes, same tensors
        for f in others:
            shutil.copy(shipped / f, out / f)
        (out / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
        done.append(out)
        print(f"{name}: {out} ({meta.get('trained_steps')} steps)")
    return done


def receive_speech(src: Path, dest: Path, tokenizer: Path) -> list[Path]:
    """The speech job's model in shards + its config; the tokenizer is the one carried to the GPU (checked by hash)."""
    parts = sorted(src.glob("model.part*.safetensors"))
    meta_path = src / "speech_config.json"
    if not parts or not meta_path.exists():
        print("speech: not returned, skipped")
        return []
    meta = json.loads(meta_path.read_text())
    tok = tokenizer / "tokenizer.safetensors"
    want = meta["files"].get("tokenizer.safetensors")
    if want and (not tok.exists() or file_sha256(tok) != want):
        raise SystemExit(f"{tok}: not the tokenizer the model was trained with (sha256 {want[:12]}...)")
    meta["files"]["model.safetensors"] = merge_shards(parts, dest / "model.safetensors")
    if want:
        shutil.copy(tok, dest / "tokenizer.safetensors")
        if (tokenizer / "tokenizer.json").exists():
            shutil.copy(tokenizer / "tokenizer.json", dest / "tokenizer.json")
    (dest / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
    if (src / "speech_log.jsonl").exists():
        shutil.copy(src / "speech_log.jsonl", dest / "log.jsonl")
    print(f"speech: {dest} ({meta.get('trained_steps')} steps)")
    return [dest]


def receive_emoji(src: Path, dest: Path) -> list[Path]:
    """The emoji job: a model folder dest/ (config.json, tokenizer, denoiser merged from its shards; the tokenizer
    checked against the config's hash) with the evaluation classifier beside it, and the run's logs in dest/logs."""
    parts = sorted(src.glob("emoji_denoiser.part*.safetensors"))
    tok = src / "emoji_tokenizer.safetensors"
    if not parts or not tok.exists() or not (src / "emoji_meta.tar.gz").exists():
        print("emoji: not returned, skipped")
        return []
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(src / "emoji_meta.tar.gz") as tar:
            tar.extractall(tmp, filter="data")
        meta = json.loads((Path(tmp) / "model" / "config.json").read_text())
        if meta["files"]["tokenizer.safetensors"] != file_sha256(tok):
            raise SystemExit(f"{tok}: not the tokenizer the model was trained with")
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(tok, dest / "tokenizer.safetensors")
        shutil.copy(Path(tmp) / "tokenizer" / "tokenizer.json", dest / "tokenizer.json")
        for f in (Path(tmp) / "classifier" / "classifier.json", src / "emoji_classifier.safetensors"):
            if f.exists():
                shutil.copy(f, dest / f.name.replace("emoji_", ""))
        logs = dest / "logs"
        for f in Path(tmp).rglob("*"):
            if f.is_file() and f.suffix in (".jsonl", ".txt"):
                target = logs / f.relative_to(tmp)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(f, target)
    meta["files"]["denoiser.safetensors"] = merge_shards(parts, dest / "denoiser.safetensors")   # same tensors
    (dest / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"emoji: {dest} ({meta.get('trained_steps')} steps)")
    return [dest]


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
    """Unpack the FID sample sets (codes_<i>.tar from benchmarks/gpu/pack.py) into dest/codes/<set>/."""
    done = []
    for tar_path in sorted(src.glob("codes_*.tar")):
        with tarfile.open(tar_path) as tar:
            tar.extractall(dest / "codes", filter="data")
            done += [dest / "codes" / m.name for m in tar.getmembers() if m.isfile()]
    for path in done:
        print(f"codes: {path}")
    return done


def receive_claims(src: Path, dest: Path) -> list[Path]:
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


def main(argv=None) -> list[Path]:
    p = argparse.ArgumentParser(description="Put back together what benchmarks/gpu/run.sh JOB returned.")
    p.add_argument("job", choices=("image", "claims", "speech", "emoji"))
    p.add_argument("src", type=Path, help="the folder with the returned files (the device call's files_at)")
    p.add_argument("dest", type=Path, help="where the model folders go")
    p.add_argument("--tokenizer", type=Path, default=Path(".data/speech/tokenizer"),
                   help="speech: the tokenizer folder carried to the GPU")
    a = p.parse_args(argv)
    if not a.src.is_dir():
        p.error(f"{a.src}: no such folder")
    if a.job == "image":
        return receive_image(a.src, a.dest)
    if a.job == "speech":
        return receive_speech(a.src, a.dest, a.tokenizer)
    if a.job == "emoji":
        return receive_emoji(a.src, a.dest)
    return receive_claims(a.src, a.dest)


if __name__ == "__main__":
    main()
