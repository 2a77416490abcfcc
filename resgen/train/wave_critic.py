"""A waveform discriminator for fine-tuning the vocoder (`resgen train vocoder --adversarial W`).

HiFi-GAN's own discriminators, at a fraction of their width so that a CPU can train them: multi-period
sub-discriminators (the waveform folded into a 2-D grid of period p, p = 2, 3, 5, 7, 11, strided 5x1 convs) see
the periodic structure of voiced speech; one multi-scale sub-discriminator (1-D grouped convs on the raw waveform)
sees its envelope and noise. Least-squares GAN losses and feature matching, as HiFi-GAN.

Both sides train with the loop's one optimizer: the critic's loss sees the generated audio detached, and the
generator's adversarial and feature-matching terms go through the critic with its parameters detached
(`functional_call`), so each loss moves only its own side (as resgen/train/mel_critic.py).
Shapes: audio (B, S).
"""
from __future__ import annotations

from math import gcd

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

SLOPE = 0.1


class PeriodCritic(nn.Module):
    """audio (B, S) folded to (B, 1, S / p, p) -> scores and feature maps."""

    def __init__(self, period: int, ch: int = 16):
        super().__init__()
        self.period = period
        widths = [1, ch, 2 * ch, 4 * ch, 8 * ch]
        self.convs = nn.ModuleList(nn.Conv2d(i, o, (5, 1), (3, 1), padding=(2, 0)) for i, o in zip(widths, widths[1:]))
        self.post = nn.Conv2d(widths[-1], 1, (3, 1), padding=(1, 0))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, s = x.shape
        if s % self.period:
            x = F.pad(x, (0, self.period - s % self.period), mode="reflect")
        x = x.view(b, 1, -1, self.period)
        feats = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), SLOPE)
            feats.append(x)
        return self.post(x), feats


class ScaleCritic(nn.Module):
    """audio (B, S) -> scores and feature maps (1-D strided, grouped convs)."""

    def __init__(self, ch: int = 16):
        super().__init__()
        spec = [(1, ch, 15, 1, 1), (ch, 2 * ch, 41, 4, 4), (2 * ch, 4 * ch, 41, 4, 16), (4 * ch, 8 * ch, 41, 4, 16),
                (8 * ch, 8 * ch, 5, 1, 1)]
        self.convs = nn.ModuleList(nn.Conv1d(i, o, k, s, groups=gcd(g, gcd(i, o)), padding=k // 2) for i, o, k, s, g in spec)
        self.post = nn.Conv1d(8 * ch, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x, feats = x[:, None], []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), SLOPE)
            feats.append(x)
        return self.post(x), feats


class WaveCritic(nn.Module):
    """Five period critics and one scale critic: audio (B, S) -> ([scores], [feature maps])."""

    def __init__(self, periods: tuple[int, ...] = (2, 3, 5, 7, 11), ch: int = 16):
        super().__init__()
        self.parts = nn.ModuleList([PeriodCritic(p, ch) for p in periods] + [ScaleCritic(ch)])

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        scores, feats = [], []
        for part in self.parts:
            s, f = part(x)
            scores.append(s)
            feats.extend(f)
        return scores, feats


def critic_terms(critic: WaveCritic, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
    """real, fake (B, S) -> {"critic": its LSGAN loss (fake detached), "adv": the generator's LSGAN loss, "fm":
    feature matching (mean L1 between the critic's features of real and fake); the last two through the critic
    with its parameters detached}."""
    d_real, f_real = critic(real)
    d_fake, _ = critic(fake.detach())
    frozen = {k: v.detach() for k, v in critic.named_parameters()}
    g_fake, f_fake = functional_call(critic, frozen, (fake,))
    loss_d = sum((r - 1).pow(2).mean() + f.pow(2).mean() for r, f in zip(d_real, d_fake)) / len(d_real)
    adv = sum((g - 1).pow(2).mean() for g in g_fake) / len(g_fake)
    fm = torch.stack([(a - b.detach()).abs().mean() for a, b in zip(f_fake, f_real)]).mean()
    return {"critic": loss_d, "adv": adv, "fm": fm}


class CriticisedVocoder(nn.Module):
    """The vocoder and its critic as one module for the training loop (one optimiser; DDP sees every parameter)."""

    def __init__(self, generator: nn.Module, critic: WaveCritic):
        super().__init__()
        self.generator, self.critic = generator, critic

    def forward(self, mel: torch.Tensor, real: torch.Tensor, stages: bool = False):
        """mel (B, 80, F), real audio (B, F * 256) -> (generated audio (B, F * 256), critic_terms); with stages,
        ((audio, the generator's stage outputs), critic_terms)."""
        out = self.generator(mel, stages=stages)
        return out, critic_terms(self.critic, real, out[0] if stages else out)
