"""Train the image RQ-VAE: `resgen train image-tokenizer --out runs/tok` (grey Fashion-MNIST, 32x32 -> 8x8 cells) or
`resgen train image-tokenizer --data emoji --out runs/emoji-tok` (64x64 colour emoji -> 8x8 cells, augmented)."""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

from resgen.core.config import ImageTokenizerConfig, RVQConfig, dumps, to_dict
from resgen.image.data import load_fashion_mnist
from resgen.image.tokenizer import ImageTokenizer
from resgen.core.weights import save_module
from resgen.train.loop import LoopConfig, train


def add_args(p: argparse.ArgumentParser):
    p.add_argument("--out", default="runs/image-tokenizer", help="run folder (checkpoints, log, weights)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--depth", type=int, default=8, help="RVQ depth D")
    p.add_argument("--codebook-size", type=int, default=256)
    p.add_argument("--code-dim", type=int, default=16)
    p.add_argument("--data", default="fashion", choices=("fashion", "emoji"),
                   help="fashion: Fashion-MNIST (Debian package); emoji: the set `resgen data emoji` built")
    p.add_argument("--emoji-data", default="runs/emoji-data", help="folder of `resgen data emoji` (--data emoji)")
    p.add_argument("--channels", default=None,
                   help="widths at each resolution down to the 8x8 grid (default 16,48,96 for fashion: 32,16,8; "
                        "32,64,128,128 for emoji: 64,32,16,8)")
    p.add_argument("--dropout-p", type=float, default=0.5, help="share of samples decoded from a random depth")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images (0 = all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stop-at", type=int, default=0, help="stop after this step (resume later with the same command)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--synthetic", action="store_true", help="tiny random data (tests)")


def images_tensor(split: str, limit: int = 0, synthetic: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """-> images float (M, 1, 32, 32) in [0, 1], labels (M,)."""
    if synthetic:
        g = torch.Generator().manual_seed(1)
        m = limit or 64
        return torch.rand(m, 1, 32, 32, generator=g), torch.randint(0, 10, (m,), generator=g)
    x, y = load_fashion_mnist(split)
    if limit:
        x, y = x[:limit], y[:limit]
    x = torch.from_numpy(x.copy()).float().div(255)[:, None]
    return F.pad(x, (2, 2, 2, 2)), torch.from_numpy(y)


def emoji_tensor(folder: str, split: str = "train", limit: int = 0, synthetic: bool = False):
    """-> images float (M, 3, 64, 64) in [0, 1], labels (M,), flip_ok bool (M,)."""
    if synthetic:
        g = torch.Generator().manual_seed(1)
        m = limit or 32
        return (torch.rand(m, 3, 64, 64, generator=g), torch.randint(0, 9, (m,), generator=g),
                torch.rand(m, generator=g) < 0.5)
    from resgen.image.emoji_data import load_emoji
    d = load_emoji(folder, split)
    sl = slice(0, limit or None)
    x = torch.from_numpy(d["images"][sl].copy()).permute(0, 3, 1, 2).float().div(255)
    return x, torch.from_numpy(d["label"][sl]), torch.from_numpy(d["flip_ok"][sl])


def run(args) -> Path:
    emoji = args.data == "emoji"
    channels = args.channels or ("32,64,128,128" if emoji else "16,48,96")
    cfg = ImageTokenizerConfig(
        in_channels=3 if emoji else 1, image_size=64 if emoji else 32,
        channels=tuple(int(c) for c in channels.split(",")),
        rvq=RVQConfig(depth=args.depth, codebook_size=args.codebook_size, dim=args.code_dim))
    if emoji:
        from resgen.image.emoji_augment import augment
        x, _, flip_ok = emoji_tensor(args.emoji_data, "train", args.limit, args.synthetic)
    else:
        x, _ = images_tensor("train", args.limit, args.synthetic)
    D = cfg.rvq.depth

    def loss_fn(net, idx, gen):
        xb = x[idx].to(gen.device)
        if emoji:
            xb = augment(xb, flip_ok[idx], gen)
        b = xb.shape[0]
        drop = torch.rand(b, generator=gen, device=gen.device) < args.dropout_p
        keep = torch.where(drop, torch.randint(1, D + 1, (b,), generator=gen, device=gen.device), D)
        rec, codes, commit = net(xb, keep)
        mse = F.mse_loss(rec, xb)
        return {"loss": mse + F.l1_loss(rec, xb) + 0.25 * commit, "mse": mse.detach(), "commit": commit.detach()}

    out = Path(args.out)

    def export(model, step):
        sha = save_module(model, out / "tokenizer.safetensors")
        (out / "tokenizer.json").write_text(dumps({"tokenizer": to_dict(cfg), "sha256": sha, "step": step}))

    loop = LoopConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, stop_at=args.stop_at,
                      threads=args.threads, ckpt_every=250, ema=0.0)
    torch.manual_seed(args.seed)                                  # the initial weights
    train(out, ImageTokenizer(cfg), loss_fn, len(x), loop, on_checkpoint=export)
    return out
