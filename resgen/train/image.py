"""Train the class-conditional ResGEN denoiser on RVQ tokens of Fashion-MNIST or of the colour emoji.

`resgen train image --tokenizer runs/image-tokenizer --out runs/image` writes, in --out, a model
folder with the layout of assets/image/ (config.json, tokenizer.safetensors, denoiser.safetensors).
`--data emoji --tokenizer runs/emoji-tokenizer` trains on the emoji set's training split (9 category classes),
tokenized once with `--augment-copies` augmented copies of every image (flip where allowed, shift, jitter).
`--init assets/image` continues training a model folder's denoiser (its architecture, on the same
tokenizer) with a fresh optimizer and learning-rate schedule.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import torch

from resgen.core.config import DenoiserConfig, ImageTokenizerConfig, MoGConfig, SamplerConfig, dumps, from_dict, to_dict
from resgen.image.data import CLASSES
from resgen.core.denoiser import Denoiser, masked_tokens
from resgen.image.tokenizer import ImageTokenizer
from resgen.core.masking import masked_target, sample_training_mask
from resgen.core.argtypes import ranged
from resgen.core.mog import MAX_SIGMA, loss as mog_loss
from resgen.core.weights import file_sha256, load_module, read_json, save_module
from resgen.train.image_tokenizer import images_tensor
from resgen.train.loop import LoopConfig, train


def add_run_args(p: argparse.ArgumentParser, tokenizer: str, out: str, out_help: str):
    """Where and how long: the arguments every image-token trainer shares (before its model's)."""
    p.add_argument("--tokenizer", default=tokenizer,
                   help="folder with tokenizer.safetensors and tokenizer.json (a tokenizer run) or config.json "
                        "(a model folder such as assets/image)")
    p.add_argument("--out", default=out, help=out_help)
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)


def add_loop_args(p: argparse.ArgumentParser):
    """Label dropout, EMA, data, seed and resume arguments every image-token trainer shares."""
    p.add_argument("--cond-drop", type=float, default=0.1, help="label dropout for CFG")
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stop-at", type=int, default=0, help="stop after this step (resume later with the same command)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--synthetic", action="store_true", help="tiny random data (tests)")


def add_args(p: argparse.ArgumentParser):
    add_run_args(p, "runs/image-tokenizer", "runs/image", "run folder; also receives the model files")
    p.add_argument("--width", type=int, default=192)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--heads", type=int, default=6)
    p.add_argument("--components", type=int, default=64, help="MoG mixture components K")
    p.add_argument("--rank", type=int, default=8, help="rank of the MoG mean basis")
    p.add_argument("--sigma", type=ranged(MAX_SIGMA, lo_open=True), default=0.25,
                   help="MoG component std (normalised units); 1.0 beat 0.25 at the CPU budget (README)")
    p.add_argument("--init", default=None,
                   help="start from the denoiser of this model folder (config.json + denoiser.safetensors, "
                        "trained on the same tokenizer); its architecture replaces the options above")
    p.add_argument("--data", default="fashion", choices=("fashion", "emoji"),
                   help="fashion: Fashion-MNIST (Debian package); emoji: the set `resgen data emoji` built")
    p.add_argument("--emoji-data", default="runs/emoji-data", help="folder of `resgen data emoji` (--data emoji)")
    p.add_argument("--augment-copies", type=int, default=8,
                   help="--data emoji: augmented copies of each training image tokenized beside the original")
    add_loop_args(p)


