"""Reverse unmasking: T steps, whatever the RVQ depth D.

At each step the network predicts, for every position, a mixture over the (normalised) sum of
the embeddings of its masked tokens. We draw one vector per position, residual-quantise it into
the masked depths, score every predicted token, and reveal the most confident ones until the
schedule's count of still-masked slots is reached. Unmasking stays bottom-up within a position.

The step is a pure function of (state, network output, plan, generator); `run` is the loop and
yields one StepTrace per step. The network comes in as a callable predict(tokens, cond).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import torch

from resgen.core.config import check_cfg_schedule
from resgen.core.masking import masked_steps, masked_target
from resgen.core.mog import MoGParams, sample as mog_sample
from resgen.core.rvq import ResidualVQ
from resgen.core.trace import TOP_COMPONENTS, StepTrace

Predict = Callable[[torch.Tensor, object], MoGParams]
MAX_PI_TEMPERATURE = 10.0  # mixture temperature range accepted from users: 0 (greedy) .. this
MAX_SPEAKER_CFG = 10.0  # guidance on the prompt (speech): 1 = none
MAX_CODE_TEMPERATURE = 10.0  # code temperature range accepted from users: 0 (nearest code) .. this


@dataclass(frozen=True)
class SamplingPlan:
    masked_after: tuple[int, ...]  # (T,) slots per sample still masked after each step
    noise: tuple[float, ...]       # (T,) scale of the Gumbel noise added to confidences
    cfg: tuple[float, ...]         # (T,) guidance scale (1 = conditional only)
    top_p: float                   # nucleus over mixture components
    sigma: float                   # MoG component std (normalised units)
    latent_scale: float            # normalised -> RVQ latent units
    mog_noise: float = 0.0         # MoG draw = mean + mog_noise * sigma * eps (0: the component mean)
    pi_temperature: float = 1.0    # mixture logits / this before the component draw (0: the most likely one)
    code_temperature: float = 0.0  # codes drawn from softmax(-dist / (beta * this)) at each depth (0: the nearest)
    speaker_cfg: float = 1.0       # guidance on the prompt (1 = none): a third row with the prompt's tokens masked
    self_cond: bool = False        # the network reads the previous step's latent estimate (a self-conditioned model)

    @property
    def steps(self) -> int:
        return len(self.masked_after)


def make_plan(steps: int, positions: int, depth: int, *, cfg: float = 1.0, temperature: float = 1.0,
              top_p: float = 1.0, sigma: float = 1.0, latent_scale: float = 1.0,
              schedule: str = "cosine", mog_noise: float = 0.0, cfg_schedule: str = "constant",
              pi_temperature: float = 1.0, code_temperature: float = 0.0, speaker_cfg: float = 1.0,
              self_cond: bool = False) -> SamplingPlan:
    """Precompute every per-step number so the step never searches mutable state.

    cfg_schedule "constant" guides every step with `cfg`; "linear" (MAR, Li et al. 2024) scales the
    guidance with the share of slots known after the step: 1 + (cfg - 1) * (1 - masked_after / (N*D)),
    weak while the canvas is empty and `cfg` at the last step. `speaker_cfg` guides on the prompt at every step
    (see `guide_voice`)."""
    masked = masked_steps(steps, positions, depth, schedule)
    noise = tuple(temperature * (1 - (t + 1) / steps) for t in range(steps))  # annealed to 0 (MaskGIT)
    check_cfg_schedule(cfg_schedule)
    if cfg_schedule == "linear":
        guidance = tuple(1 + (float(cfg) - 1) * (1 - m / (positions * depth)) for m in masked)
    else:
        guidance = (float(cfg),) * steps
    return SamplingPlan(tuple(masked), noise, guidance, float(top_p), float(sigma),
                        float(latent_scale), float(mog_noise), float(pi_temperature), float(code_temperature),
                        float(speaker_cfg), bool(self_cond))


def checked_settings(defaults, steps=None, cfg=None, temperature=None, top_p=None, seed: int = 0,
                     max_steps: int = 256, pi_temperature=None) -> dict:
    """User sampler settings, None = the model's default (a SamplerConfig) -> a checked dict.
    Raises ValueError with a message fit for a user."""
    s = {"steps": defaults.steps if steps is None else int(steps),
         "cfg": defaults.cfg if cfg is None else float(cfg),
         "temperature": defaults.temperature if temperature is None else float(temperature),
         "top_p": defaults.top_p if top_p is None else float(top_p), "seed": int(seed),
         "pi_temperature": defaults.pi_temperature if pi_temperature is None else float(pi_temperature)}
    if not 1 <= s["steps"] <= max_steps:
        raise ValueError(f"steps must be between 1 and {max_steps}")
    if not 0 <= s["cfg"] <= 20:
        raise ValueError("cfg must be between 0 and 20")
    if not 0 <= s["temperature"] <= 10:
        raise ValueError("temperature must be between 0 and 10")
    if not 0 < s["top_p"] <= 1:
        raise ValueError("top_p must be in (0, 1]")
    if not 0 <= s["pi_temperature"] <= MAX_PI_TEMPERATURE:
        raise ValueError(f"pi_temperature must be between 0 and {MAX_PI_TEMPERATURE:g}")
    return s


@dataclass(frozen=True)
class SamplerState:
    codes: torch.Tensor  # (B, N, D) int64, 0 where masked
    mask: torch.Tensor   # (B, N, D) bool, True = masked
    step: int            # steps done so far
    estimate: torch.Tensor | None = None  # (B, N, E) the last step's estimate of every position's whole latent
                                          # (normalised; what a self-conditioned network reads), None before one


def init_state(batch: int, positions: int, depth: int, device=None) -> SamplerState:
    return SamplerState(torch.zeros(batch, positions, depth, dtype=torch.long, device=device),
                        torch.ones(batch, positions, depth, dtype=torch.bool, device=device), 0)


def guide(cond: MoGParams, uncond: MoGParams | None, w: float) -> MoGParams:
    """Classifier-free guidance on mixture logits and means: u + w (c - u)."""
    if uncond is None or w == 1.0:
        return cond
    return MoGParams(uncond.logits + w * (cond.logits - uncond.logits),
                     uncond.means + w * (cond.means - uncond.means))


def guide_voice(guided: MoGParams, cond: MoGParams, voiceless: MoGParams | None, w: float) -> MoGParams:
    """Guidance on the prompt, added to the text's: g + (w - 1) (c - v), where v is the network's output with the
    prompt's tokens masked (a model trained with --prompt-drop). With `guide`: c + (w_text - 1)(c - u) +
    (w - 1)(c - v), the two-condition guidance of InstructPix2Pix (Brooks et al. 2023) in its additive form."""
    if voiceless is None or w == 1.0:
        return guided
    return MoGParams(guided.logits + (w - 1) * (cond.logits - voiceless.logits),
                     guided.means + (w - 1) * (cond.means - voiceless.means))


def _gumbel(shape, generator, device) -> torch.Tensor:
    u = torch.rand(shape, generator=generator, device=device).clamp(1e-20, 1 - 1e-7)
    return -torch.log(-torch.log(u))


def reveal(conf: torch.Tensor, mask: torch.Tensor, masked_after: int, noise: float,
           generator: torch.Generator) -> torch.Tensor:
    """The reveal rule shared by the ResGEN and per-token samplers. conf (B, N, D) non-increasing along depth over the
    masked slots, mask (B, N, D) top-down -> new mask (B, N, D) with masked_after slots per sample
    still masked, revealed bottom-up within each position.

    Gumbel noise of scale `noise` is added, then a running minimum along depth keeps a deeper slot
    from outranking a shallower one; the picks are counted per position and that many of its lowest
    masked depths are revealed, which keeps the order even when noise ties."""
    B, N, D = mask.shape
    k = mask.sum(-1)                                                        # (B, N) masked depths
    noisy = conf + noise * _gumbel(conf.shape, generator, conf.device)
    noisy = noisy.masked_fill(~mask, float("inf")).cummin(-1).values       # bottom-up order kept
    noisy = noisy.masked_fill(~mask, float("-inf"))
    n_reveal = int(mask[0].sum()) - masked_after
    top = noisy.view(B, N * D).topk(n_reveal, -1).indices                   # (B, n_reveal)
    picked = torch.zeros(B, N * D, dtype=torch.long, device=mask.device).scatter(1, top, 1)
    r = picked.view(B, N, D).sum(-1)                                        # (B, N) reveals per position
    j = torch.arange(D, device=mask.device)
    return j[None, None] >= (D - k + r)[..., None]                          # (B, N, D)


def step(state: SamplerState, out: MoGParams, plan: SamplingPlan, rvq: ResidualVQ,
         generator: torch.Generator) -> tuple[SamplerState, StepTrace]:
    """One reverse step. Pure: returns a new state and the trace, touches neither input."""
    t = state.step
    codes, mask = state.codes, state.mask
    B, N, D = codes.shape
    k = mask.sum(-1)                                                        # (B, N) masked depths
    # 1. Draw a component per position (top-p over pi, sharpened or flattened by pi_temperature) and
    #    take its mean (plus mog_noise x sigma of Gaussian noise): the predicted sum of the masked
    #    embeddings, back in RVQ latent units.
    z, comp = mog_sample(out, generator, top_p=plan.top_p, noise=plan.mog_noise, sigma=plan.sigma,
                         temperature=plan.pi_temperature)                   # (B, N, E), (B, N)
    estimate = latent_estimate(codes, mask, z, rvq, plan.latent_scale) if plan.self_cond else None
    z = z * plan.latent_scale
    # 2. Residual-quantise it into the masked depths D-k .. D-1 of each position (the nearest code
    #    at each depth, or a draw near it at code_temperature > 0).
    beta = 2 * (plan.sigma * plan.latent_scale) ** 2
    pred, logp = rvq.quantise_from(z, D - k, beta, plan.code_temperature, generator)  # (B, N, D) each
    pred = torch.where(mask, pred, codes)
    # 3. Confidence of each predicted token: log pi of the component plus the cumulative token
    #    log-probability along depth, so it never increases with depth within a position.
    logpi = torch.log_softmax(out.logits.float(), -1).gather(-1, comp[..., None])  # (B, N, 1)
    conf = logpi + logp.cumsum(-1)                                          # (B, N, D)
    # 4. Reveal the most confident slots (annealed Gumbel noise, bottom-up) until
    #    plan.masked_after[t] remain masked.
    new_mask = reveal(conf, mask, plan.masked_after[t], plan.noise[t], generator)  # (B, N, D)
    revealed = mask & ~new_mask
    new_codes = torch.where(revealed, pred, codes)
    weights = torch.softmax(out.logits.float(), -1)                          # (B, N, K) after guidance
    top_w, top_c = weights.topk(min(TOP_COMPONENTS, weights.shape[-1]), -1)
    trace = StepTrace(step=t, steps=plan.steps, codes=new_codes, mask=new_mask, revealed=revealed,
                      confidence=conf.masked_fill(~mask, float("nan")), pred_codes=pred, component=comp,
                      pred_sum=z, top_components=top_c, top_weights=top_w)
    return SamplerState(new_codes, new_mask, t + 1, estimate), trace


def latent_estimate(codes: torch.Tensor, mask: torch.Tensor, z: torch.Tensor, rvq: ResidualVQ,
                    latent_scale: float) -> torch.Tensor:
    """The step's estimate of each position's whole latent, normalised: its known tokens' embeddings plus the
    drawn sum z (B, N, E) of its masked ones. codes, mask (B, N, D) -> (B, N, E). Training builds the same from the
    network's first pass (resgen/train/speech.py)."""
    return masked_target(rvq.embed_per_depth(codes), ~mask) / latent_scale + z * mask.any(-1, keepdim=True)


