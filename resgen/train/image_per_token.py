"""Train the per-token masked baseline (ResGEN backbone, D categorical heads) on the same RVQ tokens.

`resgen train image-per-token --tokenizer assets/image --out runs/image-per-token` writes, in --out,
per_token.json and per_token.safetensors (read back by resgen.baselines.per_token.load_per_token); decode its
samples with the same tokenizer.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from resgen.core.config import DenoiserConfig, dumps, to_dict
from resgen.image.data import CLASSES
from resgen.core.masking import sample_training_mask
from resgen.baselines.per_token import PerTokenDenoiser, parameter_count, per_token_loss
from resgen.core.weights import file_sha256, save_module
from resgen.train.image import add_loop_args, add_run_args, tokenizer_config, training_codes
from resgen.train.loop import LoopConfig, train


def add_args(p: argparse.ArgumentParser):
    add_run_args(p, "assets/image", "runs/image-per-token",
                 "run folder; also receives per_token.json and per_token.safetensors")
    p.add_argument("--width", type=int, default=192)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--heads", type=int, default=6)
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
    N, D, V, E = codes.shape[1], tok_cfg.rvq.depth, tok_cfg.rvq.codebook_size, tok_cfg.rvq.dim

    # The ResGEN denoiser's config (its mog and code_dim fields are unused by this model).
    cfg = DenoiserConfig(positions=N, depth=D, codebook_size=V, code_dim=E, width=args.width,
                         layers=args.layers, heads=args.heads, num_classes=len(CLASSES))

    on_device = {}                                                       # data moved once per device

    def loss_fn(net, idx, gen):
        dev = gen.device
        if dev not in on_device:
            on_device[dev] = (codes.to(dev), labels.to(dev))
        all_codes, all_labels = on_device[dev]
        idx = idx.to(dev)
        c, y = all_codes[idx], all_labels[idx]                           # (b, N, D), (b,)
        b = c.shape[0]
        mask = sample_training_mask(b, N, D, gen)                        # (b, N, D), as ResGEN
        drop = torch.rand(b, generator=gen, device=dev) < args.cond_drop
        y = torch.where(drop, cfg.num_classes, y)                        # the null class, for CFG
        return {"loss": per_token_loss(net, c, y, mask)}

    def export(model, step):
        sha = save_module(model, out / "per_token.safetensors")
        (out / "per_token.json").write_text(dumps({
            "task": "image-per-token",
            "classes": list(CLASSES),
            "denoiser": to_dict(cfg),
            "tokenizer": to_dict(tok_cfg),
            "tokenizer_sha256": tok_sha,                                 # decode samples with this tokenizer
            "files": {"per_token.safetensors": sha},
            "trained_steps": step,
        }))

    loop = LoopConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, stop_at=args.stop_at,
                      threads=args.threads, ema=args.ema, weight_decay=0.01, ckpt_every=250)
    torch.manual_seed(args.seed)                                  # the initial weights
    model = PerTokenDenoiser(cfg)
    print(f"PerTokenDenoiser: {parameter_count(model):,} parameters")
    train(out, model, loss_fn, len(codes), loop, on_checkpoint=export)
    return out
