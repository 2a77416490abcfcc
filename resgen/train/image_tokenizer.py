"""Train the image RQ-VAE on Fashion-MNIST: `resgen train image-tokenizer --out runs/tok`."""
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
    p.add_argument("--channels", default="16,48,96", help="widths at 32x32,16x16,8x8")
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


def run(args) -> Path:
    cfg = ImageTokenizerConfig(
        channels=tuple(int(c) for c in args.channels.split(",")),
        rvq=RVQConfig(depth=args.depth, codebook_size=args.codebook_size, dim=args.code_dim))
    x, _ = images_tensor("train", args.limit, args.synthetic)
    D = cfg.rvq.depth

    def loss_fn(net, idx, gen):
        xb = x[idx].to(gen.device)
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
