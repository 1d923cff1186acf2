"""ColorAutoEncoder from the seed student projects: a small U-Net-style autoencoder.

Four stride-2 convolutions down (64, 128, 256, 512 channels), four 2x upsamplings up, each
concatenated with the encoder feature map of the same size (skip connections) so edges
survive the bottleneck. The original predicts RGB through a sigmoid; ours predicts ab in
Lab units through a tanh, like every model here, so that the photo's own L is kept.
The original upsamples with transposed convolutions; here each step is a bilinear resize
followed by a 1x1 convolution (the "resize-convolution" of Odena, Dumoulin & Olah 2016,
"Deconvolution and Checkerboard Artifacts"), at the same cost as a 2x2 transposed conv.
A transposed convolution gives each of the four pixels of a 2x2 cell its own filter, so
even a uniform gray comes out as a colour grid, which the edges of the picture then turn
into blobs in the corners (measured: a and b spread over 50 units on a uniform input).
"""

from __future__ import annotations

import torch
from torch import nn

from .common import ColorizationModel, pad_to_multiple


def _down(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(0.2, inplace=True),
    )


def _up(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class ColorAutoEncoder(ColorizationModel):
    def __init__(self, widths: tuple[int, int, int, int] = (64, 128, 256, 512)) -> None:
        super().__init__()
        w1, w2, w3, w4 = widths
        self.down1, self.down2, self.down3, self.down4 = _down(1, w1), _down(w1, w2), _down(w2, w3), _down(w3, w4)
        self.up4 = _up(w4, w3)
        self.up3 = _up(2 * w3, w2)
        self.up2 = _up(2 * w2, w1)
        self.up1 = _up(2 * w1, w1 // 2)
        self.head = nn.Conv2d(w1 // 2 + 1, 2, 3, padding=1)

    def predict(self, l_normalized: torch.Tensor) -> torch.Tensor:
        height, width = l_normalized.shape[-2:]
        x0 = pad_to_multiple(l_normalized, 16)
        x1 = self.down1(x0)   # 1/2
        x2 = self.down2(x1)   # 1/4
        x3 = self.down3(x2)   # 1/8
        x4 = self.down4(x3)   # 1/16
        y = self.up4(x4)                          # 1/8
        y = self.up3(torch.cat([y, x3], dim=1))   # 1/4
        y = self.up2(torch.cat([y, x2], dim=1))   # 1/2
        y = self.up1(torch.cat([y, x1], dim=1))   # 1/1
        y = self.head(torch.cat([y, x0], dim=1))
        return y[..., :height, :width]
