"""U-Nets that also read colour hints (guided colorization).

After Zhang, Zhu, Isola, Geng, Lin, Yu & Efros 2017, "Real-Time User-Guided Image
Colorization with Learned Deep Priors": the network's input is L plus a sparse map of ab
hints and the mask saying where hints are, and it learns from simulated hints to spread a
few given colours over whole objects while its priors fill in the rest. The body is one of
the automatic U-Nets with four input channels instead of one; the hint channels also reach
the last decoder block through the full-resolution skip, so a hint can set the colour right
where it was given. With an all-zero hint map it is an automatic colorizer, and started
from the automatic U-Net's weights (hint filters zero, ``train.trainer.widen_inputs``) it is
exactly that U-Net: it learns to follow hints without first forgetting how to colour.
"""

from __future__ import annotations

import torch

from ..color import denormalize_ab, normalize_ab, normalize_l
from ..hints import HINT_CHANNELS, empty_hints
from .unet import ResNetUNet


class HintInput:
    """What turns a U-Net into a guided one: L and the hint map side by side as its input."""

    accepts_hints = True

    def forward(self, l: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """L (N, 1, H, W) in Lab units and a hint map (N, 3, H, W) -> ab (N, 2, H, W)."""
        if hints is None:
            hints = empty_hints(l.shape[0], *l.shape[-2:]).to(l)
        x = torch.cat([normalize_l(l), normalize_ab(hints[:, :2]), hints[:, 2:]], dim=1)
        return denormalize_ab(torch.tanh(self.predict(x)))


class HintUNet(HintInput, ResNetUNet):
    """The ResNet-18 U-Net (``unet``) with hints."""

    def __init__(self, decoder_widths: tuple[int, ...] = (256, 128, 64, 64, 32)) -> None:
        super().__init__(in_channels=1 + HINT_CHANNELS, decoder_widths=decoder_widths)
