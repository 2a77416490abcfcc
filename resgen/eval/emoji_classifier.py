"""A small CNN that labels 64x64 colour emoji with their category; the evaluation asks it whether a generated emoji
shows the class it was asked for, next to its accuracy on real held-out emoji.
images (B, 64, 64, 3) uint8-like floats in [0, 1] or (B, 3, 64, 64) -> logits (B, classes)."""
from __future__ import annotations

import torch
import torch.nn as nn

from resgen.eval.classifier import conv_block


class EmojiClassifier(nn.Module):
    def __init__(self, num_classes: int = 9, width: int = 32):
        super().__init__()
        w, block = width, conv_block
        # 64 -> 32 (averaged: a category reads at 32x32, and the CPU trains it 4x faster) -> 16 -> 8 -> 4 -> 2
        self.features = nn.Sequential(nn.AvgPool2d(2), block(3, w), block(w, 2 * w), block(2 * w, 4 * w),
                                      block(4 * w, 4 * w))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(4 * w, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == 3:                                   # (B, H, W, 3) -> (B, 3, H, W)
            x = x.permute(0, 3, 1, 2)
        return self.head(self.features(x * 2 - 1))

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
        self.eval()
        return torch.cat([self(x[i:i + batch]).argmax(-1) for i in range(0, len(x), batch)])
