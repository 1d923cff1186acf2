"""The 8-layer full-resolution ColorizationNet of the seed student project.

Eight 3x3 convolutions, 1 -> 64 -> 128 -> 256 -> 512 -> 256 -> 128 -> 64 -> 2 channels, ReLU
between them and a tanh on the output, never changing the resolution. BatchNorm follows
each hidden convolution so that plain SGD-style training converges in CPU-sized budgets.
With no down-sampling its receptive field is only 17 px, so it colours textures well and
scene-level context poorly: the classic argument for the encoder-decoder models next door.
"""

from __future__ import annotations

import torch
from torch import nn

from .common import ColorizationModel, conv_bn_relu


class ColorizationNet(ColorizationModel):
    def __init__(self, widths: tuple[int, ...] = (64, 128, 256, 512, 256, 128, 64)) -> None:
        super().__init__()
        channels = (1, *widths)
        self.body = nn.Sequential(*(conv_bn_relu(c_in, c_out) for c_in, c_out in zip(channels, channels[1:])))
        self.head = nn.Conv2d(widths[-1], 2, 3, padding=1)

    def predict(self, l_normalized: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(l_normalized))
