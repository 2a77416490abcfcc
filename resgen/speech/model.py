"""The zero-shot TTS model: the ResGEN denoiser over [prompt | target] mel-token positions, plus
a duration predictor (our explicit alignment aid).

Sequence layout (N = Np + Nt positions): the prompt's tokens, all depths visible, then the target
positions, masked by the ResGEN forward process. Each position carries a condition id:
PROMPT for prompt positions, the id of the phoneme it belongs to for target positions (from the
phoneme durations: training reads them off espeak, sampling predicts them), or NULL_TEXT (0)
when the text is dropped (classifier-free guidance). With denoiser.cond_frames = F > 1 each
position carries F ids (B, N, F), one per mel frame for F = frames_per_position, so a phoneme
shorter than a position still reaches the model (`positions_phonemes`). The class input of the denoiser is a
constant (one class) with its null class unused.

The duration predictor reads the phoneme ids and a speaker vector pooled from the prompt's token
embeddings and predicts log(1 + frames) per phoneme; `speed` divides the durations at sampling.
Shapes: prompt codes (B, Np, D); phonemes (B, P) int64, 0 = padding; durations (B, P) in mel frames.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from resgen.core.config import DurationConfig, SpeechModelConfig
from resgen.core.denoiser import Denoiser
from resgen.core.mog import MoGParams

NULL_TEXT = 0


class SpeakerPool(nn.Module):
    """Prompt latents (B, Np, E) -> speaker vector (B, C): a small transformer, then a mean."""

    def __init__(self, dim: int, width: int, heads: int):
        super().__init__()
        self.inp = nn.Linear(dim, width)
        layer = nn.TransformerEncoderLayer(width, heads, 2 * width, dropout=0.0, batch_first=True, norm_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)

    def forward(self, z: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        h = self.enc(self.inp(z), src_key_padding_mask=None if keep is None else ~keep)
        if keep is None:
            return h.mean(1)
        w = keep.float()[..., None]
        return (h * w).sum(1) / w.sum(1).clamp(min=1)


class DurationPredictor(nn.Module):
    """phonemes (B, P) + speaker (B, C) -> log(1 + frames) (B, P)."""

    def __init__(self, symbols: int, cfg: DurationConfig):
        super().__init__()
        self.emb = nn.Embedding(symbols, cfg.width, padding_idx=0)
        self.pos = nn.Parameter(torch.randn(1, 512, cfg.width) * 0.02)
        layer = nn.TransformerEncoderLayer(cfg.width, cfg.heads, 4 * cfg.width, dropout=0.0, batch_first=True,
                                           norm_first=True)
        self.enc = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.out = nn.Linear(cfg.width, 1)

    def forward(self, phonemes: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
        P = phonemes.shape[1]
        h = self.emb(phonemes) + self.pos[:, :P] + speaker[:, None]
        h = self.enc(h, src_key_padding_mask=phonemes == 0)
        return self.out(h)[..., 0]


class SpeechModel(nn.Module):
    def __init__(self, cfg: SpeechModelConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.denoiser.cond_vocab != cfg.symbols + 1 or cfg.denoiser.num_classes != 1:
            raise ValueError("the denoiser needs cond_vocab = symbols + 1 and one class")
        if not 1 <= cfg.denoiser.cond_frames <= cfg.frames_per_position:
            raise ValueError(f"the denoiser's cond_frames must be 1..{cfg.frames_per_position} (frames per position)")
        self.denoiser = Denoiser(cfg.denoiser)
        self.speaker = SpeakerPool(cfg.denoiser.code_dim, cfg.durations.width, cfg.durations.heads)
        self.durations = DurationPredictor(cfg.symbols, cfg.durations)

    def speaker_vector(self, prompt_latents: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """prompt_latents (B, Np, E) (normalised sums of the prompt's code embeddings) -> (B, C)."""
        return self.speaker(prompt_latents, keep)

    def denoise(self, tokens: torch.Tensor, cond: torch.Tensor, keep: torch.Tensor | None = None,
                select: torch.Tensor | None = None, prev: torch.Tensor | None = None) -> MoGParams:
        """tokens (B, N, D) with MASK = V, cond (B, N) condition ids, keep (B, N) -> MoGParams
        (over the `select`ed positions only when given; see Denoiser.forward). prev (B, N, E): the previous step's
        latent estimate (a self-conditioned model), zero at the prompt's positions."""
        labels = torch.zeros(tokens.shape[0], dtype=torch.long, device=tokens.device)
        return self.denoiser(tokens, labels, cond, keep, select, prev)

    def log_durations(self, phonemes: torch.Tensor, prompt_latents: torch.Tensor,
                      prompt_keep: torch.Tensor | None = None) -> torch.Tensor:
        """phonemes (B, P), prompt latents (B, Np, E) -> predicted log(1 + frames) (B, P)."""
        return self.durations(phonemes, self.speaker_vector(prompt_latents, prompt_keep))

    def forward(self, tokens, cond, keep, phonemes, prompt_latents, prompt_keep, select=None, prev=None):
        """Training: both outputs in one call (so DDP sees every parameter) -> (MoGParams, log durations)."""
        return (self.denoise(tokens, cond, keep, select, prev),
                self.log_durations(phonemes, prompt_latents, prompt_keep))


def positions_phonemes(phonemes: torch.Tensor, frames: torch.Tensor, frames_per_position: int,
                       per_position: int = 1) -> torch.Tensor:
    """One utterance: phoneme ids (P,), durations in frames (P,) -> the phoneme ids of each token
    position: (n,) read at the centre frame when per_position = 1 (a phoneme shorter than a position
    can then be missed), else (n, per_position) read at evenly spaced frames (per_position =
    frames_per_position: every frame, so every phoneme reaches the model); n = ceil(sum / s).
    Frames past the end (the last position's padding) repeat the last frame."""
    s, k = frames_per_position, per_position
    if not 1 <= k <= s:
        raise ValueError(f"per_position must be 1..{s}")
    total = int(frames.sum())
    n = -(-total // s)
    if not total:
        return torch.zeros((0,) if k == 1 else (0, k), dtype=phonemes.dtype)
    per_frame = torch.repeat_interleave(phonemes, frames.long())                 # (F_total,)
    offsets = (torch.arange(k) * s + s // 2) // k                                 # k = 1: the centre frame
    at = (torch.arange(n)[:, None] * s + offsets).clamp(max=total - 1)           # (n, k)
    ids = per_frame[at]
    return ids[:, 0] if k == 1 else ids


def durations_from_log(log_frames: torch.Tensor, speed: float = 1.0) -> torch.Tensor:
    """Predicted log(1 + frames) -> whole frames (at least 1 per phoneme), divided by `speed`."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    return torch.clamp(torch.round(torch.expm1(log_frames.clamp(min=0)) / speed), min=1).long()
