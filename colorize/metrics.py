"""How good is a colorization? The metrics, and the one report every caller shares.

No single number answers the question, so we report several:

* MSE, PSNR and SSIM measure fidelity to the ground truth. They are the field's standard
  numbers, but they reward dull, grayish predictions: guessing no colour is rarely far off.
* CIEDE2000 and AuC measure colour error in Lab, where distances roughly match what people see.
* Colourfulness needs no reference at all: it tells whether a model dares to use colour.
* Green and blue recall say whether it uses the right colour where a viewer looks first:
  of the truly green pixels (grass, leaves), how many come out green, and likewise blue
  (sky, water). A sepia filter scores 0 on both, however good its PSNR.

Because "far from the truth" means little on its own, a ``Report`` puts every prediction next
to the gray baseline (the ground truth with its colour removed): a model is only useful where it
beats doing nothing.

Every image argument is an (H, W, 3) uint8 numpy array: sRGB values 0..255, channels last, in
R, G, B order. The two images of a pair must have the same shape. The metrics are exact on what
they are given; callers that want speed on big photos resize before calling. Lab always comes
from ``colorize.color``, the project's only colour conversion.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from statistics import fmean
from typing import Sequence

import cv2
import numpy as np
from skimage.color import deltaE_ciede2000

from colorize.color import gray_image, image_to_lab

DATA_RANGE = 255.0
"""The span of uint8 pixel values, which PSNR and SSIM are defined against."""

PSNR_CAP_DB = 100.0
"""Where ``mean_report`` caps each image's PSNR so that one identical pair (PSNR = inf) does
not make the mean infinite. 100 dB is an RMSE of 0.003 gray levels: invisible long before."""

AUC_MAX_THRESHOLD = 150
"""The largest ab error (Lab units) swept by AuC, as in Zhang et al. 2016."""

CLEAR_COLOUR = 10.0
"""How far (Lab units) a true a* or b* must lie below 0 for a pixel to be clearly green or blue."""
CLEAR_CHROMA = 15.0
"""...and the chroma it needs, so that a dark, nearly gray pixel does not count."""
RIGHT_SIDE = 3.0
"""How far below 0 a predicted a* (b*) must be to count as green (blue): beyond JPEG noise."""

_SSIM_WINDOW = 7  # scikit-image's default window side
_SSIM_C1 = (0.01 * DATA_RANGE) ** 2  # SSIM's stabilising constants, Wang et al. 2004
_SSIM_C2 = (0.03 * DATA_RANGE) ** 2


# --- Input checks -------------------------------------------------------------------------


def _check_image(image: np.ndarray, name: str) -> None:
    """Refuse anything that is not an (H, W, 3) uint8 array: a float image in [0, 1] would
    silently score as nearly black."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        found = image.dtype if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"{name} must be a uint8 numpy array with values 0..255, got {found}")
    if image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise ValueError(f"{name} must be a non-empty (H, W, 3) RGB array, got shape {image.shape}")


def _check_pair(prediction: np.ndarray, target: np.ndarray) -> None:
    _check_image(prediction, "prediction")
    _check_image(target, "target")
    if prediction.shape != target.shape:
        raise ValueError(
            f"prediction and target must have the same shape, got {prediction.shape} and "
            f"{target.shape}; resize one of them first"
        )


def _check_lab_pair(prediction_lab: np.ndarray, target_lab: np.ndarray) -> None:
    if prediction_lab.shape != target_lab.shape or prediction_lab.shape[-1:] != (3,):
        raise ValueError(
            "prediction_lab and target_lab must be (..., 3) Lab arrays of the same shape, got "
            f"{prediction_lab.shape} and {target_lab.shape}"
        )


# --- Fidelity: MSE, PSNR, SSIM ------------------------------------------------------------


def mse(prediction: np.ndarray, target: np.ndarray) -> float:
    """Mean squared error over all pixels and RGB channels, on the 0..255 scale.

    0 for identical images, at most 255² = 65025; lower is better.
    """
    _check_pair(prediction, target)
    difference = prediction.astype(np.float64) - target.astype(np.float64)
    return float(np.mean(difference * difference))