@torch.no_grad()
def tokenize(tokenizer: ImageTokenizer, images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """images (M, C, S, S) -> codes (M, N, D) int64."""
    return torch.cat([tokenizer.encode(images[i:i + batch]) for i in range(0, len(images), batch)])


def tokenizer_config(tok_dir: Path) -> ImageTokenizerConfig:
    """The tokenizer config of a tokenizer run (tokenizer.json) or a model folder (config.json)."""
    tok_json = tok_dir / "tokenizer.json"
    return from_dict(ImageTokenizerConfig, read_json(tok_json if tok_json.exists() else tok_dir / "config.json")["tokenizer"])


def training_images(data: str = "fashion", limit: int = 0, synthetic: bool = False, emoji_data: str = "runs/emoji-data",
                    augment_copies: int = 0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """The training split -> images (M, C, S, S) in [0, 1], labels (M,), class names. For the emoji, each image
    is followed by `augment_copies` augmented copies (seeded)."""
    if data == "fashion":
        x, labels = images_tensor("train", limit, synthetic)
        return x, labels, list(CLASSES)
    from resgen.image.emoji_augment import augment
    from resgen.image.emoji_data import CATEGORIES
    from resgen.train.image_tokenizer import emoji_tensor
    x, labels, flip_ok = emoji_tensor(emoji_data, "train", limit, synthetic)
    g = torch.Generator().manual_seed(seed)
    xs = [x] + [augment(x, flip_ok, g) for _ in range(augment_copies)]
    return torch.cat(xs), labels.repeat(1 + augment_copies), list(CATEGORIES)


def training_codes(tok_dir: Path, out: Path, limit: int = 0, synthetic: bool = False,
                   device: torch.device | None = None, data: str = "fashion", emoji_data: str = "runs/emoji-data",
                   augment_copies: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens of the training images -> codes (M, N, D) int64, labels (M,), cached in
    <out>/codes_train.npz (every image trainer reads the same file)."""
    cache = out / "codes_train.npz"
    if cache.exists():
        f = np.load(cache)
        return torch.from_numpy(f["codes"]).long(), torch.from_numpy(f["labels"]).long()
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = load_module(ImageTokenizer(tokenizer_config(tok_dir)), tok_dir / "tokenizer.safetensors")
    tokenizer = tokenizer.eval().to(device)
    x, labels, _ = training_images(data, limit, synthetic, emoji_data, augment_copies)
    codes = tokenize(tokenizer, x.to(device)).cpu()
    np.savez(cache, codes=codes.numpy().astype(np.int16), labels=labels.numpy())
    return codes, labels


def initial_denoiser(folder: Path, tok_dir: Path) -> tuple[Denoiser, dict]:
    """The denoiser of a model folder and its config.json, checked to be trained on the tokens of
    `tok_dir`'s tokenizer."""
    from resgen.core.errors import UsageError
    if not (folder / "config.json").exists() or not (folder / "denoiser.safetensors").exists():
        raise UsageError(f"--init: no image model at {folder} (config.json and denoiser.safetensors)")
    meta = read_json(folder / "config.json")
    if meta.get("task") != "image" or "denoiser" not in meta:
        raise UsageError(f"--init: {folder} is not an image model folder")
    want = meta.get("files", {}).get("tokenizer.safetensors")
    if want != file_sha256(tok_dir / "tokenizer.safetensors"):
        raise UsageError(f"--init: {folder} was trained on another tokenizer than {tok_dir}")
    cfg = from_dict(DenoiserConfig, meta["denoiser"])
    return load_module(Denoiser(cfg), folder / "denoiser.safetensors"), meta


def run(args) -> Path:
    if args.threads:
        torch.set_num_threads(args.threads)
    tok_dir, out = Path(args.tokenizer), Path(args.out)
    tok_cfg = tokenizer_config(tok_dir)
    init, init_meta = initial_denoiser(Path(args.init), tok_dir) if args.init else (None, {})  # before heavy work
    steps_before = init_meta.get("trained_steps", 0)                    # the --init model's own steps
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    # 1. Tokens of the training set (cached beside the checkpoint) and the latent scale.
    data = getattr(args, "data", "fashion")
    if data == "emoji":
        from resgen.image.emoji_data import CATEGORIES as classes
    else:
        classes = CLASSES
    if (tok_cfg.in_channels == 3) != (data == "emoji"):
        from resgen.core.errors import UsageError
        raise UsageError(f"the tokenizer at {tok_dir} has {tok_cfg.in_channels} channel(s): it does not fit --data {data}")
    codes, labels = training_codes(tok_dir, out, args.limit, args.synthetic, device, data,
                                   getattr(args, "emoji_data", ""), getattr(args, "augment_copies", 0))
    rvq = load_module(ImageTokenizer(tok_cfg), tok_dir / "tokenizer.safetensors").rvq
    with torch.no_grad():
        latent_scale = float(rvq.decode(codes[:5000]).std())
    N, D, V, E = codes.shape[1], tok_cfg.rvq.depth, tok_cfg.rvq.codebook_size, tok_cfg.rvq.dim

    cfg = init.cfg if init is not None else DenoiserConfig(
        positions=N, depth=D, codebook_size=V, code_dim=E, width=args.width, layers=args.layers,
        heads=args.heads, num_classes=len(classes),
        mog=MoGConfig(components=args.components, rank=args.rank, sigma=args.sigma))
    codebooks = rvq.codebooks.clone()                                    # (D, V, E), frozen

    on_device = {}                                                       # data moved once per device

    def loss_fn(net, idx, gen):
        dev = gen.device
        if dev not in on_device:
            on_device[dev] = (codes.to(dev), labels.to(dev), codebooks.to(dev))
        all_codes, all_labels, books = on_device[dev]
        idx = idx.to(dev)
        c, y = all_codes[idx], all_labels[idx]                           # (b, N, D), (b,)
        b = c.shape[0]
        mask = sample_training_mask(b, N, D, gen)                        # (b, N, D)
        drop = torch.rand(b, generator=gen, device=dev) < args.cond_drop
        y = torch.where(drop, cfg.num_classes, y)
        params = net(masked_tokens(c, mask, V), y)
        per_depth = books[torch.arange(D, device=dev), c]               # (b, N, D, E)
        z = masked_target(per_depth, mask) / latent_scale                # (b, N, E)
        loss = mog_loss(params, z, mask.any(-1).float(), cfg.mog.sigma)
        return {"loss": loss}

    def export(model, step):
        shutil.copy(tok_dir / "tokenizer.safetensors", out / "tokenizer.safetensors")
        sha = save_module(model, out / "denoiser.safetensors")
        (out / "config.json").write_text(dumps({
            "task": "image",
            "classes": list(classes),
            **({"data": "emoji"} if data == "emoji" else {}),
            "latent_scale": latent_scale,
            "tokenizer": to_dict(tok_cfg),
            "denoiser": to_dict(cfg),
            "sampler": init_meta.get("sampler", to_dict(SamplerConfig())),
            "files": {"tokenizer.safetensors": file_sha256(out / "tokenizer.safetensors"),
                      "denoiser.safetensors": sha},
            "trained_steps": steps_before + step,
            **({"init": {"folder": str(args.init), "trained_steps": steps_before}} if init is not None else {}),
        }))

    loop = LoopConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, stop_at=args.stop_at,
                      threads=args.threads, ema=args.ema, weight_decay=0.01, ckpt_every=250)
    torch.manual_seed(args.seed)                                  # the initial weights
    train(out, init if init is not None else Denoiser(cfg), loss_fn, len(codes), loop, on_checkpoint=export)
    return out
