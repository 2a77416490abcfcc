"""Train the autoregressive baseline (RQ-Transformer style) on the same RVQ tokens as ResGEN.

`resgen train image-ar --tokenizer assets/image --out runs/image-ar` writes, in --out, ar.json and
ar.safetensors (read back by resgen.baselines.ar.load_ar); decode its samples with the same tokenizer.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from resgen.baselines.ar import ARConfig, RQTransformer, ar_loss, save_ar
from resgen.core.config import to_dict
from resgen.image.data import CLASSES
from resgen.core.weights import file_sha256
from resgen.train.image import add_loop_args, add_run_args, tokenizer_config, training_codes
from resgen.train.loop import LoopConfig, train


def add_args(p: argparse.ArgumentParser):
    d = ARConfig()
    add_run_args(p, "assets/image", "runs/image-ar", "run folder; also receives ar.json and ar.safetensors")
    p.add_argument("--width", type=int, default=d.width)
    p.add_argument("--spatial-layers", type=int, default=d.spatial_layers)
    p.add_argument("--depth-layers", type=int, default=d.depth_layers)
    p.add_argument("--heads", type=int, default=d.heads)
    add_loop_args(p)


def run(args) -> Path:
    if args.threads:
        torch.set_num_threads(args.threads)
    tok_dir, out = Path(args.tokenizer), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tok_cfg = tokenizer_config(tok_dir)
    tok_sha = file_sha256(tok_dir / "tokenizer.safetensors")

    # 1. Tokens of the training set, cached beside the checkpoint (the same file as `train image`).
    codes, labels = training_codes(tok_dir, out, args.limit, args.synthetic)
    N, D, V = codes.shape[1], tok_cfg.rvq.depth, tok_cfg.rvq.codebook_size

    cfg = ARConfig(positions=N, depth=D, codebook_size=V, num_classes=len(CLASSES), width=args.width,
                   spatial_layers=args.spatial_layers, depth_layers=args.depth_layers, heads=args.heads)

    on_device = {}                                                       # data moved once per device

    def loss_fn(net, idx, gen):
        dev = gen.device
        if dev not in on_device:
            on_device[dev] = (codes.to(dev), labels.to(dev))
        all_codes, all_labels = on_device[dev]
        idx = idx.to(dev)
        c, y = all_codes[idx], all_labels[idx]                           # (b, N, D), (b,)
        drop = torch.rand(y.shape[0], generator=gen, device=dev) < args.cond_drop
        y = torch.where(drop, cfg.num_classes, y)                        # the null class, for CFG
        return {"loss": ar_loss(net, c, y)}

    def export(model, step):
        save_ar(model, out, to_dict(tok_cfg), tok_sha, list(CLASSES), step)

    loop = LoopConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, stop_at=args.stop_at,
                      threads=args.threads, ema=args.ema, weight_decay=0.01, ckpt_every=250)
    torch.manual_seed(args.seed)                                  # the initial weights
    model = RQTransformer(cfg)
    print(f"RQTransformer: {sum(p.numel() for p in model.parameters()):,} parameters")
    train(out, model, loss_fn, len(codes), loop, on_checkpoint=export)
    return out