def psnr(prediction: np.ndarray, target: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB against a data range of 255; higher is better.

    0 dB when every value is off by 255, about 20-30 dB for typical colorizations, and
    ``math.inf`` for identical images (no noise at all).
    """
    return _psnr_from_mse(mse(prediction, target))


def _psnr_from_mse(error: float) -> float:
    if error == 0.0:
        return math.inf
    return 10.0 * math.log10(DATA_RANGE**2 / error)


def ssim(prediction: np.ndarray, target: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004), the mean over RGB channels; higher is better.

    At most 1 (identical images); near 0 for unrelated ones, negative for anti-correlated ones.
    scikit-image's computation with its defaults (uniform 7x7 window). An image smaller than 7
    px on a side gets the largest odd window that fits. One with a 1 or 2 px side is too thin
    for the smallest window (3 px), so it is treated as a single window covering the whole
    image: see ``_global_ssim``.
    """
    _check_pair(prediction, target)
    shortest_side = min(prediction.shape[:2])
    window = min(_SSIM_WINDOW, shortest_side if shortest_side % 2 else shortest_side - 1)
    if window < 3:
        return _global_ssim(prediction, target)
    return _windowed_ssim(prediction, target, window)


def _windowed_ssim(prediction: np.ndarray, target: np.ndarray, window: int) -> float:
    """scikit-image's ``structural_similarity`` (sample covariances, the border of half a window
    left out of the mean), with OpenCV's box filter for its windowed means: the same number to
    1e-12, in two thirds of the time, which the studio pays twice per photo it scores."""
    x, y = prediction.astype(np.float64), target.astype(np.float64)
    mean = functools.partial(cv2.blur, ksize=(window, window), borderType=cv2.BORDER_REFLECT)
    sample = window * window / (window * window - 1)
    mean_x, mean_y = mean(x), mean(y)
    variance_x = sample * (mean(x * x) - mean_x * mean_x)
    variance_y = sample * (mean(y * y) - mean_y * mean_y)
    covariance = sample * (mean(x * y) - mean_x * mean_y)
    similarity = ((2 * mean_x * mean_y + _SSIM_C1) * (2 * covariance + _SSIM_C2)
                  / ((mean_x**2 + mean_y**2 + _SSIM_C1) * (variance_x + variance_y + _SSIM_C2)))
    border = window // 2
    return float(similarity[border:-border, border:-border].mean())


def _global_ssim(prediction: np.ndarray, target: np.ndarray) -> float:
    """The SSIM formula with each channel's statistics taken over the whole image.

    Population (1/N) variances and covariance, because one pixel has no sample variance: a
    single pixel then scores on its brightness alone. Identical images still score exactly 1.
    """
    x = prediction.reshape(-1, 3).astype(np.float64)
    y = target.reshape(-1, 3).astype(np.float64)
    mean_x, mean_y = x.mean(axis=0), y.mean(axis=0)
    centred_x, centred_y = x - mean_x, y - mean_y
    variance_x = np.mean(centred_x * centred_x, axis=0)
    variance_y = np.mean(centred_y * centred_y, axis=0)
    covariance = np.mean(centred_x * centred_y, axis=0)
    luminance = (2 * mean_x * mean_y + _SSIM_C1) / (mean_x**2 + mean_y**2 + _SSIM_C1)
    contrast_structure = (2 * covariance + _SSIM_C2) / (variance_x + variance_y + _SSIM_C2)
    return float(np.mean(luminance * contrast_structure))


# --- Vividness: colourfulness -------------------------------------------------------------


def colourfulness(image: np.ndarray) -> float:
    """Hasler & Süsstrunk's (2003) colourfulness, computed on 0..255 values.

    With rg = R - G and yb = (R + G) / 2 - B over all pixels:
    sqrt(std(rg)² + std(yb)²) + 0.3 * sqrt(mean(rg)² + mean(yb)²), population std.
    Exactly 0 for a gray image (R = G = B), roughly 33 for "moderately" and 59 for "quite"
    colourful photos in the paper's scale. Higher is not better by itself: the aim is to be as
    colourful as the ground truth (see ``Report.colourfulness_gap``).
    """
    _check_image(image, "image")
    red, green, blue = np.moveaxis(image.astype(np.float64), -1, 0)
    rg = red - green
    yb = 0.5 * (red + green) - blue
    return math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean())


# --- Colour error in Lab: CIEDE2000, AuC --------------------------------------------------


def ciede2000(prediction: np.ndarray, target: np.ndarray) -> float:
    """Mean CIEDE2000 colour difference over pixels; 0 for identical images, lower is better.

    About 1 is a just-noticeable difference, above 10 clearly different colours.
    """
    _check_pair(prediction, target)
    return ciede2000_from_lab(image_to_lab(prediction), image_to_lab(target))


