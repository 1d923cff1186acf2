"""ResNet-18 (He et al. 2016) in plain torch, with torchvision's parameter names.

torchvision does not import with the CPU build of torch this project pins, so the encoder
is written out here. Keeping torchvision's names (``conv1``, ``bn1``, ``layer1.0.conv1`` ...)
means ImageNet weights load with ``load_imagenet_weights`` wherever a machine has internet.
"""

from __future__ import annotations

import torch
from torch import nn

IMAGENET_RESNET18_URL = "https://download.pytorch.org/models/resnet18-f37072fd.pth"


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


def _stage(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(BasicBlock(in_channels, out_channels, stride), BasicBlock(out_channels, out_channels))


class ResNet18Encoder(nn.Module):
    """ResNet-18 without its classifier, returning the feature map of every stage.

    Returns five maps at 1/2, 1/4, 1/8, 1/16 and 1/32 of the input size with 64, 64, 128,
    256 and 512 channels: the skip connections a U-Net decoder climbs back up.
    """

    channels = (64, 64, 128, 256, 512)

    def __init__(self, in_channels: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = _stage(64, 64, 1)
        self.layer2 = _stage(64, 128, 2)
        self.layer3 = _stage(128, 256, 2)
        self.layer4 = _stage(256, 512, 2)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        stem = self.relu(self.bn1(self.conv1(x)))
        f1 = self.layer1(self.maxpool(stem))
        f2 = self.layer2(f1)
        f3 = self.layer3(f2)
        f4 = self.layer4(f3)
        return [stem, f1, f2, f3, f4]


def adapt_imagenet_state_dict(state_dict: dict[str, torch.Tensor], in_channels: int) -> dict[str, torch.Tensor]:
    """Turn torchvision's ResNet-18 weights into this encoder's: drop the classifier and
    fold the RGB filters of ``conv1`` into ``in_channels`` inputs by summing them (a gray
    image is R = G = B, so the sum gives the same response the RGB network had)."""
    adapted = {key: value for key, value in state_dict.items() if not key.startswith("fc.")}
    rgb_filters = adapted["conv1.weight"]
    gray_filters = rgb_filters.sum(dim=1, keepdim=True)
    adapted["conv1.weight"] = gray_filters.repeat(1, in_channels, 1, 1) / in_channels
    return adapted


def load_imagenet_weights(encoder: ResNet18Encoder, url: str = IMAGENET_RESNET18_URL, model_dir: str | None = None) -> None:
    """Initialise the encoder from torchvision's ImageNet ResNet-18 (needs the internet or
    a file already in the torch hub cache; ``url`` may be a ``file://`` URL)."""
    state_dict = torch.hub.load_state_dict_from_url(url, model_dir=model_dir, map_location="cpu", weights_only=True)
    encoder.load_state_dict(adapt_imagenet_state_dict(state_dict, encoder.conv1.in_channels), strict=True)