def predict_pair(predict: Callable, tokens: torch.Tensor, cond, null_cond, guided: bool):
    """One network call per step. Without guidance: predict(tokens, cond) -> (out, None). With it,
    the conditional and unconditional rows ride in one batch of 2B (one call instead of two; at
    batch 1 with the shipped image model on the 2-core CPU, torch: 19.8 ms against 25.2 ms for two
    calls) -> (cond out, uncond out).
    The output is a tensor or a tuple of tensors (MoGParams), each with the batch first."""
    if not guided:
        return predict(tokens, cond), None
    return tuple(predict_rows(predict, [(tokens, cond), (tokens, null_cond)]))


def predict_rows(predict: Callable, rows: list[tuple[torch.Tensor, object]],
                 prev: torch.Tensor | None = None) -> list:
    """Several (tokens, cond) rows of the same shape in one network call -> one output per row. prev (B, N, E):
    the latent estimate every row reads (a self-conditioned network's third argument)."""
    B = rows[0][0].shape[0]
    args = (torch.cat([r[0] for r in rows]), torch.cat([r[1] for r in rows]))
    out = predict(*args) if prev is None else predict(*args, prev.repeat(len(rows), 1, 1))
    if isinstance(out, torch.Tensor):
        return [out[i * B:(i + 1) * B] for i in range(len(rows))]
    return [type(out)(*(x[i * B:(i + 1) * B] for x in out)) for i in range(len(rows))]


