"""A small CNN that labels 28x28 Fashion-MNIST images; used to check that generated images show
the class they were asked for. images (B, 28, 28) or (B, 1, 28, 28) in [0, 1] -> logits (B, 10)."""
from __future__ import annotations

import torch
import torch.nn as nn


def conv_block(cin: int, cout: int) -> nn.Sequential:
    """Two 3x3 convolutions with batch norm and ReLU, then a 2x2 max-pool (halves the size)."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                         nn.MaxPool2d(2))


class Classifier(nn.Module):
    def __init__(self, num_classes: int = 10, width: int = 32):
        super().__init__()
        w = width
        block = conv_block
        self.features = nn.Sequential(block(1, w), block(w, 2 * w))          # 28 -> 14 -> 7
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(2 * w * 49, 128), nn.ReLU(),
                                  nn.Linear(128, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 3:
            x = x[:, None]
        return self.head(self.features((x - 0.286) / 0.353))

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
        self.eval()
        return torch.cat([self(x[i:i + batch]).argmax(-1) for i in range(0, len(x), batch)])
