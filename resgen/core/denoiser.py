"""The ResGEN denoiser: a bidirectional transformer over N positions (one token per position,
not N*D), with adaLN-Zero class conditioning and the MoG head as its final layer.

Input: tokens (B, N, D) int64 where masked slots hold the MASK id V, labels (B,) int64 where
label == num_classes is the null class (classifier-free guidance); optionally (speech) a condition
id per position cond (B, N) int64 (0 = none, added to the input embedding; or F ids per position,
cond (B, N, F), whose embeddings are mixed by one linear map) and keep (B, N) bool
(False = padding, ignored by attention and by the optional local convolution, cfg.conv_kernel).
With cfg.voice_cond >= 0 the mean token embedding of the positions whose (first) condition id is
voice_cond (the speech prompt) joins the class in the adaLN condition: a global voice vector.
Output: MoGParams over the normalised sum of the masked
embeddings at every position.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from resgen.core.config import DenoiserConfig
from resgen.core.mog import MoGHead, MoGParams


def modulate(x, shift, scale):
    return x * (1 + scale[:, None]) + shift[:, None]


class Attention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x, attn_mask=None):
        B, N, C = x.shape
        q, k, v = self.qkv(x).view(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)  # (B, h, N, c)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)             # (B, h, N, c)
        return self.proj(y.transpose(1, 2).reshape(B, N, C))                         # (B, N, C)


class LocalConv(nn.Module):
    """Mixes each position with its neighbours: norm -> linear -> depthwise conv over positions -> SiLU -> linear
    (zero-initialised, so a new block starts as the identity). Padding (keep False) is zeroed before the conv, so
    it never leaks into real positions. x (B, N, C), keep (B, N) bool or None -> (B, N, C)."""

    def __init__(self, width: int, kernel: int):
        super().__init__()
        if kernel % 2 != 1:
            raise ValueError(f"conv_kernel must be odd (got {kernel})")
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.inp = nn.Linear(width, width)
        self.conv = nn.Conv1d(width, width, kernel, padding=kernel // 2, groups=width)
        self.out = nn.Linear(width, width)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x, keep=None):
        h = self.inp(self.norm(x))
        if keep is not None:
            h = h * keep[..., None].to(h.dtype)
        h = self.conv(h.transpose(1, 2)).transpose(1, 2)                               # (B, N, C)
        return self.out(F.silu(h))


class Block(nn.Module):
    def __init__(self, cfg: DenoiserConfig):
        super().__init__()
        C = cfg.width
        self.norm1 = nn.LayerNorm(C, elementwise_affine=False)
        self.attn = Attention(C, cfg.heads)
        self.local = LocalConv(C, cfg.conv_kernel) if cfg.conv_kernel else None
        self.norm2 = nn.LayerNorm(C, elementwise_affine=False)
        hidden = int(C * cfg.mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(C, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, C))
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(C, 6 * C))
        nn.init.zeros_(self.ada[1].weight)
        nn.init.zeros_(self.ada[1].bias)

    def forward(self, x, c, attn_mask=None):
        s1, sc1, g1, s2, sc2, g2 = self.ada(c).chunk(6, -1)                          # (B, C) each
        x = x + g1[:, None] * self.attn(modulate(self.norm1(x), s1, sc1), attn_mask)
        if self.local is not None:
            x = x + self.local(x, None if attn_mask is None else attn_mask[:, 0, 0])
        return x + g2[:, None] * self.mlp(modulate(self.norm2(x), s2, sc2))


class Denoiser(nn.Module):
    def __init__(self, cfg: DenoiserConfig):
        super().__init__()
        self.cfg = cfg
        D, V, C = cfg.depth, cfg.codebook_size, cfg.width
        # One table of V+1 rows (V codes + MASK) per depth, stored as one (D*(V+1), C) table.
        self.token_emb = nn.Embedding(D * (V + 1), C)
        self.register_buffer("depth_offset", torch.arange(D) * (V + 1), persistent=False)
        self.pos_emb = nn.Parameter(torch.randn(1, cfg.positions, C) * 0.02)
        self.class_emb = nn.Embedding(cfg.num_classes + 1, C)
        self.cond_emb = nn.Embedding(cfg.cond_vocab, C) if cfg.cond_vocab else None
        # F > 1 ids per position: their embeddings, in order, through one linear map (so the model knows
        # which frames of the position each id covers, e.g. where a phoneme boundary falls)
        self.cond_mix = nn.Linear(cfg.cond_frames * C, C) if cfg.cond_vocab and cfg.cond_frames > 1 else None
        # a global voice vector (speech): the mean token embedding of the prompt, joined to the class condition;
        # its last layer starts at zero, so a model grown with it starts as the model without
        self.voice = nn.Sequential(nn.Linear(C, C), nn.SiLU(), nn.Linear(C, C)) if cfg.voice_cond >= 0 else None
        if self.voice is not None:
            nn.init.zeros_(self.voice[2].weight)
            nn.init.zeros_(self.voice[2].bias)
        # self-conditioning: the previous step's estimate of each position's latent, through a map that starts at
        # zero (no bias: an absent estimate is the zero estimate)
        self.prev_in = nn.Linear(cfg.code_dim, C, bias=False) if cfg.self_cond else None
        if self.prev_in is not None:
            nn.init.zeros_(self.prev_in.weight)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.final_norm = nn.LayerNorm(C, elementwise_affine=False)
        self.final_ada = nn.Sequential(nn.SiLU(), nn.Linear(C, 2 * C))
        nn.init.zeros_(self.final_ada[1].weight)
        nn.init.zeros_(self.final_ada[1].bias)
        self.head = MoGHead(C, cfg.code_dim, cfg.mog)
        nn.init.normal_(self.token_emb.weight, std=0.02)
        nn.init.normal_(self.class_emb.weight, std=0.02)
        if self.cond_emb is not None:
            nn.init.normal_(self.cond_emb.weight, std=0.02)

    @property
    def mask_id(self) -> int:
        return self.cfg.codebook_size

    @property
    def null_class(self) -> int:
        return self.cfg.num_classes

    def forward(self, tokens: torch.Tensor, labels: torch.Tensor, cond: torch.Tensor | None = None,
                keep: torch.Tensor | None = None, select: torch.Tensor | None = None,
                prev: torch.Tensor | None = None) -> MoGParams:
        """tokens (B, N, D) int64 with MASK = V, labels (B,) int64, cond (B, N) (or (B, N, F) when
        cfg.cond_frames = F > 1) int64 or None,
        keep (B, N) bool or None -> MoGParams over (B, N). prev (B, N, E) or None (= zeros): the previous step's
        estimate of each position's latent (normalised), read only by a model with cfg.self_cond.

        select (B, N) bool (training): apply the head only at those M positions -> MoGParams over
        (1, M), in the order of `select.nonzero()`; the head is the costly part of a training step."""
        N = tokens.shape[1]
        if N > self.cfg.positions:
            raise ValueError(f"{N} positions; this denoiser reads at most {self.cfg.positions}")
        tok = self.token_emb(tokens + self.depth_offset).sum(2)              # (B, N, C)
        x = tok + self.pos_emb[:, :N]
        if cond is not None:
            e = self.cond_emb(cond)                                           # (B, N, C) or (B, N, F, C)
            x = x + (e if self.cond_mix is None else self.cond_mix(e.flatten(2)))
        if self.prev_in is not None and prev is not None:
            x = x + self.prev_in(prev.to(x.dtype))
        attn_mask = None if keep is None else keep[:, None, None, :]          # (B, 1, 1, N) keys
        c = self.class_emb(labels)                                            # (B, C)
        if self.voice is not None and cond is not None:
            c = c + self.voice(pooled(tok, (cond if cond.dim() == 2 else cond[..., 0]) == self.cfg.voice_cond, keep))
        for block in self.blocks:
            x = block(x, c, attn_mask)
        shift, scale = self.final_ada(c).chunk(2, -1)
        h = modulate(self.final_norm(x), shift, scale)                        # (B, N, C)
        return self.head(h if select is None else h[select][None])


def pooled(x: torch.Tensor, where: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
    """x (B, N, C), where (B, N) bool, keep (B, N) bool or None -> the mean of x over the kept positions in `where`
    (B, C); zeros for a row without any."""
    w = (where if keep is None else where & keep).to(x.dtype)[..., None]         # (B, N, 1)
    return (x * w).sum(1) / w.sum(1).clamp(min=1)


def masked_tokens(codes: torch.Tensor, mask: torch.Tensor, mask_id: int) -> torch.Tensor:
    """codes (B, N, D), mask (B, N, D) -> tokens with mask_id in the masked slots."""
    return torch.where(mask, torch.full_like(codes, mask_id), codes)
