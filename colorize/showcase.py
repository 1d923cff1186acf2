"""What the studio shows, computed without any UI: previews, scores, channels, comparisons.

The Gradio app turns widget values into one call of this module and lays out what comes
back; the same calls work from a notebook or a script, and are tested without a browser.
Previews are downscaled for the screen and scores are computed at ``METRICS_SIDE`` (like
``python -m colorize.evaluate``), while the downloadable result keeps the photo's full size.
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .archs import ARCHITECTURES
from .color import gray_image, image_to_lab, is_grayscale, lab_to_image
from .hints import HintInput, Point
from .hub import has_weights, model_config
from .io import ImageSource, load_image, resize_short_side
from .metrics import Report, Scores, colourfulness, score
from .pipeline import merge_full_resolution, predict_colour
from .video import first_frame
from .zoo import DEFAULT_MODEL, MODELS, list_guided_models, list_models

PREVIEW_SIDE = 1024   # longest side of images sent to the browser
GUIDE_SIDE = 512      # longest side of the guided canvas and its live result (shown at most 420 px high)
METRICS_SIDE = 256    # short side at which scores are computed, as on the validation set

METRIC_GUIDE = """**How to read the scores.** Each one compares the colours with the real photo's. The *gray
baseline* is the same photo with no colour at all: that is what a model has to beat.

- **PSNR** (peak signal-to-noise ratio, in decibels): how close every pixel comes to the real
  photo. Higher is closer; one decibel more is a clear step.
- **SSIM** (structural similarity, 0 to 1): whether shapes, edges and textures match. It stays
  high even for the gray photo, because shapes live in the lightness, which colorizing never changes.
- **Colourfulness**: how vivid the colours are. Best when close to the real photo's (in brackets).
- **CIEDE2000** (ΔE00): the colour difference a person would see, per pixel. Below 2 is hard to
  notice, above 10 is obvious. Lower is better.
- **AuC** (area under the curve, 0 to 1): the share of pixels whose colour is close enough,
  averaged from a strict to a loose idea of "close". Higher is better."""

LAB_EXPLAINER = """## How a network colours a photo
Computers usually store colour as red, green and blue. Colorization models use **CIELAB**
instead, which splits a colour into **L**, how light it is, and two colour channels:
**a** (green ↔ red) and **b** (blue ↔ yellow). A black-and-white photo already *is* the L
channel, so the model only has to guess a and b. It guesses them on a small copy of the
photo (colour changes slowly across an image), and the guess is stretched back over your
full-resolution photo, whose own L is kept: every detail stays exactly as it was.

Press **Show channels** to see L, a and b of your photo and of the model's colours."""


@dataclass(frozen=True)
class Showcase:
    """One colorized photo as the studio presents it.

    ``gray``, ``colorized`` and ``truth`` are screen-sized previews ((h, w, 3) uint8 RGB);
    ``full_resolution`` is the result at the photo's own size (None until asked for);
    ``report`` scores the prediction and the gray baseline, or is None when the photo was
    black and white.
    """

    gray: np.ndarray
    colorized: np.ndarray
    truth: np.ndarray | None
    full_resolution: np.ndarray | None
    report: Report | None


@dataclass(frozen=True)
class Photo:
    """A photo opened once for the studio: its screen-sized preview and what never changes
    with the model (the gray preview, the gray baseline's scores), without the full-size
    pixels, which are read again from ``source`` only for a full-resolution result."""

    source: ImageSource
    size: tuple[int, int]
    preview: np.ndarray
    truth_small: np.ndarray | None

    @property
    def has_ground_truth(self) -> bool:
        return self.truth_small is not None

    @functools.cached_property
    def gray(self) -> np.ndarray:
        """The gray preview, made when first shown (an API call never needs it)."""
        return gray_image(self.preview)

    @functools.cached_property
    def gray_scores(self) -> Scores | None:
        """The gray baseline's scores, made once per photo (a caller may start them early,
        on another thread, while the network runs)."""
        return None if self.truth_small is None else score(gray_image(self.truth_small), self.truth_small)


@dataclass(frozen=True)
class Prediction:
    """A model's colour for a photo at the working size: every picture the studio shows
    (any colour strength, preview or full size) is drawn from it without the network."""

    photo: Photo
    ab: torch.Tensor


def preview(image: np.ndarray, side: int = PREVIEW_SIDE) -> np.ndarray:
    """Downscale so the longest side is at most ``side`` (never upscale)."""
    height, width = image.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


def _metrics_size(image: np.ndarray, side: int = METRICS_SIDE) -> np.ndarray:
    return resize_short_side(image, side) if min(image.shape[:2]) > side else image


def open_photo(image: ImageSource) -> Photo:
    """Read a photo once and keep only what the studio needs of it (a few MB even for a
    6000x4000 scan); refuses unreadable files with a plain-language ``ColorizeError``."""
    full = load_image(image)
    shown = preview(full)
    truth = None if is_grayscale(shown) else _metrics_size(shown)
    return Photo(
        source=image if isinstance(image, (str, Path)) else full,
        size=full.shape[:2],
        preview=shown,
        truth_small=truth,
    )