def ciede2000_from_lab(prediction_lab: np.ndarray, target_lab: np.ndarray) -> float:
    """``ciede2000`` for callers that already hold (..., 3) Lab arrays (L 0..100, a and b in
    Lab units), e.g. from ``colorize.color.image_to_lab``."""
    _check_lab_pair(prediction_lab, target_lab)
    return float(np.mean(deltaE_ciede2000(target_lab, prediction_lab, channel_axis=-1)))


def auc(
    prediction: np.ndarray, target: np.ndarray, max_threshold: int = AUC_MAX_THRESHOLD
) -> float:
    """Zhang et al.'s (2016) AuC: how often the predicted colour is close to the true one.

    For every integer threshold t = 0..max_threshold, the fraction of pixels whose ab error (the
    Euclidean distance between the two images' (a, b) in Lab units) is at most t; the mean of
    those fractions, i.e. the area under that cumulative curve normalised to 0..1. 1 for
    identical colours, higher is better. Lightness does not count: colorization keeps L.
    """
    _check_pair(prediction, target)
    return auc_from_lab(image_to_lab(prediction), image_to_lab(target), max_threshold)


def auc_from_lab(
    prediction_lab: np.ndarray, target_lab: np.ndarray, max_threshold: int = AUC_MAX_THRESHOLD
) -> float:
    """``auc`` for callers that already hold (..., 3) Lab arrays.

    Counted rather than swept: a pixel with ab error e is within exactly the thresholds
    ceil(e)..max_threshold, so averaging that count over pixels gives the same number as
    comparing every pixel with every threshold, in one pass instead of 151.
    """
    _check_lab_pair(prediction_lab, target_lab)
    if max_threshold < 0:
        raise ValueError(f"max_threshold must be at least 0, got {max_threshold}")
    ab_difference = prediction_lab[..., 1:].astype(np.float64) - target_lab[..., 1:]
    errors = np.hypot(ab_difference[..., 0], ab_difference[..., 1])
    thresholds_met = np.clip(max_threshold + 1 - np.ceil(errors), 0, None)
    return float(np.mean(thresholds_met) / (max_threshold + 1))


# --- Semantic colour: green and blue recall ----------------------------------------------


def colour_recall(prediction_lab: np.ndarray, target_lab: np.ndarray, channel: int) -> tuple[float, int]:
    """Of the target's clearly coloured pixels on the negative side of ``channel`` (1: a*,
    green; 2: b*, blue), the share the prediction puts on that side too, and their count.

    The share is NaN when the target has no such pixel. 1 for the ground truth itself, 0 for
    a gray or sepia prediction (a*, b* >= 0).
    """
    _check_lab_pair(prediction_lab, target_lab)
    chroma = np.hypot(target_lab[..., 1], target_lab[..., 2])
    clear = (target_lab[..., channel] < -CLEAR_COLOUR) & (chroma >= CLEAR_CHROMA)
    count = int(clear.sum())
    if count == 0:
        return math.nan, 0
    return float(np.mean(prediction_lab[..., channel][clear] < -RIGHT_SIDE)), count


