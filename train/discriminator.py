"""The 70x70 PatchGAN discriminator of pix2pix (Isola et al. 2017).

It judges overlapping 70x70 patches of a Lab image (L with real or predicted ab) as real or
fake, so it penalises implausible colour locally instead of rewarding the average colour.
Layers C64-C128-C256-C512 (4x4 convs, stride 2 except the last two), BatchNorm except on the
first, LeakyReLU 0.2, and a 1-channel logit map.
"""

from __future__ import annotations

import torch
from torch import nn

from colorize.color import normalize_ab, normalize_l


def _block(in_channels: int, out_channels: int, stride: int, norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 4, stride=stride, padding=1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return layers


class PatchDiscriminator(nn.Module):
    def __init__(self, width: int = 64) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_block(3, width, 2, norm=False),
            *_block(width, 2 * width, 2, norm=True),
            *_block(2 * width, 4 * width, 2, norm=True),
            *_block(4 * width, 8 * width, 1, norm=True),
            nn.Conv2d(8 * width, 1, 4, stride=1, padding=1),
        )

    def forward(self, l: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        """L (N,1,H,W, 0..100) and ab (N,2,H,W, Lab units) -> patch logits (N,1,h,w)."""
        return self.body(torch.cat([normalize_l(l), normalize_ab(ab)], dim=1))
