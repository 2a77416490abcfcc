"""A small, generic training loop shared by every trainer.

CPU by default, CUDA when present, DDP when launched by `torchrun` (gloo on CPU, nccl on GPU).
Deterministic for a given seed: the data order of step s is a function of (seed, epoch), so a
resumed run sees exactly the batches an uninterrupted run would have seen.
Checkpoints hold only tensors and plain numbers and are read back with weights_only=True.
"""
from __future__ import annotations

import copy
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from resgen.core.errors import UsageError


@dataclass(frozen=True)
class LoopConfig:
    steps: int
    batch_size: int          # global batch, split evenly over ranks
    lr: float
    warmup: int = 200
    weight_decay: float = 0.0
    ema: float = 0.0         # EMA decay (warmed up as min(ema, (1+step)/(10+step))); 0 = no EMA copy
    grad_clip: float = 1.0
    seed: int = 0
    log_every: int = 50
    ckpt_every: int = 500
    threads: int = 0         # torch CPU threads; 0 keeps torch's default
    stop_at: int = 0         # end this run after this step (a checkpoint is written); 0 = run to `steps`


def setup_distributed() -> tuple[int, int, torch.device]:
    """Returns (rank, world_size, device); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def _lr_at(step: int, cfg: LoopConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def batch_indices(step: int, num_items: int, cfg: LoopConfig, rank: int, world: int) -> torch.Tensor:
    """Indices of this rank's share of the global batch at `step` (deterministic in seed, step)."""
    per_epoch = num_items // cfg.batch_size
    epoch, within = divmod(step, per_epoch)
    g = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
    perm = torch.randperm(num_items, generator=g)
    glob = perm[within * cfg.batch_size:(within + 1) * cfg.batch_size]
    return glob[rank::world]


def train(
    out_dir: str | Path,
    model: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module, torch.Tensor, torch.Generator], dict],
    num_items: int,
    cfg: LoopConfig,
    on_checkpoint: Callable[[torch.nn.Module, int], None] | None = None,
) -> torch.nn.Module:
    """Run (or resume) training; returns the trained model (the EMA copy when cfg.ema > 0).

    loss_fn(module, idx, generator) returns a dict with a scalar 'loss' (and any other floats to log);
    idx (b,) are indices into the data set, which loss_fn owns.
    """
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    rank, world, device = setup_distributed()
    if device.type == "cuda":                     # TF32 matmuls on Ampere and later GPUs; the CPU is left as it is
        torch.set_float32_matmul_precision("high")
    if cfg.batch_size % world:
        raise ValueError(f"batch size {cfg.batch_size} is not divisible by {world} ranks")
    if num_items < cfg.batch_size:
        raise UsageError(f"--batch-size {cfg.batch_size} is larger than the {num_items} training items: "
                         f"give a batch of at most {num_items}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    model = model.to(device)
    ema = copy.deepcopy(model).eval().requires_grad_(False) if cfg.ema > 0 else None
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (decay if p.ndim >= 2 and "emb" not in n else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.99))
    start = 0
    ckpt_path = out_dir / "ckpt.pt"
    if ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        start = int(state["step"])
        if rank == 0:
            print(f"resumed from {ckpt_path} at step {start}")
    net = DDP(model) if world > 1 else model
    gen = torch.Generator(device=device)
    log = open(out_dir / "log.jsonl", "a") if rank == 0 else None
    bar = None
    if rank == 0:
        from tqdm import tqdm
        bar = tqdm(total=cfg.steps, initial=start, dynamic_ncols=True, mininterval=2.0)
    t0, running = time.time(), {}
    end = min(cfg.steps, cfg.stop_at) if cfg.stop_at else cfg.steps
    for step in range(start, end):
        # Every random draw of a step (ours and the modules' own, e.g. dropout or dead-code
        # restarts) is a function of (seed, step, rank), so resuming reproduces the same run.
        gen.manual_seed(cfg.seed * 1_000_003 + step * world + rank)
        torch.manual_seed(cfg.seed * 1_000_003 + step * world + rank)
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, cfg)
        net.train()
        idx = batch_indices(step, num_items, cfg, rank, world)
        out = loss_fn(net, idx, gen)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        if ema is not None:
            with torch.no_grad():
                # Warm-up: a short run must not leave the EMA copy near the initial weights
                # (with 0.9995 after 1,000 steps they would still weigh 61%).
                decay = min(cfg.ema, (1 + step) / (10 + step))
                torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1 - decay)
                for be, bm in zip(ema.buffers(), model.buffers()):
                    be.copy_(bm)
        for k, v in out.items():
            running[k] = running.get(k, 0.0) + float(v.detach() if torch.is_tensor(v) else v)
        if bar is not None:
            bar.update(1)
        if (step + 1) % cfg.log_every == 0 and rank == 0:
            avg = {k: v / cfg.log_every for k, v in running.items()}
            bar.set_postfix({k: f"{v:.4f}" for k, v in avg.items()})
            log.write(json.dumps({"step": step + 1, "lr": _lr_at(step, cfg),
                                  "elapsed_s": round(time.time() - t0, 1), **avg}) + "\n")
            log.flush()
        if (step + 1) % cfg.log_every == 0:
            running = {}
        if ((step + 1) % cfg.ckpt_every == 0 or step + 1 == end) and rank == 0:
            state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step + 1}
            if ema is not None:
                state["ema"] = ema.state_dict()
            torch.save(state, out_dir / "ckpt.tmp")
            os.replace(out_dir / "ckpt.tmp", ckpt_path)
            if on_checkpoint is not None:
                on_checkpoint(ema if ema is not None else model, step + 1)
    if bar is not None:
        bar.close()
    if log is not None:
        log.close()
    if world > 1:
        dist.barrier()
    return ema if ema is not None else model
