"""The README's emoji figures: a grid of samples per class, one sample's depth ladder, and each sample of a row
beside its nearest training image (is it new or a copy?).

    python benchmarks/quality/emoji_figures.py [--model emoji] [--data runs/emoji-data] [--per-class 8] [--seed 0]

Writes docs/img/emoji_classes.png, docs/img/emoji_ladder.png and docs/img/emoji_nearest.png, and prints the
settings and each figure's path.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import resgen

DOCS = Path(__file__).resolve().parents[2] / "docs" / "img"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="emoji", help="shipped model name or folder")
    p.add_argument("--data", default="runs/emoji-data", help="folder of `resgen data emoji` (nearest training images)")
    p.add_argument("--per-class", type=int, default=8)
    p.add_argument("--ladder-class", default="Animals & Nature")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(DOCS))
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pipe = resgen.load("image", model=args.model, backend="torch")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    C, k = len(pipe.classes), args.per_class
    res = pipe.generate([c for c in range(C) for _ in range(k)], seed=args.seed)
    s = res.settings
    note = f"{s['steps']} steps, CFG {s['cfg']:g}, seed {args.seed}"

    fig, axes = plt.subplots(C, k, figsize=(k * 0.9 + 1.6, C * 0.95))
    for c in range(C):
        for j in range(k):
            ax = axes[c, j]
            ax.imshow(res.images[c * k + j], interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(pipe.classes[c], rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(f"ResGEN emoji samples, one row a class ({note})", fontsize=9)
    fig.subplots_adjust(left=0.2, wspace=0.05, hspace=0.05)
    fig.savefig(out / "emoji_classes.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    from resgen.image.emoji_data import load_emoji
    c = pipe.label_id(args.ladder_class)
    held = load_emoji(Path(args.data), "heldout")
    real = held["images"][int(np.nonzero(held["label"] == c)[0][0])]                  # the class's first held-out emoji
    with torch.no_grad():
        real_codes = pipe.tokenizer.encode(torch.from_numpy(real[None].copy()).float().div(255).permute(0, 3, 1, 2))
    D = pipe.depth
    fig, axes = plt.subplots(2, D, figsize=(D * 1.2, 3.0))
    for row, codes in enumerate((res.codes[c * k: c * k + 1], real_codes)):
        for d in range(1, D + 1):
            axes[row, d - 1].imshow(pipe.decode(codes, d)[0], interpolation="nearest")
            axes[row, d - 1].set_title(f"d = 1..{d}" if d > 1 else "d = 1", fontsize=8)
            axes[row, d - 1].axis("off")
    fig.suptitle(f"Depth ladder, decoded from the first d RVQ depths. Top: a generated {pipe.classes[c]} sample. "
                 "Bottom: a held-out emoji through the tokenizer", fontsize=8)
    fig.savefig(out / "emoji_ladder.png", dpi=110, bbox_inches="tight")
    plt.close(fig)

    train_np = load_emoji(Path(args.data), "train")["images"]                          # (M, 64, 64, 3) uint8
    train = torch.from_numpy(np.ascontiguousarray(train_np)).float().div(255).permute(0, 3, 1, 2)
    gen = torch.from_numpy(res.images[c * k: (c + 1) * k]).float().div(255).permute(0, 3, 1, 2)
    psnr, idx = nearest(gen, train)
    fig, axes = plt.subplots(2, k, figsize=(k * 0.95, 2.3))
    for j in range(k):
        axes[0, j].imshow(res.images[c * k + j], interpolation="nearest")
        axes[1, j].imshow(train_np[idx[j]], interpolation="nearest")
        axes[1, j].set_title(f"{psnr[j]:.1f} dB", fontsize=7)
        axes[0, j].axis("off"), axes[1, j].axis("off")
    fig.suptitle(f"Top: {pipe.classes[c]} samples. Bottom: the nearest training image of each (PSNR; a copy "
                 f"would be 30 dB or more)", fontsize=8)
    fig.savefig(out / "emoji_nearest.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    print(f"model {pipe.model_dir}, {note}; wrote {out / 'emoji_classes.png'}, {out / 'emoji_ladder.png'}, "
          f"{out / 'emoji_nearest.png'}")


def nearest(gen: torch.Tensor, train: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Each generated image's nearest training image by MSE -> (PSNR dB, index)."""
    mse = torch.stack([((train - g) ** 2).flatten(1).mean(1) for g in gen])             # (k, M)
    best, idx = mse.min(1)
    return (-10 * torch.log10(best.clamp_min(1e-10))).numpy(), idx.numpy()


if __name__ == "__main__":
    main()
