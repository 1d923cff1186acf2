"""U-Net on an ImageNet-pretrained EfficientNet-Lite0 encoder: the project's default colorizer.

Why a pretrained encoder: to paint grass green and skies blue a network has to recognise
grass and sky, and 6,000 photos with an hour of CPU do not teach that to an encoder trained
from scratch (every such model here turned out a sepia filter). The published colorizers
that get it right all start from ImageNet features: Zhang et al. 2016/2017 (VGG),
DeOldify (ResNet), DDColor (ConvNeXt), and the seed projects' ResNet-18 U-Net recipe
(fastai's DynamicUnet, Isola et al. 2017's U-Net generator). This one follows that recipe
with the lightest ImageNet network we can get here, EfficientNet-Lite0 (Tan & Le 2019,
``efficientnet.py``): its five feature maps feed a slim decoder that upsamples 2x five
times, each time concatenating the encoder map of the same size (the L channel itself at
full size) and refining with two 3x3 conv-BN-ReLU layers. About 3.8 M parameters and a
fifth of the ResNet-18 U-Net's operations.
"""

from __future__ import annotations

import torch

from .common import ColorizationModel
from .efficientnet import IMAGENET_SOURCE, EfficientNetLiteEncoder, load_imagenet_weights
from .unet import UpBlock


class EfficientNetUNet(ColorizationModel):
    pretrained_source = IMAGENET_SOURCE  # what ``load_pretrained_encoder`` starts from, for model cards

    def __init__(self, in_channels: int = 1, decoder_widths: tuple[int, ...] = (128, 64, 48, 32, 16)) -> None:
        super().__init__()
        self.encoder = EfficientNetLiteEncoder(in_channels)
        f0, f1, f2, f3, f4 = EfficientNetLiteEncoder.channels
        d4, d3, d2, d1, d0 = decoder_widths
        self.up4 = UpBlock(f4, f3, d4)            # 1/32 -> 1/16
        self.up3 = UpBlock(d4, f2, d3)            # 1/16 -> 1/8
        self.up2 = UpBlock(d3, f1, d2)            # 1/8  -> 1/4
        self.up1 = UpBlock(d2, f0, d1)            # 1/4  -> 1/2
        self.up0 = UpBlock(d1, in_channels, d0)   # 1/2  -> 1/1, skip = the input itself
        self.head = torch.nn.Conv2d(d0, 2, 1)

    def load_pretrained_encoder(self) -> None:
        """Start the encoder from ImageNet (training only; needs train/requirements.txt)."""
        load_imagenet_weights(self.encoder)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        # L scaled to [-1, 1] is within 0.03 of TF-Lite's x/127.5 - 1 for the same gray pixel:
        # sRGB's gamma and CIE L* are both close to perceived lightness.
        f0, f1, f2, f3, f4 = self.encoder(x)
        y = self.up4(f4, f3)
        y = self.up3(y, f2)
        y = self.up2(y, f1)
        y = self.up1(y, f0)
        y = self.up0(y, x)
        return self.head(y)
