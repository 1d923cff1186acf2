"""Generator architectures, one family per file; every one maps L (N,1,H,W) to ab (N,2,H,W).

``ARCHITECTURES`` is the explicit registry the model table refers to by name.
"""

from __future__ import annotations

from torch import nn

from .autoencoder import ColorAutoEncoder
from .cnn import ColorizationNet
from .common import ColorizationModel, pad_edges
from .effnet_unet import EfficientNetUNet
from .levin import LevinPropagation
from .propagated import PropagatedEfficientNetUNet
from .shallow import ShallowColorizationNet
from .unet import ResNetUNet

ARCHITECTURES: dict[str, type[ColorizationModel]] = {
    "cnn": ColorizationNet,
    "shallow": ShallowColorizationNet,
    "autoencoder": ColorAutoEncoder,
    "unet": ResNetUNet,
    "effnet-unet": EfficientNetUNet,
    "effnet-unet-levin": PropagatedEfficientNetUNet,
    "levin": LevinPropagation,
}


def build_architecture(arch: str, padding_mode: str = "zeros", **kwargs) -> ColorizationModel:
    """Instantiate a registered architecture with its keyword arguments.

    ``padding_mode`` applies to every architecture alike ("zeros", as the published designs,
    or "replicate", which leaves a network no sense of position to paint blobs with, see
    ``common.pad_edges``); a weights folder's ``config.json`` says which one it was trained with.
    """
    if arch not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
    return pad_edges(ARCHITECTURES[arch](**kwargs), padding_mode)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
