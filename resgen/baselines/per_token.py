"""Per-token masked baseline on the ResGEN backbone (MaskGIT-style over RVQ tokens).

The network is the ResGEN denoiser (same token embedding, adaLN-Zero transformer over N positions,
final norm) with the MoG head replaced by Linear(C, D*V): every slot (position, depth) gets its own
categorical distribution over the V codes of its depth. Training uses the same forward process as
ResGEN (resgen.core.masking.sample_training_mask: a cosine-scheduled count of masked slots, masked
top-down within a position) and cross-entropy over the masked slots only.

Sampling has the structure of resgen/core/sampler.py and reuses its plan (reveal counts, annealed
Gumbel noise, guidance scale), state and trace: at each of the T steps every masked slot draws a
token from softmax(logits) (temperature 1, optional top-p over codes), its confidence is the
cumulative log-probability of the drawn tokens along depth (so it never increases with depth), and
the most confident slots are revealed, bottom-up within a position, until the plan's count of
still-masked slots remains. T network calls whatever D (each a batch of 2B under guidance).

Shape legend: B batch, N positions, D depth, V codebook size, C width, T steps, M selected positions.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from resgen.core.config import DenoiserConfig, from_dict
from resgen.core.denoiser import Denoiser, masked_tokens
from resgen.core.mog import top_p_filter
from resgen.core.sampler import SamplerState, SamplingPlan, init_state, predict_pair, reveal
from resgen.core.trace import StepTrace
from resgen.core.weights import ModelFileError, check_files, load_module, read_json

PredictLogits = Callable[[torch.Tensor, object], torch.Tensor]   # tokens (B, N, D), cond -> logits (B, N, D, V)


class PerTokenDenoiser(Denoiser):
    """The ResGEN denoiser with a per-slot categorical head instead of the MoG head.

    cfg.mog and cfg.code_dim are unused (the MoG head is removed, so the parameter count holds only
    what this model uses)."""

    def __init__(self, cfg: DenoiserConfig):
        super().__init__(cfg)
        D, V, C = cfg.depth, cfg.codebook_size, cfg.width
        del self.head                                            # the MoG head: no parameters left behind
        self.head = nn.Linear(C, D * V)                          # (C,) -> D logits vectors of V codes
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def forward(self, tokens: torch.Tensor, labels: torch.Tensor, cond: torch.Tensor | None = None,
                keep: torch.Tensor | None = None, select: torch.Tensor | None = None) -> torch.Tensor:
        """tokens (B, N, D) int64 with MASK = V, labels (B,) int64 -> logits (B, N, D, V).

        select (B, N) bool (training): the head only at those M positions -> logits (1, M, D, V),
        in the order of `select.nonzero()`. The trunk is Denoiser.forward, whose last op applies
        self.head to the normalised, modulated hidden states (B, N, C)."""
        out = super().forward(tokens, labels, cond, keep, select)            # (B, N, D*V) or (1, M, D*V)
        return out.view(*out.shape[:2], self.cfg.depth, self.cfg.codebook_size)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---- training ----------------------------------------------------------------------------------

def masked_cross_entropy(logits: torch.Tensor, codes: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """logits (..., D, V), codes (..., D), mask (..., D) bool -> mean cross-entropy (nats) over the
    masked slots only; logits and codes of unmasked slots do not enter."""
    return F.cross_entropy(logits[mask].float(), codes[mask])


def per_token_loss(model: nn.Module, codes: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """codes (B, N, D), labels (B,), mask (B, N, D) bool (True = masked, from
    resgen.core.masking.sample_training_mask) -> mean cross-entropy over the masked slots.

    The head runs only at positions with at least one masked slot."""
    V = getattr(model, "module", model).cfg.codebook_size                    # model may be DDP-wrapped
    select = mask.any(-1)                                                    # (B, N)
    logits = model(masked_tokens(codes, mask, V), labels, select=select)     # (1, M, D, V)
    return masked_cross_entropy(logits[0], codes[select], mask[select])


# ---- sampling ----------------------------------------------------------------------------------

def guide_logits(cond: torch.Tensor, uncond: torch.Tensor | None, w: float) -> torch.Tensor:
    """Classifier-free guidance on logits: u + w (c - u)."""
    if uncond is None or w == 1.0:
        return cond
    return uncond + w * (cond - uncond)


def step(state: SamplerState, logits: torch.Tensor, plan: SamplingPlan,
         generator: torch.Generator) -> tuple[SamplerState, StepTrace]:
    """One reverse step from (guided) logits (B, N, D, V). Pure: returns a new state and the
    trace, touches neither input. Uses plan.masked_after, plan.noise and plan.top_p (here a nucleus
    over the V codes of each slot); the MoG fields of the plan are ignored."""
    t = state.step
    codes, mask = state.codes, state.mask
    B, N, D = codes.shape
    V = logits.shape[-1]
    # 1. Draw a token for every slot from softmax(logits) (temperature 1, top-p over codes); keep
    #    the known tokens.
    logp = torch.log_softmax(logits.float(), -1)                            # (B, N, D, V)
    probs = torch.softmax(top_p_filter(logp, plan.top_p), -1)               # (B, N, D, V)
    draw = torch.multinomial(probs.view(-1, V), 1, generator=generator).view(B, N, D)
    pred = torch.where(mask, draw, codes)                                   # (B, N, D)
    # 2. Confidence: the cumulative log-probability of the drawn tokens along the masked depths,
    #    so it never increases with depth within a position.
    tok = logp.gather(-1, pred[..., None])[..., 0].masked_fill(~mask, 0.0)  # (B, N, D)
    conf = tok.cumsum(-1)                                                   # (B, N, D)
    # 3. Reveal the most confident slots until plan.masked_after[t] remain, bottom-up.
    new_mask = reveal(conf, mask, plan.masked_after[t], plan.noise[t], generator)
    revealed = mask & ~new_mask
    new_codes = torch.where(revealed, pred, codes)
    trace = StepTrace(step=t, steps=plan.steps, codes=new_codes, mask=new_mask, revealed=revealed,
                      confidence=conf.masked_fill(~mask, float("nan")), pred_codes=pred,
                      component=torch.zeros(B, N, dtype=torch.long, device=codes.device))  # no mixture: 0
    return SamplerState(new_codes, new_mask, t + 1), trace


def run(predict: PredictLogits, plan: SamplingPlan, state: SamplerState, cond, null_cond, mask_id: int,
        generator: torch.Generator) -> Iterator[tuple[SamplerState, StepTrace]]:
    """The sampling loop: T steps, T network calls (a batch of 2B under guidance, as in the ResGEN
    sampler). Yields (state, trace)."""
    for t in range(state.step, plan.steps):
        tokens = torch.where(state.mask, mask_id, state.codes)               # (B, N, D)
        logits, uncond = predict_pair(predict, tokens, cond, null_cond, plan.cfg[t] != 1.0)  # (B, N, D, V) each
        state, trace = step(state, guide_logits(logits, uncond, plan.cfg[t]), plan, generator)
        yield state, trace


@torch.no_grad()
def generate(model: PerTokenDenoiser, labels: torch.Tensor, plan: SamplingPlan,
             generator: torch.Generator) -> torch.Tensor:
    """labels (B,) int64 -> codes (B, N, D) after the plan's T steps. The device comes from labels."""
    N, D = model.cfg.positions, model.cfg.depth
    state = init_state(labels.shape[0], N, D, device=labels.device)
    null = torch.full_like(labels, model.null_class)
    for state_t, _ in run(lambda tokens, y: model(tokens, y), plan, state, labels, null, model.mask_id, generator):
        state = state_t
    return state.codes


def load_per_token(folder: str | Path) -> PerTokenDenoiser:
    """A trained model folder (per_token.json + per_token.safetensors, written by
    `resgen train image-per-token`) -> the model in eval mode on the CPU. Raises ModelFileError when
    a file is missing, stale or corrupt."""
    folder = Path(folder)
    meta = read_json(folder / "per_token.json")
    check_files(folder, meta, "per_token.json")
    try:
        cfg = from_dict(DenoiserConfig, meta["denoiser"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{folder / 'per_token.json'} is not a valid per-token model config: {e}") from None
    return load_module(PerTokenDenoiser(cfg), folder / "per_token.safetensors").eval()
