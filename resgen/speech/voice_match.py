"""The project's own voice encoder, and choosing the take that sounds most like the prompt.

`VoiceEncoder` maps a log-mel to a unit-norm voice embedding (an x-vector-style network: a strided convolution, dilated
residual convolutions, attentive mean and standard-deviation pooling over time, a linear map). It is trained
(`resgen train voice-encoder`) with an additive-angular-margin softmax over the training voices of the speech corpora
only, never on validation or held-out voices, and ships in `assets/speech-voice/`.

Best-of-N sampling (`generate(..., candidates=N)`): N takes of the same text and prompt, with independent draws,
each decoded to its log-mel; the take whose embedding is nearest (cosine) to the prompt's wins, and only it is
vocoded. The prompt is embedded from its own tokens, decoded by the same tokenizer, so both sides of the comparison
are tokenizer mels. It is a selector of our own, not the evaluation's speaker model (resemblyzer), so the
evaluation stays an independent judge of what it picks.

    enc = load_voice_encoder(assets_dir() / "speech-voice")
    e = enc.embed(mel)                         # mel (80, F) -> (dim,), norm 1
    best, scores = enc.choose(prompt_mel, [mel_1, ..., mel_N])

Shapes: mel (B, 80, F) log-mels; embeddings (B, dim); F' = ceil(F / 2) after the strided input convolution.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

MAX_CANDIDATES = 8


@dataclass(frozen=True)
class BestOfConfig:
    candidates: int = 1       # takes sampled per generation; 1 = no choice (models saved before it)

    def __post_init__(self):
        check_candidates(self.candidates)

    def resolve(self, candidates: int | None = None) -> int:
        """A user's number of takes (None: this config's default) -> a checked int."""
        return self.candidates if candidates is None else check_candidates(candidates)


def check_candidates(value) -> int:
    """A user's number of takes -> int; ValueError with a message fit for a user when it is not 1..MAX_CANDIDATES."""
    message = f"candidates must be a whole number between 1 and {MAX_CANDIDATES}"
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if not f.is_integer() or not 1 <= f <= MAX_CANDIDATES:
        raise ValueError(message)
    return int(f)


@dataclass(frozen=True)
class VoiceEncoderConfig:
    n_mels: int = 80
    width: int = 192
    dilations: tuple[int, ...] = (1, 2, 3, 4)
    kernel: int = 3
    dim: int = 128
    envelope_sigma: float = 0.0   # > 0: each frame smoothed over this many mel bands first (the envelope, not harmonics)


class TimeBlock(nn.Module):
    """Residual: channel norm, dilated convolution over time, GELU, pointwise convolution."""

    def __init__(self, width: int, kernel: int, dilation: int):
        super().__init__()
        self.norm = nn.GroupNorm(1, width)
        self.conv = nn.Conv1d(width, width, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2)
        self.proj = nn.Conv1d(width, width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.proj(F.gelu(self.conv(self.norm(x))))


class VoiceEncoder(nn.Module):
    def __init__(self, cfg: VoiceEncoderConfig = VoiceEncoderConfig()):
        super().__init__()
        self.cfg = cfg
        self.inp = nn.Conv1d(cfg.n_mels, cfg.width, 5, stride=2, padding=2)
        self.blocks = nn.ModuleList(TimeBlock(cfg.width, cfg.kernel, d) for d in cfg.dilations)
        self.norm = nn.GroupNorm(1, cfg.width)
        self.attend = nn.Conv1d(cfg.width, 1, 1)
        self.out = nn.Linear(2 * cfg.width, cfg.dim)

    @staticmethod
    def level(mel: torch.Tensor) -> torch.Tensor:
        """Remove each utterance's overall level (one number: loudness is not the voice; the spectral shape is)."""
        return (mel - mel.mean(dim=(1, 2), keepdim=True)) / 2

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel (B, 80, F) -> embeddings (B, dim), unit norm."""
        if self.cfg.envelope_sigma > 0:
            from resgen.speech.postfilter import smooth_over_bands
            mel = smooth_over_bands(mel, self.cfg.envelope_sigma)
        x = self.inp(self.level(mel))
        for block in self.blocks:
            x = block(x)
        x = F.gelu(self.norm(x))                                            # (B, C, F')
        w = self.attend(x).softmax(-1)                                      # (B, 1, F')
        mean = (x * w).sum(-1)
        std = ((x - mean[..., None]) ** 2 * w).sum(-1).clamp(min=1e-6).sqrt()
        return F.normalize(self.out(torch.cat([mean, std], -1)), dim=-1)

    @torch.no_grad()
    def embed(self, mel: torch.Tensor) -> torch.Tensor:
        """One log-mel (80, F) -> (dim,)."""
        return self(mel[None].to(self.inp.weight.device, self.inp.weight.dtype))[0].float()

    @torch.no_grad()
    def choose(self, prompt_mel: torch.Tensor, mels: list[torch.Tensor]) -> tuple[int, list[float]]:
        """-> (index of the mel nearest the prompt's voice, each mel's cosine to it)."""
        p = self.embed(prompt_mel)
        scores = [float(self.embed(m) @ p) for m in mels]
        return max(range(len(mels)), key=scores.__getitem__), scores


def best_take(pipe, traces: list, prompt_positions: int) -> tuple[list, torch.Tensor, dict]:
    """The traces of a batch of N takes (StepTrace, batch N; the first prompt_positions positions are the prompt) ->
    (the chosen take's traces (batch 1), its decoded log-mel (80, F) before any postfilter, what was chosen:
    {"candidates": N, "take": b, "voice_match": [cosine of each take to the prompt]}; {} for a single take)."""
    from resgen.core.trace import take_row
    final = traces[-1].codes
    mels = [pipe.decode(final[b, prompt_positions:]) for b in range(final.shape[0])]
    if len(mels) == 1:
        return traces, mels[0], {}
    b, scores = pipe.voice_encoder().choose(pipe.decode(final[0, :prompt_positions]), mels)
    return ([take_row(t, b) for t in traces], mels[b],
            {"candidates": len(mels), "take": b, "voice_match": [round(x, 4) for x in scores]})


def voice_encoder_folder(model_dir: Path) -> Path:
    """A speech model's voice encoder: its own folder's voice.json if it has one, else assets/speech-voice."""
    from resgen.core.paths import assets_dir
    return model_dir if (Path(model_dir) / "voice.json").exists() else assets_dir() / "speech-voice"


def load_voice_encoder(folder: str | Path) -> VoiceEncoder:
    """The encoder in `folder` (voice.json + voice.safetensors, hash checked), in eval mode, float32."""
    from resgen.core.config import from_dict
    from resgen.core.weights import ModelFileError, check_files, load_module, read_json
    folder = Path(folder)
    if not (folder / "voice.json").exists():
        raise ModelFileError(f"no voice encoder at {folder} to choose among takes (build one with `resgen train "
                             f"voice-encoder --out {folder}`), so candidates must be 1")
    meta = read_json(folder / "voice.json")
    check_files(folder, meta, "voice.json")
    try:
        cfg = from_dict(VoiceEncoderConfig, meta["encoder"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{folder / 'voice.json'} is not a valid voice encoder config: {e}") from None
    net = VoiceEncoder(cfg).half()
    return load_module(net, folder / "voice.safetensors").float().eval()