# --- The shared report --------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    """Every metric for one image (or, from ``mean_report``, their means over images).

    psnr: dB, higher is better (inf for identical images). ssim: at most 1, higher is better.
    colourfulness: of the prediction alone, best when close to the ground truth's.
    ciede2000: mean ΔE00, lower is better. auc: 0..1, higher is better. mse: 0..65025, lower
    is better. green_recall, blue_recall: 0..1, higher is better (``colour_recall``), NaN for an
    image with no clearly green (blue) pixel; green_pixels, blue_pixels: how many it has, which
    is what a mean over images weights the recalls by.
    """

    psnr: float
    ssim: float
    colourfulness: float
    ciede2000: float
    auc: float
    mse: float
    green_recall: float = math.nan
    blue_recall: float = math.nan
    green_pixels: float = 0.0
    blue_pixels: float = 0.0


def score(prediction: np.ndarray, target: np.ndarray) -> Scores:
    """All metrics of a prediction against its ground truth, converting each image to Lab once."""
    _check_pair(prediction, target)
    return _score(prediction, target, image_to_lab(prediction), image_to_lab(target))


def _score(
    prediction: np.ndarray, target: np.ndarray, prediction_lab: np.ndarray, target_lab: np.ndarray
) -> Scores:
    error = mse(prediction, target)
    green_recall, green_pixels = colour_recall(prediction_lab, target_lab, 1)
    blue_recall, blue_pixels = colour_recall(prediction_lab, target_lab, 2)
    return Scores(
        psnr=_psnr_from_mse(error),
        ssim=ssim(prediction, target),
        colourfulness=colourfulness(prediction),
        ciede2000=ciede2000_from_lab(prediction_lab, target_lab),
        auc=auc_from_lab(prediction_lab, target_lab),
        mse=error,
        green_recall=green_recall,
        blue_recall=blue_recall,
        green_pixels=float(green_pixels),
        blue_pixels=float(blue_pixels),
    )


@dataclass(frozen=True)
class Report:
    """A prediction's scores next to the gray baseline's, on the same ground truth.

    model: the prediction against the ground truth.
    gray: the gray baseline (the ground truth's L with a = b = 0, ``colorize.color.gray_image``)
        against the ground truth: what a model that adds no colour would score.
    target_colourfulness: the ground truth's colourfulness.
    """

    model: Scores
    gray: Scores
    target_colourfulness: float

    @property
    def colourfulness_gap(self) -> float:
        """How much more colourful the prediction is than the ground truth, as a fraction.

        (model colourfulness - target colourfulness) / target colourfulness: 0 is just right,
        -0.3 is 30 % duller, -1 is no colour at all, +0.5 is 50 % more vivid. Colorization
        models usually come out negative (washed-out, sepia). A colourless ground truth has
        no scale to compare against: the gap is then 0 if the prediction is colourless too,
        and inf otherwise.
        """
        if self.target_colourfulness == 0.0:
            return 0.0 if self.model.colourfulness == 0.0 else math.inf
        return self.model.colourfulness / self.target_colourfulness - 1.0

    def to_dict(self) -> dict:
        """Plain nested dicts and floats, ready for ``json.dumps``.

        A PSNR or gap can be ``inf`` (see their docs); ``json.dumps`` writes it as Infinity.
        """
        return {
            "model": dataclasses.asdict(self.model),
            "gray": dataclasses.asdict(self.gray),
            "target_colourfulness": self.target_colourfulness,
            "colourfulness_gap": self.colourfulness_gap,
        }


def report(prediction: np.ndarray, target: np.ndarray) -> Report:
    """Score a prediction and the gray baseline against the ground truth ``target``."""
    _check_pair(prediction, target)
    target_lab = image_to_lab(target)
    gray = gray_image(target)
    return Report(
        model=_score(prediction, target, image_to_lab(prediction), target_lab),
        gray=_score(gray, target, image_to_lab(gray), target_lab),
        target_colourfulness=colourfulness(target),
    )


def mean_report(reports: Sequence[Report]) -> Report:
    """The mean of every field over images: the number a validation set or benchmark quotes.

    Each image's PSNR is capped at ``PSNR_CAP_DB`` first, so one identical pair keeps the mean
    finite. The mean report's ``colourfulness_gap`` is the gap between the mean
    colourfulnesses, not the mean of per-image gaps: a nearly gray ground truth cannot blow it up.
    """
    if not reports:
        raise ValueError("mean_report needs at least one report")
    return Report(
        model=_mean_scores([each.model for each in reports]),
        gray=_mean_scores([each.gray for each in reports]),
        target_colourfulness=fmean(each.target_colourfulness for each in reports),
    )


_RECALL_WEIGHTS = {"green_recall": "green_pixels", "blue_recall": "blue_pixels"}


def _mean_scores(scores: Sequence[Scores]) -> Scores:
    """Field-wise means; a recall is pooled over pixels (weighted by each image's count), so
    a photo with three green pixels does not weigh as much as a meadow."""
    capped = [dataclasses.replace(each, psnr=min(each.psnr, PSNR_CAP_DB)) for each in scores]
    names = [field.name for field in dataclasses.fields(Scores) if field.name not in _RECALL_WEIGHTS]
    means = {name: fmean(getattr(each, name) for each in capped) for name in names}
    for recall, pixels in _RECALL_WEIGHTS.items():
        total = sum(getattr(each, pixels) for each in capped)
        hits = sum(getattr(each, recall) * getattr(each, pixels) for each in capped if getattr(each, pixels))
        means[recall] = hits / total if total else math.nan
    return Scores(**means)
