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
fifth of the ResNet-18 U-Net's operations. The encoder reads L scaled to [-1, 1], within
0.03 of TF-Lite's x/127.5 - 1 for the same gray pixel (sRGB's gamma and CIE L* both follow
perceived lightness), so it sees the input range it was trained on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..color import normalize_l
from .ab_bins import BIN_COUNT, BIN_POOL, annealed_mean
from .efficientnet import IMAGENET_SOURCE, EfficientNetLiteEncoder, load_imagenet_weights
from .unet import EncoderUNet


class EfficientNetUNet(EncoderUNet):
    pretrained_source = IMAGENET_SOURCE  # what ``load_pretrained_encoder`` starts from, for model cards

    def __init__(self, in_channels: int = 1, decoder_widths: tuple[int, ...] = (128, 64, 48, 32, 16),
                 bin_temperature: float = 0.0, colour_gain: float = 1.0) -> None:
        """``bin_temperature`` > 0 swaps the ab regression head for Zhang et al.'s classification
        over ab bins, decoded by the annealed mean at that temperature (``ab_bins.py``).

        ``colour_gain`` scales the predicted ab. A network trained on L1 or against a critic
        predicts a compromise between the colours a thing may have, paler than any of them;
        amplifying the compromise plays the part of the annealed mean's temperature (Zhang et
        al. 2016) for a regression head: livelier colour for a little PSNR. ``unet-gan``
        ships with one, chosen on training photos (README, unet-gan)."""
        super().__init__(EfficientNetLiteEncoder(in_channels), EfficientNetLiteEncoder.channels, in_channels, decoder_widths)
        self.bin_temperature = bin_temperature
        self.colour_gain = colour_gain
        if bin_temperature:
            self.head = nn.Conv2d(decoder_widths[-1], BIN_COUNT, 1)

    def forward(self, l: torch.Tensor, output: str = "ab") -> torch.Tensor:
        """ab in Lab units; ``output="bins"`` gives a bin model's logits (for training)."""
        if not self.bin_temperature:
            return self.colour_gain * super().forward(l)
        logits = self.head(F.avg_pool2d(self.decode(normalize_l(l)), BIN_POOL))
        if output == "bins":
            return logits
        return F.interpolate(annealed_mean(logits, self.bin_temperature), size=l.shape[-2:], mode="bilinear", align_corners=False)

    def load_pretrained_encoder(self) -> None:
        """Start the encoder from ImageNet (training only; needs train/requirements.txt)."""
        load_imagenet_weights(self.encoder)
