"""The default network's colours, corrected by the user's hints, spread by what the network
sees and by Levin propagation.

Two engines in one. The network (``effnet-unet``) knows what things are, grass, sky, skin,
but cannot know that this shirt was red; Levin, Lischinski & Weiss 2004 (``levin.py``)
spread a given colour faithfully over its region but know nothing about the rest of the
photo (gray). Here the network colours the photo first; where a hint disagrees with it, the
difference (hint minus prediction) is spread by Levin's edge-aware propagation and added. At
a hint the result is the hint's colour; between hints the corrections blend along lightness
edges, so a hint recolours its object and a photo-wide cast that several hints agree on is
corrected everywhere; with no hints it is exactly ``effnet-unet``. Spreading the correction
rather than the colour keeps what the network knows where no hint says otherwise. The
correction fades very slowly (1e-5 per pixel step), which changes little inside a region but
stops it at strong edges: a region that no hint reaches through weak edges keeps the
network's colour instead of taking the correction of the one hint elsewhere. Levin's edges
are lightness edges, and a red shirt on green grass can have none; so the network's own
colour joins lightness in the affinities (``levin.COLOUR_GUIDE_WEIGHT``), and a colour edge
the network sees stops the spread too (+0.07 dB at 10 hints on the first 50 val photos).

Before that, each hint's disagreement also travels to the pixels the network *sees* as the
same kind of thing, wherever they are: the decoder's features at 1/8, 1/4 and 1/2 size are
compared with those under the hint (cosine similarity), and every pixel takes the similarity-weighted mean
of the hints' corrections, against a small weight for "no correction" (a kernel regression,
Nadaraya-Watson). A hint on one sleeve recolours the other sleeve across the body; one on a
patch of sky, the sky behind the branches. Lightness edges do not stop this step (Levin does
that), the features do: pixels unlike every hint keep the network's colour. Measured on the
first 50 val photos, it adds +0.05, +0.44, +0.57 and +0.43 dB at 1, 2, 10 and 50 hints.
Which features say "same colour" is learnt (``Likeness``): a linear map of the features
before the comparison, the sharpness of the comparison and the weight of "no correction",
trained on simulated hints with everything else frozen (``python -m train --recipe
likeness``); untrained it is the identity, the plain comparison.

Once there are several separate hints, plain Levin (the hints' colours alone, spread)
becomes a good guess of its own whose errors are not the network's, and the average of two
such guesses beats both: from five hints on, 30 % of the result is Levin's (measured on the
first 50 val photos, with the feature step: +0.07 dB at 10 hints over 40 %, -0.03 at 50).
With one or two hints Levin would flood their colour over the whole photo, so it gets no say
there, and a ramp between. Its affinities take the colour after the likeness step as their
colour guide, not the network's: that colour already carries the hints, so plain Levin's
colours stop where a hint's object ends (+0.03 dB at 10 hints on 200 training photos; for the
correction's own solve the network's colour remains the better guide).

Zhang et al. 2017 (Real-Time User-Guided Image Colorization) instead feed the hints into the
network and train it to follow them, over days of GPU time. Trained so here on a CPU, our hint
networks learnt it only weakly; this combination, which trains nothing but its likeness
(20 K numbers, half an hour on a CPU), scores far higher with the same hints (README, Guided
colorization).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import nn

from ..color import denormalize_ab, normalize_l
from .effnet_unet import EfficientNetUNet
from .levin import propagate_hints

PROPAGATION_SIDE = 144  # the corrections are smooth: solved at levin's working size, then upsampled
CORRECTION_FADE = 1e-5  # a correction fades by this per pixel step: stays within its region, crosses the rest
LEVIN_SHARE = 0.3       # plain Levin's share of the result once hints are many ...
FEW_HINTS, MANY_HINTS = 2, 5  # ... none up to FEW separate hints, all of it from MANY on, a ramp between
SIMILARITY_STAGES = (1, 2, 3)  # decoder stages (1/8, 1/4, 1/2 size) whose features decide which pixels look alike
SIMILARITY_WIDTH = 0.07  # untrained, a pixel's weight for a hint is exp((cosine similarity - 1) / this) ...
NO_CORRECTION_WEIGHT = 0.1  # ... against this weight for keeping the network's colour


def hinted_areas(mask: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Label map (H, W) of the separate hinted areas of one mask (a clicked point, a stroke)."""
    labels, count = ndimage.label(mask.cpu().numpy() > 0.5)
    return torch.from_numpy(labels).long().to(mask.device), count


def levin_share(hints: torch.Tensor) -> torch.Tensor:
    """Plain Levin's weight for each hint map of a batch, (N, 1, 1, 1), from its number of
    separate hints."""
    counts = [hinted_areas(mask)[1] for mask in hints[:, 2]]
    ramp = [min(1.0, max(0.0, (count - FEW_HINTS) / (MANY_HINTS - FEW_HINTS))) for count in counts]
    return LEVIN_SHARE * torch.tensor(ramp).view(-1, 1, 1, 1)