def _scaled_hints(hints: HintInput | None, photo: Photo) -> HintInput | None:
    """Points given in full-photo pixels, moved onto the preview the network reads."""
    if not isinstance(hints, (list, tuple)) or photo.preview.shape[:2] == photo.size:
        return hints
    scale = photo.preview.shape[0] / photo.size[0]
    return [Point(point.x * scale, point.y * scale, point.rgb) for point in hints]


def predict(photo: Photo, model: str = "default", working_size: int | None = None, hints: HintInput | None = None) -> Prediction:
    """Run the model once, on the preview: the network works at a few hundred pixels anyway."""
    return Prediction(photo, predict_colour(photo.preview, model, hints=_scaled_hints(hints, photo), working_size=working_size))


def prediction_report(prediction: Prediction, saturation: float = 1.0) -> Report | None:
    """Scores of a prediction against the photo's colours, or None for a black-and-white photo.

    The colour is merged straight onto the truth's own lightness at ``METRICS_SIDE``, as
    ``colorize.evaluate`` does on the validation set: the scores do not depend on which
    preview is on screen, and they need no picture at screen size (an API call can score on
    one core while the other draws the full-size result).
    """
    photo = prediction.photo
    if not photo.has_ground_truth:
        return None
    colorized = merge_full_resolution(photo.truth_small, prediction.ab, saturation)
    return Report(model=score(colorized, photo.truth_small), gray=photo.gray_scores,
                  target_colourfulness=colourfulness(photo.truth_small))


def render(prediction: Prediction, saturation: float = 1.0) -> Showcase:
    """The previews and scores at a colour strength, from the kept prediction (no network)."""
    photo = prediction.photo
    colorized = merge_full_resolution(photo.preview, prediction.ab, saturation)
    full = colorized if photo.preview.shape[:2] == photo.size else None
    return Showcase(gray=photo.gray, colorized=colorized, truth=photo.preview if photo.has_ground_truth else None,
                    full_resolution=full, report=prediction_report(prediction, saturation))


def colorized_at(prediction: Prediction, saturation: float = 1.0, side: int = PREVIEW_SIDE) -> np.ndarray:
    """Only the colorized picture, at most ``side`` px long: what a live stroke redraws."""
    return merge_full_resolution(preview(prediction.photo.preview, side), prediction.ab, saturation)


def guide_canvas(photo: Photo) -> np.ndarray:
    """The gray photo a person paints on, at ``GUIDE_SIDE``: the live result of each stroke is
    drawn at this size too, so a stroke costs the same on a phone snapshot and a 24 MP scan."""
    return gray_image(preview(photo.preview, GUIDE_SIDE))


def clip_canvas(src: str | Path) -> np.ndarray:
    """A clip's first frame, gray, upright and at ``GUIDE_SIDE``: where hints for the whole
    clip are painted (``colorize_video`` carries them through the shot)."""
    return gray_image(preview(first_frame(src), GUIDE_SIDE))


def full_resolution(prediction: Prediction, saturation: float = 1.0) -> np.ndarray:
    """The result at the photo's own size: the only step that reads the full-size photo again."""
    photo = prediction.photo
    source = photo.preview if photo.preview.shape[:2] == photo.size else load_image(photo.source)
    return merge_full_resolution(source, prediction.ab, saturation)


def showcase(
    image: ImageSource | Photo, model: str = "default", saturation: float = 1.0, working_size: int | None = None,
    hints: HintInput | None = None,
) -> Showcase:
    """Colorize a photo (guided by ``hints`` if given) and prepare everything the studio shows,
    the full-resolution result included."""
    prediction = predict(image if isinstance(image, Photo) else open_photo(image), model, working_size, hints)
    shown = render(prediction, saturation)
    if shown.full_resolution is not None:
        return shown
    return dataclasses.replace(shown, full_resolution=full_resolution(prediction, saturation))


def painted_strokes(layer: np.ndarray | None) -> np.ndarray | None:
    """An editor's RGBA paint layer, or None when nothing is painted (automatic colours)."""
    if layer is None or layer.ndim != 3 or layer.shape[2] != 4 or not layer[..., 3].any():
        return None
    return layer


def colour_at(image: np.ndarray, x: int, y: int) -> str:
    """The ``#rrggbb`` colour of pixel (x, y), clamped to the image."""
    height, width = image.shape[:2]
    red, green, blue = image[min(max(y, 0), height - 1), min(max(x, 0), width - 1), :3]
    return f"#{red:02x}{green:02x}{blue:02x}"


def suggest_colour(image: ImageSource | Photo, x: int, y: int, model: str = "default", side: int = PREVIEW_SIDE) -> str:
    """The automatic model's colour at (x, y) of the photo's preview at ``side``: a starting
    value for the brush when the user does not know the exact colour."""
    photo = image if isinstance(image, Photo) else open_photo(image)
    return colour_at(colorized_at(predict(photo, model), side=side), x, y)


