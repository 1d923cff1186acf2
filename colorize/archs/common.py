"""Building blocks shared by the generator families."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..color import denormalize_ab, normalize_l


def conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """3x3 convolution + BatchNorm + ReLU, the workhorse of every decoder here."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def pad_edges(model: nn.Module, mode: str) -> nn.Module:
    """Make every padded convolution of ``model`` pad with ``mode`` ("zeros" or "replicate").

    Zero padding tells a network where the picture's border is, and on a featureless area that
    is all it has to go on: it paints by position (a sky at the top, a blob in a corner).
    Repeating the edge pixel carries no such cue, so a uniform gray comes out uniform; unlike
    "reflect" it also works on the 1x1 maps a small photo reaches at the bottom of an encoder.
    """
    for layer in model.modules():
        if isinstance(layer, nn.Conv2d) and any(layer.padding):
            layer.padding_mode = mode
    return model


def pad_to_multiple(image: torch.Tensor, multiple: int) -> torch.Tensor:
    """Replicate-pad the bottom and right edges so H and W divide by ``multiple``.

    Encoders that halve the resolution k times need sides divisible by 2**k to give the
    decoder back exactly the input size; replicate padding (not reflect) also works on 1x1.
    """
    height, width = image.shape[-2:]
    pad_bottom = -height % multiple
    pad_right = -width % multiple
    if pad_bottom == 0 and pad_right == 0:
        return image
    return F.pad(image, (0, pad_right, 0, pad_bottom), mode="replicate")


class ColorizationModel(nn.Module):
    """Base class holding the colour contract every architecture obeys.

    ``forward`` takes L in Lab units, (N, 1, H, W) in 0..100, and returns ab in Lab units,
    (N, 2, H, W). Subclasses implement ``predict`` on normalised L in [-1, 1] and return
    unbounded logits; the tanh and the Lab scaling happen here, once, for all of them.
    Models that also read colour hints (``accepts_hints``) take a hint map as a second input;
    engines with nothing to learn (``needs_weights = False``) are built without a weights folder.
    """

    accepts_hints = False
    needs_weights = True

    def forward(self, l: torch.Tensor) -> torch.Tensor:
        logits = self.predict(normalize_l(l))
        return denormalize_ab(torch.tanh(logits))

    def predict(self, l_normalized: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
