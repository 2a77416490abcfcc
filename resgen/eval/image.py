"""`resgen eval image`: quality of the shipped image model on the Fashion-MNIST test set.

Prints: tokenizer PSNR per depth d = 1..D; reconstruction FID; and for generated images
(n per class) with and without CFG: FID against the 10k test images, the k-nearest-neighbour
precision (fidelity) and recall (diversity) of their Inception features against the test images'
(k = 3, Kynkaanniemi et al. 2019), and the accuracy of the evaluation classifier at labelling each
image as the class it was asked for.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from resgen.core.argtypes import ranged
from resgen.core.config import CFG_SCHEDULES
from resgen.eval.fid import DEFAULT_CACHE
from resgen.core.sampler import MAX_CODE_TEMPERATURE, MAX_PI_TEMPERATURE


def add_args(p: argparse.ArgumentParser):
    p.add_argument("--model", default=None, help="model folder (default: assets/image)")
    p.add_argument("--n-per-class", type=int, default=1000, help="generated images per class (10 classes)")
    p.add_argument("--n-ref", type=int, default=10000,
                   help="test images used as the FID reference (class-balanced subset when < 10000)")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--cfg", type=float, default=None, help="guidance scale of the 'with CFG' row (default: model's)")
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--mog-noise", type=float, default=None,
                   help="MoG draw = mean + this x sigma x N(0, I) (default: the model's, see SamplerConfig)")
    p.add_argument("--code-temperature", type=ranged(MAX_CODE_TEMPERATURE), default=None,
                   help="codes drawn from softmax(-dist / (beta x this)) at each depth (default: the model's, 0 = nearest)")
    p.add_argument("--cfg-schedule", default=None, choices=CFG_SCHEDULES,
                   help="guidance per step (default: the model's, see SamplerConfig)")
    p.add_argument("--pi-temperature", type=ranged(MAX_PI_TEMPERATURE), default=None,
                   help="mixture logits / this before the component draw, 0..10, 0 = the most likely component "
                        "(default: the model's, see SamplerConfig)")
    p.add_argument("--classifier", default=None,
                   help="evaluation classifier (default: the model folder's classifier.safetensors, else the "
                        "shipped assets/image one)")
    p.add_argument("--batch", type=int, default=250)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-fid", action="store_true", help="skip every FID (fast: PSNR and accuracy only)")
    p.add_argument("--no-recon-fid", action="store_true")
    p.add_argument("--no-unguided", action="store_true", help="skip the 'without CFG' row (tuning runs)")
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--cache", default=str(DEFAULT_CACHE), help="FID reference features and the ONNX Inception")
    p.add_argument("--threads", type=int, default=0)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return f"{os.cpu_count()} cores, {cpu}, GPU {gpu}, {torch.get_num_threads()} torch threads"


def generate_all(pipe, n_per_class: int, batch: int, seed: int, **kw) -> tuple[torch.Tensor, torch.Tensor, float]:
    """-> images float (10*n, 28, 28), requested labels (10*n,), seconds."""
    labels = torch.arange(len(pipe.classes)).repeat_interleave(n_per_class)
    imgs, t0 = [], time.perf_counter()
    from tqdm import tqdm
    for i in tqdm(range(0, len(labels), batch), desc=f"sampling cfg={kw.get('cfg')}", dynamic_ncols=True,
                  mininterval=5.0):
        res = pipe.generate(labels[i:i + batch].tolist(), seed=seed + i, **kw)
        imgs.append(torch.from_numpy(res.images).float() / 255)
    return torch.cat(imgs), labels, time.perf_counter() - t0


def balanced_subset(labels: torch.Tensor, n: int) -> torch.Tensor:
    """Indices of the first n/10 test images of every class (all of them when n >= len)."""
    if n >= len(labels):
        return torch.arange(len(labels))
    per = n // int(labels.max() + 1)
    return torch.cat([torch.nonzero(labels == c)[:per, 0] for c in range(int(labels.max() + 1))]).sort().values


def cached_features(feat, images: torch.Tensor, cache: Path, name: str = "fashion_test") -> np.ndarray:
    """Inception features (M, 2048) float32 of `images`, cached in `cache` by the images' hash (a
    fixed set such as the test images, or a sample set read from saved tokens)."""
    key = hashlib.sha256(images.numpy().tobytes()).hexdigest()[:16]
    path = cache / f"features_{name}_{key}.npy"
    if path.exists():
        return np.load(path)
    feats = np.asarray(feat(images, progress=f"inception: {name.replace('_', ' ')}"), dtype=np.float32)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")     # written whole, then renamed: a process
    np.save(tmp, feats)                                     # scoring beside this one never reads half a file
    os.replace(tmp, path)
    return feats


# SamplerConfig fields that --mog-noise / --code-temperature / --cfg-schedule / --pi-temperature replace
OVERRIDES = ("mog_noise", "code_temperature", "cfg_schedule", "pi_temperature")


def apply_sampler_overrides(pipe, args) -> None:
    """The OVERRIDES given in args (None or absent: the model's own) replace the model's defaults for this run."""
    given = {k: getattr(args, k) for k in OVERRIDES if getattr(args, k, None) is not None}
    pipe.defaults = dataclasses.replace(pipe.defaults, **given)


def classifier_path(given: str | None, model_dir: Path) -> Path:
    """--classifier, else the model folder's own, else the shipped one (a freshly trained model
    folder holds only its tokenizer and denoiser)."""
    if given:
        return Path(given)
    own = model_dir / "classifier.safetensors"
    if own.exists():
        return own
    from resgen.core.paths import assets_dir
    return assets_dir() / "image" / "classifier.safetensors"


def save_partial(path: str | None, res: dict) -> None:
    """A long run keeps what it has measured so far (marked partial) in its --json file."""
    if path:
        Path(path).write_text(json.dumps({**res, "partial": True}, indent=2))


def run(args) -> dict:
    if args.threads:
        torch.set_num_threads(args.threads)
    import resgen
    from resgen.eval.classifier import Classifier
    from resgen.image.data import load_fashion_mnist
    from resgen.eval.metrics import feature_stats, frechet_distance, knn_radii, precision_recall, tokenizer_psnr
    from resgen.core.weights import load_module

    pipe = resgen.load("image", backend="torch", model_dir=args.model)
    apply_sampler_overrides(pipe, args)
    clf_path = classifier_path(args.classifier, pipe.model_dir)
    clf = load_module(Classifier(), clf_path).eval()                       # before the heavy work
    xt, yt = load_fashion_mnist("test")
    test = torch.from_numpy(xt.copy()).float().div(255)                     # (10000, 28, 28)
    ref_idx = balanced_subset(torch.from_numpy(yt), args.n_ref)
    res: dict = {"machine": machine(), "torch": torch.__version__, "model": str(pipe.model_dir),
                 "classifier": str(clf_path),
                 "n_per_class": args.n_per_class, "n_ref": len(ref_idx)}

    res["psnr_per_depth"] = tokenizer_psnr(pipe.tokenizer, test[:, None])
    res["classifier_test_accuracy"] = (clf.predict(test) == torch.from_numpy(yt)).float().mean().item()
    feat = ref = None
    if not args.no_fid:
        from resgen.eval.fid import InceptionFeatures
        feat = InceptionFeatures(cache=Path(args.cache))
        res["inception_backend"] = feat.backend
        ref_images = test[ref_idx]
        ref_feats = cached_features(feat, ref_images, Path(args.cache))
        ref, ref_radii = feature_stats(ref_feats), knn_radii(ref_feats)
        if not args.no_recon_fid:
            M = len(ref_images)
            codes = torch.cat([pipe.tokenizer.encode(ref_images[i:i + 1000, None]) for i in range(0, M, 1000)])
            recon = torch.cat([pipe.decode(codes[i:i + 1000]) for i in range(0, M, 1000)])
            res["recon_fid"] = frechet_distance(*ref, *feature_stats(feat(recon, progress="inception: recon")))
            save_partial(args.json, res)
    rows = []
    cfg_on = pipe.defaults.cfg if args.cfg is None else args.cfg
    for name, cfg in (("with CFG", cfg_on), ("without CFG", 1.0))[:1 if args.no_unguided else 2]:
        imgs, labels, secs = generate_all(pipe, args.n_per_class, args.batch, args.seed, steps=args.steps, cfg=cfg,
                                          top_p=args.top_p, temperature=args.temperature)
        row = {"name": name, "cfg": cfg, "seconds": secs, "images": len(imgs),
               "accuracy": (clf.predict(imgs) == labels).float().mean().item()}
        if feat is not None:
            feats = feat(imgs, progress=f"inception: {name}")
            row["fid"] = frechet_distance(*ref, *feature_stats(feats))
            row["precision"], row["recall"] = precision_recall(ref_feats, feats, real_radii=ref_radii)
        rows.append(row)
        save_partial(args.json, {**res, "generated": rows})
    res["generated"] = rows
    s = pipe.defaults
    res["settings"] = {"steps": args.steps or s.steps, "top_p": args.top_p or s.top_p, "mog_noise": s.mog_noise,
                       "code_temperature": s.code_temperature, "cfg_schedule": s.cfg_schedule, "pi_temperature": s.pi_temperature,
                       "temperature": s.temperature if args.temperature is None else args.temperature}
    print_table(res)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return res


def print_table(res: dict) -> None:
    print(f"machine: {res['machine']}; torch {res['torch']}; model {res['model']}")
    print(f"settings: {res['settings']}; {res['n_per_class']} images per class")
    print("\n| depth d | " + " | ".join(str(d + 1) for d in range(len(res["psnr_per_depth"]))) + " |")
    print("|---|" + "---|" * len(res["psnr_per_depth"]))
    print("| tokenizer PSNR (dB), 10k test images | " + " | ".join(f"{v:.2f}" for v in res["psnr_per_depth"]) + " |")
    if "recon_fid" in res:
        print(f"\nreconstruction FID ({res['n_ref']} test images vs their D-depth reconstructions): "
              f"{res['recon_fid']:.2f}")
    print(f"classifier accuracy on the real test images: {res['classifier_test_accuracy']:.4f}\n")
    print(f"| samples | CFG scale | images | FID vs {res['n_ref']} test images | precision | recall "
          "| classifier accuracy | sampling time (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in res["generated"]:
        fid, pr, rc = (f"{r[k]:.{n}f}" if k in r else "-" for k, n in (("fid", 2), ("precision", 4), ("recall", 4)))
        print(f"| {r['name']} | {r['cfg']} | {r['images']} | {fid} | {pr} | {rc} | {r['accuracy']:.4f} "
              f"| {r['seconds']:.0f} |")