def metric_rows(result: Report) -> list[list]:
    """Rows of [metric, prediction, gray baseline, which way is better] for a table."""
    model, gray = result.model, result.gray
    return [
        ["PSNR (dB)", round(model.psnr, 2), round(gray.psnr, 2), "higher"],
        ["SSIM", round(model.ssim, 4), round(gray.ssim, 4), "higher"],
        [f"Colourfulness (truth {result.target_colourfulness:.1f})", round(model.colourfulness, 1),
         round(gray.colourfulness, 1), "closer to the truth"],
        ["CIEDE2000 colour error", round(model.ciede2000, 2), round(gray.ciede2000, 2), "lower"],
        ["AuC (ab error ≤ 0..150)", round(model.auc, 4), round(gray.auc, 4), "higher"],
    ]


METRIC_HEADERS = ["metric", "prediction", "gray baseline", "better when"]


def available_models() -> list[str]:
    """Automatic models that have weights here, default first: what the studio offers (a
    row of the table without weights would only lead to an error)."""
    ready = [name for name in list_models() if has_weights(name)]
    return sorted(ready, key=lambda name: name != DEFAULT_MODEL)


def available_guided_models() -> list[str]:
    """Guided engines that can run here (weights present, or none needed), best first."""
    return [name for name in list_guided_models() if has_weights(name)]


def compare_models(image: ImageSource | Photo, models: Sequence[str] | None = None, saturation: float = 1.0) -> list[tuple[str, Showcase]]:
    """Every (trained) model on the same photo, as previews with scores: the classroom view."""
    photo = image if isinstance(image, Photo) else open_photo(image)
    return [(name, render(predict(photo, name), saturation)) for name in (models or available_models())]


def channel_images(image: np.ndarray) -> dict[str, np.ndarray]:
    """The L, a and b channels of an (H, W, 3) uint8 photo as pictures a class can read.

    L is shown as gray; a and b are each shown alone at a fixed mid lightness, so a reads
    green (negative) to magenta-red (positive) and b blue (negative) to yellow (positive).
    """
    lab = image_to_lab(preview(image))
    only_l = lab.copy()
    only_l[..., 1:] = 0
    only_a = np.zeros_like(lab)
    only_a[..., 0], only_a[..., 1] = 60.0, lab[..., 1]
    only_b = np.zeros_like(lab)
    only_b[..., 0], only_b[..., 2] = 60.0, lab[..., 2]
    return {"L (lightness)": lab_to_image(only_l), "a (green ↔ red)": lab_to_image(only_a), "b (blue ↔ yellow)": lab_to_image(only_b)}


def model_guide() -> str:
    """Markdown about every model family, written from the model table and, for trained
    models, the validation scores their export measured."""
    sections = []
    for name, spec in MODELS.items():
        trained = has_weights(name)
        status = "" if trained else " *(not trained yet)*"
        sections.append(
            f"**{name}**{status}: {spec.description}  \n"
            f"*Based on:* {spec.reference}.  \n*Good at:* {spec.good_at}.  \n*Weak at:* {spec.bad_at}."
            + (measured_scores(model_config(name)) if trained and ARCHITECTURES[spec.arch].needs_weights else "")
        )
    return "\n\n".join(sections)


def measured_scores(config: dict) -> str:
    """One line of a weights folder's validation scores beside the gray baseline's, in the
    words of the metric guide; empty when its export did not evaluate it."""
    val = config.get("val")
    if not val:
        return ""
    model, gray = val["model"], val["gray"]
    line = (f"  \n*Measured on the validation photos:* PSNR {model['psnr']:.2f} dB (gray {gray['psnr']:.2f}), "
            f"colourfulness {model['colourfulness']:.1f} (real photos {val['target_colourfulness']:.1f}); "
            f"of the truly green pixels {model['green_recall']:.0%} come out green, of the blue ones {model['blue_recall']:.0%}")
    with_hints = [(int(key.split("_")[1]), scores) for key, scores in config.items() if re.fullmatch(r"val_\d+_hints", key)]
    line += "".join(f"; with {hints} true-colour hints, PSNR {scores['model']['psnr']:.2f} dB" for hints, scores in with_hints)
    return line + "."


def comparison_table(results: Sequence[tuple[str, Showcase]]) -> tuple[list[str], list[list]]:
    """Headers and one row per model (plus the gray baseline) of scores, for a table.

    Empty rows when the photo was black and white: there is nothing to score against.
    """
    scored = [(name, shown.report) for name, shown in results if shown.report is not None]
    if not scored:
        return ["model"], []
    headers = ["model", *(row[0] for row in metric_rows(scored[0][1]))]
    rows = [[name, *(row[1] for row in metric_rows(result))] for name, result in scored]
    rows.append(["gray baseline", *(row[2] for row in metric_rows(scored[0][1]))])
    return headers, rows


def channel_gallery(image: ImageSource | Photo, model: str = "default", saturation: float = 1.0) -> list[tuple[np.ndarray, str]]:
    """(picture, caption) pairs: L, a and b of the photo, then of the model's colours (previews)."""
    photo = image if isinstance(image, Photo) else open_photo(image)
    predicted = render(predict(photo, model), saturation).colorized
    return [(picture, f"{which} {name}") for which, source in (("input", photo.preview), ("prediction", predicted))
            for name, picture in channel_images(source).items()]
