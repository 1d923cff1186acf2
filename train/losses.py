"""Losses of the seed recipes, and colour rebalancing against the sepia bias.

A network trained to minimise L1/L2 on ab picks the mean or median of the plausible colours,
and for most objects that is a dull brownish grey. Zhang et al. 2016 ("Colorful Image
Colorization", Sec. 2.2) re-weight each pixel's loss by the rarity of its true colour in the
training set; ``ColourRebalancer`` applies that to our regression losses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter

from colorize.archs.ab_bins import BIN_COUNT, BIN_POOL, BINS_PER_AXIS, bin_index
from colorize.color import AB_SCALE, image_to_lab, normalize_ab
from colorize.hints import sample_hints


# One Lab unit of ab error, squared and normalised: keeps log(MSE) finite on a perfect crop.
PSNR_FLOOR = (1.0 / AB_SCALE) ** 2


def pixel_loss(ab_pred: torch.Tensor, ab_true: torch.Tensor, kind: str, weights: torch.Tensor | None = None) -> torch.Tensor:
    """L1, squared error or "psnr" on normalised ab; ``weights`` (N, 1, H, W) re-weights pixels.

    "psnr" is the mean over crops of log(MSE): what the validation's mean PSNR scores, up to
    sign and scale. Where plain MSE lets the worst crops set the direction, it weighs every
    crop's relative improvement alike, as a mean of per-photo PSNRs does.
    """
    error = normalize_ab(ab_pred.float()) - normalize_ab(ab_true.float())
    per_pixel = error.abs() if kind == "l1" else error.square()
    if weights is not None:
        per_pixel = per_pixel * weights
    if kind == "psnr":
        return torch.log(per_pixel.flatten(1).mean(dim=1) + PSNR_FLOOR).mean()
    return per_pixel.mean()


def chroma_deficit(ab_pred: torch.Tensor, ab_true: torch.Tensor) -> torch.Tensor:
    """How much paler than the truth each crop comes out, in Lab chroma units, averaged over crops.

    A colourfulness term against the sepia bias: a regression loss is cheapest with every
    uncertain colour pulled towards gray, so the crop as a whole ends up paler than the photo.
    This asks only that each crop's mean chroma reach the truth's, and leaves the network to
    choose where to add it (where it is surest of the hue), unlike a uniform colour gain.
    Zero once a crop is as colourful as the truth: it never rewards overshooting.
    """
    def mean_chroma(ab: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(ab.float().square().sum(dim=1) + 1e-6).flatten(1).mean(dim=1)

    return torch.relu(mean_chroma(ab_true) - mean_chroma(ab_pred)).mean()


def simulated_hints(ab_true: torch.Tensor) -> torch.Tensor:
    """Hint maps for a batch of true ab (Zhang et al. 2017's simulated user, ``sample_hints``):
    1-30 patches per crop, and for half of the crops 5-15, around the 10 that the README's
    figures measure. Drawn from torch's global generator, so a resumed run repeats them."""
    many = torch.randint(1, 31, (len(ab_true),))
    around_ten = torch.randint(5, 16, (len(ab_true),))
    counts = torch.where(torch.rand(len(ab_true)) < 0.5, many, around_ten)
    return sample_hints(ab_true.float(), counts.tolist())


def bin_loss(logits: torch.Tensor, ab_true: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy of the predicted ab-bin distribution (N, BIN_COUNT, H/4, W/4) against
    the true colours' histogram in each 4x4 block (Zhang et al. 2016, Eq. 2); ``weights``
    (N, 1, H, W) re-weight each pixel's share, as their class rebalancing does."""
    batch, _, height, width = logits.shape
    index = bin_index(ab_true.float())[:, 0]                                 # (N, H, W)
    rows = torch.arange(index.shape[1], device=index.device) // BIN_POOL
    cols = torch.arange(index.shape[2], device=index.device) // BIN_POOL
    images = torch.arange(batch, device=index.device)
    flat = ((images[:, None, None] * BIN_COUNT + index) * height + rows[None, :, None]) * width + cols[None, None, :]
    shares = torch.full(index.shape, 1.0 / BIN_POOL**2, device=logits.device)
    if weights is not None:
        shares = shares * weights[:, 0].float()
    target = torch.zeros(batch * BIN_COUNT * height * width, device=logits.device)
    target.index_add_(0, flat.reshape(-1), shares.reshape(-1))
    target = target.view(batch, BIN_COUNT, height, width)
    return -(target * torch.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()


def gan_loss(logits: torch.Tensor, real: bool, real_label: float = 1.0) -> torch.Tensor:
    """pix2pix's BCE-with-logits objective: push a patch's logit towards real or fake.

    ``real_label`` below 1 is one-sided label smoothing (Salimans et al. 2016) for the
    critic's real targets: a critic that may never be certain keeps giving the generator
    useful gradients instead of saturating.
    """
    target = torch.full_like(logits, real_label) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits.float(), target)


class ColourRebalancer:
    """Per-pixel loss weights from the rarity of the true colour (Zhang et al. 2016).

    ``w ∝ (s p̃ + (1 - s) / Q)⁻¹`` with p̃ the Gaussian-smoothed ab histogram of the training
    photos, Q the number of colours that occur and ``s`` the strength: 0 gives uniform weights
    (no rebalancing), 1 pure inverse frequency, 0.5 is Zhang et al.'s choice (their λ = 1 - s).
    Normalised so that E_p̃[w] = 1, which keeps the loss scale of the plain recipe.
    """

    def __init__(self, weights: torch.Tensor) -> None:
        self.weights = weights  # (BINS_PER_AXIS ** 2,) float

    @classmethod
    def from_photos(cls, photos: Sequence[np.ndarray], strength: float, sigma: float = 0.5, pixels_per_photo: int = 4096, seed: int = 0) -> "ColourRebalancer":
        rng = np.random.default_rng(seed)
        counts = np.zeros(BIN_COUNT)
        for photo in photos:
            lab = image_to_lab(photo).reshape(-1, 3)
            sample = lab[rng.integers(0, len(lab), pixels_per_photo)]
            np.add.at(counts, bin_index(torch.from_numpy(sample[:, 1:].T.copy())[None, :, :, None]).reshape(-1).numpy(), 1)
        probability = gaussian_filter(counts.reshape(BINS_PER_AXIS, BINS_PER_AXIS) / counts.sum(), sigma)
        occurring = probability > 0
        mixed = strength * probability + (1 - strength) / occurring.sum()
        weights = np.where(occurring, 1 / mixed, 0.0)
        weights /= (probability * weights).sum()
        return cls(torch.tensor(weights.reshape(-1), dtype=torch.float32))

    def __call__(self, ab_true: torch.Tensor) -> torch.Tensor:
        """(N, 2, H, W) true ab -> (N, 1, H, W) weights."""
        return self.weights.to(ab_true.device)[bin_index(ab_true.float())]