def run(predict: Predict, plan: SamplingPlan, rvq: ResidualVQ, state: SamplerState, cond, null_cond,
        mask_id: int, generator: torch.Generator,
        prompt: torch.Tensor | None = None) -> Iterator[tuple[SamplerState, StepTrace]]:
    """The sampling loop: T steps, T network calls whatever D (under guidance each call is a batch
    of 2B: the conditional and unconditional rows; 3B with guidance on the prompt, whose positions
    `prompt` (B, N) bool marks). Yields (state, trace). A self-conditioned network (plan.self_cond) also reads
    the last step's latent estimate (zeros at the first step and at the prompt's positions): predict(tokens, cond,
    prev)."""
    voice = prompt is not None and plan.speaker_cfg != 1.0
    for t in range(state.step, plan.steps):
        tokens = torch.where(state.mask, mask_id, state.codes)               # (B, N, D)
        prev = None
        if plan.self_cond:
            prev = state.estimate if state.estimate is not None else \
                torch.zeros(*tokens.shape[:2], rvq.cfg.dim, device=tokens.device)
            prev = prev if prompt is None else prev.masked_fill(prompt[..., None], 0.0)
        text = plan.cfg[t] != 1.0
        rows = ([(tokens, cond)] + ([(torch.where(prompt[..., None], mask_id, tokens), cond)] if voice else [])
                + ([(tokens, null_cond)] if text else []))                     # one network call for all rows
        outs = predict_rows(predict, rows, prev)
        out = guide(outs[0], outs[-1] if text else None, plan.cfg[t])
        out = guide_voice(out, outs[0], outs[1] if voice else None, plan.speaker_cfg)
        state, trace = step(state, out, plan, rvq, generator)
        yield state, trace
