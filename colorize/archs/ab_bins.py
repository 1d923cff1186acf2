"""Colour as a choice among ab bins instead of one regressed number (Zhang et al. 2016).

A network regressing ab with L1 or L2 answers the median or mean of the colours a pixel
could have, and for a coat that may be red or blue that is a dull brown. Zhang et al.'s
"Colorful Image Colorization" (ECCV 2016, Sec. 2.1-2.3) instead predicts a distribution over
a grid of ab bins (10 Lab units wide) and decodes it with the *annealed mean*: the mean of
the distribution sharpened by a temperature T. T = 1 is the plain mean (regression's dull
answer), T -> 0 the mode (vivid, sometimes patchy); they use 0.38. The temperature is a
setting of the shipped network, so one training run gives the whole range.
"""

from __future__ import annotations

import torch

from ..color import AB_SCALE

BIN_SIZE = 10.0                                    # Lab units per bin side (Zhang et al.)
BINS_PER_AXIS = 2 * round(AB_SCALE / BIN_SIZE) + 1  # 23 x 23 bins centred on -110, -100, ..., 0, ..., 110
BIN_COUNT = BINS_PER_AXIS ** 2
"""Gray (a = b = 0), the commonest colour of all, is a bin's centre, not the corner of four: on
a grid with edges at 0 the most likely bin of a neutral pixel is (+-5, +-5), a faint tint."""
BIN_POOL = 4                                   # bins are predicted at 1/4 of the input size, as in Zhang et al.


def bin_index(ab: torch.Tensor) -> torch.Tensor:
    """Flat index of each pixel's ab bin; (N, 2, H, W) -> (N, 1, H, W) long."""
    cells = (ab / BIN_SIZE).round().long().add(BINS_PER_AXIS // 2).clamp(0, BINS_PER_AXIS - 1)
    return cells[:, :1] * BINS_PER_AXIS + cells[:, 1:]


def bin_centres() -> torch.Tensor:
    """(BIN_COUNT, 2) ab of every bin's centre, in the flat order of ``bin_index``."""
    axis = BIN_SIZE * (torch.arange(BINS_PER_AXIS) - BINS_PER_AXIS // 2)
    a, b = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([a.reshape(-1), b.reshape(-1)], dim=1)


def annealed_mean(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """(N, BIN_COUNT, H, W) logits -> (N, 2, H, W) ab: the mean of softmax(logits / T)."""
    probabilities = torch.softmax(logits.float() / temperature, dim=1)
    centres = bin_centres().to(logits.device)
    return torch.einsum("nqhw,qc->nchw", probabilities, centres)
