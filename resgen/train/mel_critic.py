"""An adversarial critic for the speech tokenizer's decoder (`resgen train speech-tokenizer --adversarial W`).

A decoder trained on L1 + MSE alone returns the mean of the mels its codes could stand for: smooth, with the fine
structure (harmonics, breath) that makes a voice recognisable averaged away. A patch critic that tells real
standardised log-mels from decoded ones, with least-squares GAN losses and feature matching (as HiFi-GAN and GAN
postfilters for speech synthesis do), pushes the decoder towards mels that look recorded. The critic is used only in
training; the tokenizer file holds the decoder alone.

Both sides train with the loop's one optimizer: the critic's loss sees the decoded mel detached, and the decoder's
adversarial and feature-matching terms go through the critic with its parameters detached (`functional_call`), so
each loss moves only its own side.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call


class MelCritic(nn.Module):
    """Standardised log-mel (B, 80, T) -> patch scores (B, 1, 80 / 8, T / 4) and the hidden feature maps."""

    def __init__(self, ch: int = 16):
        super().__init__()
        spec = [(1, ch, 1), (ch, 2 * ch, 2), (2 * ch, 4 * ch, 2), (4 * ch, 4 * ch, (2, 1))]
        self.layers = nn.ModuleList(nn.Conv2d(i, o, 3, stride=s, padding=1) for i, o, s in spec)
        self.out = nn.Conv2d(4 * ch, 1, 3, padding=1)

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x, feats = mel[:, None], []
        for conv in self.layers:
            x = nn.functional.leaky_relu(conv(x), 0.2)
            feats.append(x)
        return self.out(x), feats


def critic_terms(critic: MelCritic, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
    """real, fake (B, 80, T) standardised log-mels -> {"critic": its LSGAN loss (fake detached), "adv": the decoder's
    LSGAN loss, "fm": feature matching (L1 between the critic's features of real and fake), the last two through
    the critic with its parameters detached}."""
    d_real, f_real = critic(real)
    d_fake, _ = critic(fake.detach())
    frozen = {k: v.detach() for k, v in critic.named_parameters()}
    g_fake, f_fake = functional_call(critic, frozen, (fake,))
    fm = torch.stack([(a - b.detach()).abs().mean() for a, b in zip(f_fake, f_real)]).mean()
    return {"critic": (d_real - 1).pow(2).mean() + d_fake.pow(2).mean(), "adv": (g_fake - 1).pow(2).mean(), "fm": fm}


class CriticisedTokenizer(nn.Module):
    """A tokenizer and its critic as one module for the training loop (one forward, so DDP sees every parameter)."""

    def __init__(self, tokenizer: nn.Module, critic: MelCritic):
        super().__init__()
        self.tokenizer, self.critic = tokenizer, critic

    @property
    def mel_std(self) -> torch.Tensor:
        return self.tokenizer.mel_std

    def forward(self, mel: torch.Tensor, keep: torch.Tensor | None = None, decoder_only: bool = False, given=None,
                context=None):
        """-> (reconstruction, codes, commitment, critic_terms) for mel (B, 80, T); given, context: see
        MelTokenizer.forward."""
        rec, codes, commit = self.tokenizer(mel, keep, decoder_only, given, context)
        mean, std = self.tokenizer.mel_mean[:, None], self.tokenizer.mel_std[:, None]
        return rec, codes, commit, critic_terms(self.critic, (mel - mean) / std, (rec - mean) / std)
