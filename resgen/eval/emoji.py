"""`resgen eval emoji`: the colour emoji model on emoji it never saw (the held-out split; `--split val` to choose
settings).

Prints, for the tokenizer, PSNR and reconstruction FID per depth d = 1..D on the split's images; for generated
emoji (n per class) with and without CFG, next to the real images of the split and of the other split (the
real-vs-real floor):
- FID against the split's real images (Inception pool features);
- the accuracy of the emoji classifier (trained on the training split only) at naming the class asked for, next
  to its accuracy on the real images;
- memorisation: the share of images whose nearest training image (pixel MSE over all training images, both
  styles) is a near copy, PSNR >= COPY_PSNR dB, and the median of that nearest PSNR. The real held-out emoji
  score this too (similar emoji in another style, flags with the same colours): the model's rate is read against
  theirs.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

COPY_PSNR = 30.0                    # nearest training image this close (MSE 0.001) counts as a copy
OTHER = {"heldout": "val", "val": "heldout"}


def add_args(p: argparse.ArgumentParser):
    p.add_argument("--model", default=None, help="model folder (default: assets/image-emoji)")
    p.add_argument("--data", default="runs/emoji-data", help="folder of `resgen data emoji`")
    p.add_argument("--split", default="heldout", choices=("heldout", "val"))
    p.add_argument("--classifier", default="runs/emoji-classifier",
                   help="`resgen train classifier --data emoji` output (the model folder's classifier.safetensors "
                        "when it has one)")
    p.add_argument("--n-per-class", type=int, default=100, help="generated images per class (9 classes)")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--cfg", type=float, default=None, help="guidance of the 'with CFG' row (default: the model's)")
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-fid", action="store_true", help="skip FID (no Inception needed)")
    p.add_argument("--no-unguided", action="store_true", help="skip the 'without CFG' row")
    p.add_argument("--no-tokenizer", action="store_true", help="skip the tokenizer's per-depth rows (sweeps)")
    p.add_argument("--pi-temperature", type=float, default=None, help="mixture temperature (default: the model's)")
    p.add_argument("--save-grid", default=None, help="also write a PNG: one row of generated emoji per class")
    p.add_argument("--json", default=None)
    p.add_argument("--threads", type=int, default=0)


@torch.no_grad()
def nearest_psnr(images: torch.Tensor, train: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """images (M, 3, S, S), train (K, 3, S, S) in [0, 1] -> (M,) PSNR (dB) to each image's nearest training image."""
    t = train.flatten(1)
    t2 = t.pow(2).sum(1)
    out = []
    for i in range(0, len(images), chunk):
        x = images[i:i + chunk].flatten(1)
        d = (x.pow(2).sum(1, keepdim=True) - 2 * x @ t.T + t2[None]).clamp(min=0) / x.shape[1]   # (m, K) MSE
        out.append(-10 * torch.log10(d.min(1).values.clamp(min=1e-10)))
    return torch.cat(out)


def copy_stats(images: torch.Tensor, train: torch.Tensor) -> dict:
    p = nearest_psnr(images, train)
    return {"copy_rate": float((p >= COPY_PSNR).float().mean()), "nearest_psnr_median": float(p.median())}


def _images(split_data: dict) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.ascontiguousarray(split_data["images"])).permute(0, 3, 1, 2).float().div(255)
    return x, torch.from_numpy(split_data["label"])


def _classifier(args, model_dir: Path):
    from resgen.core.weights import load_module
    from resgen.eval.emoji_classifier import EmojiClassifier
    for folder in (model_dir, Path(args.classifier)):
        if (folder / "classifier.safetensors").exists():
            return load_module(EmojiClassifier(), folder / "classifier.safetensors").eval(), folder
    from resgen.core.errors import UsageError
    raise UsageError(f"no emoji classifier in {model_dir} or {args.classifier}: "
                     "train one with `resgen train classifier --data emoji --out runs/emoji-classifier`")


