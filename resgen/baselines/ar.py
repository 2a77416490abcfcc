"""Autoregressive baseline on the same RVQ tokens, in the spirit of RQ-Transformer (Lee et al. 2022).

A causal spatial transformer reads the N positions in raster order and gives each position a
context vector h_i that sees only positions < i (and the class); a small causal depth transformer
then predicts the D tokens of position i one after another from h_i and the tokens below them:

    spatial input   [class, s_0, ..., s_{N-2}] + pos        s_j = sum_d emb_d(code_{j,d})
    depth input     u_{i,d} = h_i + dpos_d + sum_{d' < d} emb_{d'}(code_{i,d'})
    logits          Linear(LayerNorm(depth_transformer(u_i)))  -> over the V codes of depth d

Sampling is N*D sequential token steps with key-value caches (the spatial cache grows over the
N positions; the depth cache is reset at each position). Classifier-free guidance runs the
conditional and the null-class rows as one batch of 2B and mixes logits u + w (c - u).

Shape legend: B batch, N positions, D depth, V codebook size, C width, h heads, c head width.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from resgen.core.config import from_dict
from resgen.core.weights import ModelFileError, check_files, load_module, read_json, save_module


@dataclass(frozen=True)
class ARConfig:
    positions: int = 64       # N
    depth: int = 8            # D
    codebook_size: int = 256  # V, per depth
    num_classes: int = 10     # class id == num_classes is the null class used for CFG
    width: int = 192          # C
    spatial_layers: int = 6   # 6 + 3 blocks: 4.46M parameters at N=64, D=8, V=256 (ResGEN: 4.60M)
    depth_layers: int = 3
    heads: int = 6
    mlp_ratio: float = 4.0


class KVCache:
    """Keys and values of one attention layer for the tokens seen so far, preallocated.

    k, v (B, h, S, c) with S the longest sequence; `length` tokens are filled."""

    def __init__(self, batch: int, heads: int, max_len: int, head_dim: int, device, dtype):
        self.k = torch.zeros(batch, heads, max_len, head_dim, device=device, dtype=dtype)
        self.v = torch.zeros_like(self.k)
        self.length = 0

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """k, v (B, h, T, c) of T new tokens -> keys and values of all length+T tokens (B, h, S', c)."""
        end = self.length + k.shape[2]
        if end > self.k.shape[2]:
            raise ValueError(f"KV cache holds {self.k.shape[2]} tokens; {end} asked")
        self.k[:, :, self.length:end] = k
        self.v[:, :, self.length:end] = v
        self.length = end
        return self.k[:, :, :end], self.v[:, :, :end]


def causal_mask(queries: int, offset: int, device) -> torch.Tensor:
    """(T, offset+T) bool, True = may attend: the query at absolute index offset+t sees keys <= offset+t."""
    keys = torch.arange(offset + queries, device=device)
    return keys[None, :] <= (offset + torch.arange(queries, device=device))[:, None]


class CausalSelfAttention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)  # (B, h, T, c)
        offset = 0
        if cache is not None:
            offset = cache.length
            k, v = cache.append(k, v)                                    # (B, h, offset+T, c)
        mask = causal_mask(T, offset, x.device)                          # (T, offset+T)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)      # (B, h, T, c)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))             # (B, T, C)


class Block(nn.Module):
    """Pre-LayerNorm causal transformer block (nanoGPT)."""

    def __init__(self, width: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads)
        self.norm2 = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, width))

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), cache)
        return x + self.mlp(self.norm2(x))