def similarity_features(maps: list[torch.Tensor]) -> torch.Tensor:
    """The ``SIMILARITY_STAGES`` decoder maps, each scaled to unit length per pixel, at the
    size of the middle one: coarse stages say what a pixel is, finer ones where its edges are."""
    size = maps[SIMILARITY_STAGES[1]].shape[-2:]
    return torch.cat([F.normalize(F.interpolate(maps[stage], size=size, mode="bilinear", align_corners=False), dim=1)
                      for stage in SIMILARITY_STAGES], dim=1)


class Likeness(nn.Module):
    """How alike two pixels look, for sharing a hint: the cosine similarity of their features
    after a learnt linear map (metric learning: the map learns which feature directions mean
    "same colour" and which only "same texture"), sharpened by a learnt width, against a
    learnt weight for keeping the network's colour. Starts as the identity with the untrained
    width and weight, which already works (the comparison of the features as they are)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.mix = nn.Conv2d(channels, channels, 1, bias=False)
        with torch.no_grad():
            self.mix.weight.copy_(torch.eye(channels)[:, :, None, None])
        self.log_width = nn.Parameter(torch.tensor(math.log(SIMILARITY_WIDTH)))
        self.log_keep_weight = nn.Parameter(torch.tensor(math.log(NO_CORRECTION_WEIGHT)))

    def hint_weights(self, keys: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
        """(areas, HW) weight of each hinted area's correction at each pixel, from unit-length
        mapped features of the areas (C, areas) and of the pixels (C, HW)."""
        return torch.exp((keys.T @ pixels - 1) / self.log_width.exp())


def feature_corrections(features: torch.Tensor, colour: torch.Tensor, hints: torch.Tensor, likeness: Likeness) -> torch.Tensor:
    """(N, 2, H, W) ab to add to ``colour``: each hinted area's mean disagreement, given to
    every pixel in proportion to how alike ``likeness`` finds them from their ``features``
    (N, C, h, w, any size)."""
    features = F.normalize(F.interpolate(likeness.mix(features), size=colour.shape[-2:], mode="bilinear", align_corners=False), dim=1)
    corrections = torch.zeros_like(colour)
    for image, (pixels, wanted, have) in enumerate(zip(features.flatten(2), hints.flatten(2), colour.flatten(2))):
        labels, count = hinted_areas(hints[image, 2])
        if count == 0:
            continue
        areas = F.one_hot(labels.flatten(), count + 1)[:, 1:].to(pixels)  # (HW, areas)
        areas = areas / areas.sum(dim=0)
        keys = F.normalize(pixels @ areas, dim=0)                          # (C, areas)
        disagreements = (wanted[:2] - have) @ areas                        # (2, areas)
        weights = likeness.hint_weights(keys, pixels)                      # (areas, HW)
        total = likeness.log_keep_weight.exp() + weights.sum(dim=0)
        corrections[image] = ((disagreements @ weights) / total).view_as(colour[image])
    return corrections


class PropagatedEfficientNetUNet(EfficientNetUNet):
    """``effnet-unet`` (same weights, same tensor names) that also takes a hint map."""

    accepts_hints = True
    added_modules = ("likeness",)  # what this engine adds to effnet-unet's weights (trained on top, or untrained)

    def __init__(self, in_channels: int = 1, decoder_widths: tuple[int, ...] = (128, 64, 48, 32, 16), **kwargs) -> None:
        super().__init__(in_channels, decoder_widths, **kwargs)
        self.likeness = Likeness(sum(decoder_widths[stage] for stage in SIMILARITY_STAGES))

    def follow_likeness(self, l: torch.Tensor, hints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The network's colour, and that colour after each hint's disagreement has reached
        the pixels that look alike (the step ``--recipe likeness`` trains), both (N, 2, H, W)."""
        maps = self.decoder_maps(normalize_l(l))
        colour = self.colour_gain * denormalize_ab(torch.tanh(self.head(maps[-1])))
        return colour, colour + feature_corrections(similarity_features(maps), colour, hints.to(colour), self.likeness)

    def forward(self, l: torch.Tensor, hints: torch.Tensor | None = None, output: str = "ab") -> torch.Tensor:
        """L (N, 1, H, W) in Lab units and a hint map (N, 3, H, W) -> ab (N, 2, H, W);
        ``output="likeness"`` stops after the likeness step, before Levin (for fast training;
        the likeness also trains through Levin's solve, slower)."""
        if hints is None:
            return super().forward(l)
        hints = hints.to(l)
        network_colour, colour = self.follow_likeness(l, hints)
        if output == "likeness":
            return colour
        mask = hints[:, 2:]
        disagreement = torch.cat([(hints[:, :2] - colour) * mask, mask], dim=1)
        corrected = colour + propagate_hints(l, disagreement, PROPAGATION_SIDE, CORRECTION_FADE, colour_guide=network_colour)
        share = levin_share(hints).to(colour)
        if not share.any():
            return corrected
        return (1 - share) * corrected + share * propagate_hints(l, hints, PROPAGATION_SIDE, colour_guide=colour)