def run(args) -> dict:
    from resgen import assets_dir
    from resgen.image.emoji_data import CATEGORIES, load_emoji
    from resgen.image.pipeline import ImagePipeline
    from resgen.eval.metrics import feature_stats, frechet_distance, tokenizer_psnr
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.n_per_class < 1:
        from resgen.core.errors import UsageError
        raise UsageError("--n-per-class must be at least 1")
    model_dir = Path(args.model) if args.model else assets_dir() / "image-emoji"
    pipe = ImagePipeline(model_dir, backend="auto")
    clf, clf_dir = _classifier(args, model_dir)
    train_x, _ = _images(load_emoji(args.data, "train"))
    real_x, real_y = _images(load_emoji(args.data, args.split))
    other_x, other_y = _images(load_emoji(args.data, OTHER[args.split]))
    inception = None
    if not args.no_fid:
        from resgen.eval.fid import InceptionFeatures
        inception = InceptionFeatures()
    real_stats = feature_stats(inception(real_x)) if inception else None

    def fid(x):
        return frechet_distance(*real_stats, *feature_stats(inception(x))) if inception else None

    t0 = time.perf_counter()
    result = {"model": str(model_dir), "split": args.split, "classifier": str(clf_dir), "copy_psnr": COPY_PSNR,
              "tokenizer": [], "rows": []}
    psnrs = [] if args.no_tokenizer else tokenizer_psnr(pipe.tokenizer, real_x)
    codes = pipe.tokenizer.encode(real_x) if inception and psnrs else None       # encoded once for every depth
    for d, p in enumerate(psnrs, 1):
        result["tokenizer"].append({"depth": d, "psnr": p,
                                    "fid": fid(pipe.tokenizer.decode(codes, d)) if inception else None})
    rows = [(f"real {args.split}", real_x, real_y), (f"real {OTHER[args.split]} (real-vs-real floor)", other_x, other_y)]
    labels = [c for c in range(len(CATEGORIES)) for _ in range(args.n_per_class)]
    cfgs = [("ResGEN, CFG {:g}", args.cfg)] + ([] if args.no_unguided else [("ResGEN, no CFG", 1.0)])
    samples = {}
    for name, cfg in cfgs:
        imgs = []
        for i in range(0, len(labels), 100):
            res = pipe.generate(labels[i:i + 100], steps=args.steps, cfg=cfg, temperature=args.temperature,
                                top_p=args.top_p, seed=args.seed + i, pi_temperature=args.pi_temperature)
            imgs.append(torch.from_numpy(res.images).permute(0, 3, 1, 2).float().div(255))
            cfg_used, result["settings"] = res.settings["cfg"], {**{k: v for k, v in res.settings.items() if k != "cfg"}, "seed": args.seed}
        x = torch.cat(imgs)
        samples[name.format(cfg_used)] = x
        rows.append((name.format(cfg_used), x, torch.tensor(labels)))
    for name, x, y in rows:
        acc = float((clf.predict(x) == y).float().mean())
        result["rows"].append({"images": name, "n": len(x), "fid": None if x is real_x else fid(x),
                               "classifier_accuracy": acc, **copy_stats(x, train_x)})
    result["seconds"] = time.perf_counter() - t0
    if args.save_grid:
        from PIL import Image
        from resgen.image.io import make_grid
        first = next(iter(samples.values()))
        per = min(args.n_per_class, 12)
        pick = torch.cat([first[c * args.n_per_class: c * args.n_per_class + per] for c in range(len(CATEGORIES))])
        arr = (pick.permute(0, 2, 3, 1) * 255).round().byte().numpy()
        Image.fromarray(make_grid(arr, cols=per, pad=2)).save(args.save_grid)
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return result


def report(r: dict) -> str:
    f = lambda v, fmt: "-" if v is None else format(v, fmt)        # noqa: E731
    s = r.get("settings", {})
    lines = [f"# emoji model {r['model']} on the {r['split']} split; classifier {r['classifier']}",
             "sampler: " + ", ".join(f"{k} {v}" for k, v in s.items() if k in ("steps", "temperature", "top_p",
                                                                            "pi_temperature", "seed")), "",
             "| tokenizer depth | PSNR (dB) | reconstruction FID |", "|---|---|---|"]
    lines += [f"| {t['depth']} | {t['psnr']:.2f} | {f(t['fid'], '.2f')} |" for t in r["tokenizer"]]
    lines += ["", f"| images | n | FID vs real {r['split']} | classifier accuracy | copies (nearest training PSNR >= "
                  f"{r['copy_psnr']:g} dB) | median nearest-training PSNR (dB) |", "|---|---|---|---|---|---|"]
    lines += [f"| {w['images']} | {w['n']} | {f(w['fid'], '.2f')} | {w['classifier_accuracy']:.3f} | "
              f"{w['copy_rate']:.3f} | {w['nearest_psnr_median']:.2f} |" for w in r["rows"]]
    return "\n".join(lines)
