"""ShallowColorizationNet, the smallest encoder-decoder of the seed student projects.

Two conv + ReLU + 2x max-pool encoder blocks, one bottleneck convolution, and a decoder of
two stride-2 transposed convolutions back to full size, ending in a tanh. The transposed
convolutions use 2x2 kernels (each output pixel has exactly one parent: no checkerboard, and
a quarter of the arithmetic of 4x4 kernels at full resolution). Tiny and fast;
its colours are soft and mostly follow the dataset's average tint.
"""

from __future__ import annotations

import torch
from torch import nn

from .common import ColorizationModel, pad_to_multiple


class ShallowColorizationNet(ColorizationModel):
    def __init__(self, width: int = 64) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        )
        self.bottleneck = nn.Sequential(nn.Conv2d(2 * width, 4 * width, 3, padding=1), nn.ReLU(inplace=True))
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(4 * width, 2 * width, 2, stride=2), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(2 * width, width, 2, stride=2), nn.ReLU(inplace=True),
            nn.Conv2d(width, 2, 3, padding=1),
        )

    def predict(self, l_normalized: torch.Tensor) -> torch.Tensor:
        height, width = l_normalized.shape[-2:]
        x = pad_to_multiple(l_normalized, 4)
        x = self.decoder(self.bottleneck(self.encoder(x)))
        return x[..., :height, :width]