class Stack(nn.Module):
    """Causal blocks and a final LayerNorm: (B, T, C) -> (B, T, C); caches, one per block, or None."""

    def __init__(self, cfg: ARConfig, layers: int):
        super().__init__()
        self.blocks = nn.ModuleList(Block(cfg.width, cfg.heads, cfg.mlp_ratio) for _ in range(layers))
        self.norm = nn.LayerNorm(cfg.width)

    def new_caches(self, batch: int, max_len: int, like: torch.Tensor) -> list[KVCache]:
        heads = self.blocks[0].attn.heads
        return [KVCache(batch, heads, max_len, like.shape[-1] // heads, like.device, like.dtype)
                for _ in self.blocks]

    def forward(self, x: torch.Tensor, caches: list[KVCache] | None = None) -> torch.Tensor:
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        return self.norm(x)


class RQTransformer(nn.Module):
    def __init__(self, cfg: ARConfig):
        super().__init__()
        self.cfg = cfg
        N, D, V, C = cfg.positions, cfg.depth, cfg.codebook_size, cfg.width
        # One table of V rows per depth, stored as one (D*V, C) table (index d*V + code).
        self.code_emb = nn.Embedding(D * V, C)
        self.register_buffer("depth_offset", torch.arange(D) * V, persistent=False)
        self.class_emb = nn.Embedding(cfg.num_classes + 1, C)
        # Names contain "emb" so that the training loop leaves them out of weight decay.
        self.spatial_pos_emb = nn.Parameter(torch.randn(1, N, C) * 0.02)
        self.depth_pos_emb = nn.Parameter(torch.randn(1, D, C) * 0.02)
        self.spatial = Stack(cfg, cfg.spatial_layers)
        self.depth = Stack(cfg, cfg.depth_layers)
        self.head = nn.Linear(C, V)
        self.apply(self._init_weights)
        # Residual projections scaled down by the number of residual additions (GPT-2).
        for name, p in self.named_parameters():
            if name.endswith("attn.proj.weight") or name.endswith("mlp.2.weight"):
                layers = cfg.spatial_layers if name.startswith("spatial") else cfg.depth_layers
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * layers))

    @staticmethod
    def _init_weights(m: nn.Module):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    @property
    def null_class(self) -> int:
        return self.cfg.num_classes

    def embed(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (B, n, D) -> per-depth embeddings (B, n, D, C)."""
        return self.code_emb(codes + self.depth_offset)

    def forward(self, codes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: codes (B, n, D) int64 with n <= N, labels (B,) int64 -> logits (B, n, D, V).

        The logits at (i, d) depend only on the label, the codes of positions < i and the codes of
        depths < d at position i."""
        B, n, D = codes.shape
        if n > self.cfg.positions:
            raise ValueError(f"{n} positions; this model reads at most {self.cfg.positions}")
        e = self.embed(codes)                                                # (B, n, D, C)
        x = torch.cat([self.class_emb(labels)[:, None], e[:, :-1].sum(2)], 1)  # (B, n, C)
        h = self.spatial(x + self.spatial_pos_emb[:, :n])                    # (B, n, C)
        below = torch.cat([torch.zeros_like(e[:, :, :1]), e[:, :, :-1]], 2).cumsum(2)  # (B, n, D, C)
        u = h[:, :, None] + self.depth_pos_emb + below                       # (B, n, D, C)
        y = self.depth(u.reshape(B * n, D, -1))                              # (B*n, D, C)
        return self.head(y).view(B, n, D, -1)                                # (B, n, D, V)


def ar_loss(model: nn.Module, codes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """codes (B, N, D), labels (B,) -> mean cross-entropy over all B*N*D tokens (nats)."""
    logits = model(codes, labels)                                            # (B, N, D, V)
    return F.cross_entropy(logits.flatten(0, 2), codes.flatten())


@dataclass
class ARResult:
    codes: torch.Tensor   # (B, N, D) int64
    logp: torch.Tensor    # (B, N, D) log-probability of each sampled token under the guided logits
    calls: int            # network passes: one per token (N*D), a 2B CFG batch counting once
    seconds: float


def _pick(logits: torch.Tensor, cfg: float, temperature: float, top_p: float,
          generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """logits (R, V) with R = 2B under guidance (conditional rows first) -> codes (B,), logp (B,)."""
    if cfg != 1.0:
        c, u = logits.chunk(2)
        logits = u + cfg * (c - u)                                           # (B, V)
    logp = logits.float().log_softmax(-1)                                    # (B, V)
    probs = (logp / temperature).softmax(-1)
    if top_p < 1.0:
        p, order = probs.sort(-1, descending=True)
        drop = p.cumsum(-1) - p >= top_p                                     # keeps the most likely code
        probs = torch.zeros_like(probs).scatter(-1, order, p.masked_fill(drop, 0.0))
    code = torch.multinomial(probs, 1, generator=generator)[:, 0]            # (B,)
    return code, logp.gather(-1, code[:, None])[:, 0]


@torch.no_grad()
def sample(model: RQTransformer, labels: torch.Tensor, generator: torch.Generator, cfg: float = 1.0,
           temperature: float = 1.0, top_p: float = 1.0, cache: bool = True) -> ARResult:
    """labels (B,) int64 -> ARResult with codes (B, N, D), in raster order over positions, then
    depth 0..D-1 within a position. Randomness comes only from `generator`; the device from labels.

    cache=False recomputes the whole prefix for every token (slow; the reference for tests) and
    gives the same codes for the same generator state."""
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    if not 0 < top_p <= 1:
        raise ValueError("top_p must be in (0, 1]")
    t0 = time.perf_counter()
    N, D = model.cfg.positions, model.cfg.depth
    B, device = labels.shape[0], labels.device
    rows = labels
    if cfg != 1.0:
        rows = torch.cat([labels, torch.full_like(labels, model.null_class)])  # (R,) R = 2B
    R = rows.shape[0]
    codes = torch.zeros(B, N, D, dtype=torch.long, device=device)
    logp = torch.zeros(B, N, D, device=device)
    like = model.class_emb.weight
    s_caches = model.spatial.new_caches(R, N, like) if cache else None
    calls = 0
    for i in range(N):
        if cache:
            if i == 0:
                x = model.class_emb(rows)                                    # (R, C)
            else:
                x = model.embed(codes[:, i - 1]).sum(1).repeat(R // B, 1)    # (R, C)
            h = model.spatial((x + model.spatial_pos_emb[:, i])[:, None], s_caches)  # (R, 1, C)
            d_caches = model.depth.new_caches(R, D, like)
            below = torch.zeros_like(h)                                      # (R, 1, C)
        for d in range(D):
            if cache:
                y = model.depth(h + model.depth_pos_emb[:, d] + below, d_caches)  # (R, 1, C)
                logits = model.head(y)[:, 0]                                 # (R, V)
            else:
                prefix = codes[:, :i + 1].repeat(R // B, 1, 1)               # (R, i+1, D)
                logits = model(prefix, rows)[:, i, d]                        # (R, V)
            calls += 1
            code, lp = _pick(logits, cfg, temperature, top_p, generator)
            codes[:, i, d], logp[:, i, d] = code, lp
            if cache:
                below = below + model.code_emb(code + d * model.cfg.codebook_size).repeat(R // B, 1)[:, None]
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return ARResult(codes, logp, calls, time.perf_counter() - t0)


def save_ar(model: RQTransformer, folder: str | Path, tokenizer: dict, tokenizer_sha256: str, classes: list[str],
            trained_steps: int) -> None:
    """Write a model folder read by load_ar: ar.safetensors + ar.json (config, the tokenizer it was
    trained on and its sha256, so samples are decoded by the right tokenizer)."""
    from resgen.core.config import dumps, to_dict
    folder = Path(folder)
    sha = save_module(model, folder / "ar.safetensors")
    (folder / "ar.json").write_text(dumps({
        "task": "image-ar",
        "classes": list(classes),
        "ar": to_dict(model.cfg),
        "tokenizer": tokenizer,
        "tokenizer_sha256": tokenizer_sha256,                            # decode samples with this tokenizer
        "files": {"ar.safetensors": sha},
        "trained_steps": trained_steps,
    }))


def load_ar(folder: str | Path) -> RQTransformer:
    """A trained model folder (ar.json + ar.safetensors, written by `resgen train image-ar`) -> the
    model in eval mode on the CPU. Raises ModelFileError when a file is missing, stale or corrupt."""
    folder = Path(folder)
    meta = read_json(folder / "ar.json")
    check_files(folder, meta, "ar.json")
    try:
        cfg = from_dict(ARConfig, meta["ar"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{folder / 'ar.json'} is not a valid autoregressive model config: {e}") from None
    return load_module(RQTransformer(cfg), folder / "ar.safetensors").eval()
