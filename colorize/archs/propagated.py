"""The default network's colours, corrected by the user's hints and spread by Levin propagation.

Two engines in one. The network (``effnet-unet``) knows what things are, grass, sky, skin,
but cannot know that this shirt was red; Levin, Lischinski & Weiss 2004 (``levin.py``) spread
a given colour faithfully over its region but know nothing about the rest of the photo
(gray). Here the network colours the photo first; where a hint disagrees with it, the
difference (hint minus prediction) is spread by Levin's edge-aware propagation and added. At
a hint the result is the hint's colour; between hints the corrections blend along lightness
edges, so a hint recolours its object and a photo-wide cast that several hints agree on is
corrected everywhere; with no hints it is exactly ``effnet-unet``. Spreading the correction
rather than the colour keeps what the network knows where no hint says otherwise. The
correction fades very slowly (1e-5 per pixel step), which changes little inside a region but
stops it at strong edges: a region that no hint reaches through weak edges keeps the
network's colour instead of taking the correction of the one hint elsewhere.

Zhang et al. 2017 (Real-Time User-Guided Image Colorization) instead feed the hints into the
network and train it to follow them, over days of GPU time. Trained so here on a CPU, our hint
networks learnt it only weakly; this combination, which needs no training at all, scores far
higher with the same hints (README, Guided colorization).
"""

from __future__ import annotations

import torch

from .effnet_unet import EfficientNetUNet
from .levin import propagate_hints

PROPAGATION_SIDE = 144  # the corrections are smooth: solved at levin's working size, then upsampled
CORRECTION_FADE = 1e-5  # a correction fades by this per pixel step: stays within its region, crosses the rest


class PropagatedEfficientNetUNet(EfficientNetUNet):
    """``effnet-unet`` (same weights, same tensor names) that also takes a hint map."""

    accepts_hints = True

    def forward(self, l: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """L (N, 1, H, W) in Lab units and a hint map (N, 3, H, W) -> ab (N, 2, H, W)."""
        colour = super().forward(l)
        if hints is None:
            return colour
        mask = hints[:, 2:].to(colour)
        disagreement = torch.cat([(hints[:, :2].to(colour) - colour) * mask, mask], dim=1)
        return colour + propagate_hints(l, disagreement, PROPAGATION_SIDE, CORRECTION_FADE)
