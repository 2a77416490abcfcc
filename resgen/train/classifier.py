"""Train the evaluation classifier: `resgen train classifier --out runs/classifier` (Fashion-MNIST), or
`resgen train classifier --data emoji --out runs/emoji-classifier` (emoji categories, training split only;
its accuracy on the validation and held-out emoji is written beside it)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F

from resgen.eval.classifier import Classifier
from resgen.image.data import load_fashion_mnist
from resgen.core.weights import save_module
from resgen.train.loop import LoopConfig, train


def add_args(p: argparse.ArgumentParser):
    p.add_argument("--out", default="runs/classifier")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stop-at", type=int, default=0, help="stop after this step (resume later with the same command)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--data", default="fashion", choices=("fashion", "emoji"))
    p.add_argument("--emoji-data", default="runs/emoji-data", help="folder of `resgen data emoji` (--data emoji)")
    p.add_argument("--limit", type=int, default=0, help="--data emoji: only the first N training images (tests)")


def run_emoji(args) -> Path:
    from resgen.eval.emoji_classifier import EmojiClassifier
    from resgen.image.emoji_augment import augment
    from resgen.train.image_tokenizer import emoji_tensor
    x, y, flip_ok = emoji_tensor(args.emoji_data, "train", args.limit)

    def loss_fn(net, idx, gen):
        xb = augment(x[idx].to(gen.device), flip_ok[idx], gen)
        return {"loss": F.cross_entropy(net(xb), y[idx].to(gen.device), label_smoothing=0.05)}

    out = Path(args.out)
    loop = LoopConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, stop_at=args.stop_at,
                      threads=args.threads, weight_decay=1e-4, ckpt_every=500)
    torch.manual_seed(args.seed)
    model = train(out, EmojiClassifier(), loss_fn, len(x), loop)
    acc = {}
    for split in ("val", "heldout"):
        xs, ys, _ = emoji_tensor(args.emoji_data, split)
        acc[split] = (model.predict(xs) == ys).float().mean().item() if len(ys) else float("nan")
    sha = save_module(model, out / "classifier.safetensors")
    (out / "classifier.json").write_text(json.dumps({"data": "emoji", "val_accuracy": acc["val"],
                                                     "heldout_accuracy": acc["heldout"], "sha256": sha,
                                                     "steps": args.steps}, indent=2))
    print(f"emoji classifier accuracy: validation {acc['val']:.4f}, held-out {acc['heldout']:.4f}")
    return out


def run(args) -> Path:
    if getattr(args, "data", "fashion") == "emoji":
        return run_emoji(args)
    xs, ys = load_fashion_mnist("train")
    x = torch.from_numpy(xs.copy()).float().div(255)[:, None]
    y = torch.from_numpy(ys)

    def loss_fn(net, idx, gen):
        xb = x[idx].to(gen.device)
        flip = torch.rand(len(idx), generator=gen, device=gen.device) < 0.5   # mirror augmentation
        xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
        return {"loss": F.cross_entropy(net(xb), y[idx].to(gen.device), label_smoothing=0.05)}

    out = Path(args.out)
    loop = LoopConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, stop_at=args.stop_at,
                      threads=args.threads, weight_decay=1e-4, ckpt_every=500)
    torch.manual_seed(args.seed)                                  # the initial weights
    model = train(out, Classifier(), loss_fn, len(x), loop)
    xt, yt = load_fashion_mnist("test")
    acc = (model.predict(torch.from_numpy(xt.copy()).float().div(255)) == torch.from_numpy(yt)).float().mean().item()
    sha = save_module(model, out / "classifier.safetensors")
    (out / "classifier.json").write_text(json.dumps({"test_accuracy": acc, "sha256": sha, "steps": args.steps}, indent=2))
    print(f"classifier test accuracy {acc:.4f}")
    return out
