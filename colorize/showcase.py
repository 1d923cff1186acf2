"""What the studio shows, computed without any UI: previews, scores, channels, comparisons.

The Gradio app turns widget values into one call of this module and lays out what comes
back; the same calls work from a notebook or a script, and are tested without a browser.
Previews are downscaled for the screen and scores are computed at ``METRICS_SIDE`` (like
``python -m colorize.evaluate``), while the downloadable result keeps the photo's full size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .color import gray_image, image_to_lab, lab_to_image
from .hints import HintInput
from .hub import has_weights
from .io import ImageSource, load_image, resize_short_side
from .metrics import Report, report
from .pipeline import Colorization, colorize_with_details
from .zoo import DEFAULT_MODEL, MODELS, list_models

PREVIEW_SIDE = 1024   # longest side of images sent to the browser
METRICS_SIDE = 256    # short side at which scores are computed, as on the validation set

METRIC_GUIDE = (
    "Higher PSNR, SSIM and AuC and lower CIEDE2000 mean closer to the real colours; compare each "
    "number with the gray baseline (the same photo with no colour at all), which is what a model "
    "has to beat. SSIM stays high even for the gray photo because it mostly measures structure, "
    "edges and texture, which live in the lightness channel that colorization never changes."
)


@dataclass(frozen=True)
class Showcase:
    """One colorized photo as the studio presents it.

    ``gray``, ``colorized`` and ``truth`` are screen-sized previews ((h, w, 3) uint8 RGB);
    ``full_resolution`` is the result at the photo's own size; ``report`` scores the
    prediction and the gray baseline, or is None when the photo was black and white.
    """

    gray: np.ndarray
    colorized: np.ndarray
    truth: np.ndarray | None
    full_resolution: np.ndarray
    report: Report | None


def preview(image: np.ndarray, side: int = PREVIEW_SIDE) -> np.ndarray:
    """Downscale so the longest side is at most ``side`` (never upscale)."""
    height, width = image.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


def score_result(result: Colorization, side: int = METRICS_SIDE) -> Report | None:
    """Scores at ``side`` px short side, or None without a colour ground truth."""
    if not result.has_ground_truth:
        return None
    shrink = min(result.original.shape[:2]) > side
    truth = resize_short_side(result.original, side) if shrink else result.original
    prediction = resize_short_side(result.colorized, side) if shrink else result.colorized
    return report(prediction, truth)


def present(result: Colorization) -> Showcase:
    return Showcase(
        gray=preview(result.gray),
        colorized=preview(result.colorized),
        truth=preview(result.original) if result.has_ground_truth else None,
        full_resolution=result.colorized,
        report=score_result(result),
    )


def showcase(
    image: ImageSource, model: str = "default", saturation: float = 1.0, working_size: int | None = None,
    hints: HintInput | None = None,
) -> Showcase:
    """Colorize a photo (guided by ``hints`` if given) and prepare everything the studio shows."""
    return present(colorize_with_details(image, model, hints=hints, saturation=saturation, working_size=working_size))


def guide_canvas(image: ImageSource) -> np.ndarray:
    """The screen-sized gray photo a person paints colour hints on."""
    return preview(gray_image(load_image(image)))


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


def suggest_colour(image: ImageSource, x: int, y: int, model: str = "default") -> str:
    """The automatic model's colour at (x, y) of the photo's screen preview: a starting
    value for the brush when the user does not know the exact colour."""
    return colour_at(preview(colorize_with_details(image, model).colorized), x, y)


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
    """Automatic models that have weights here, default first."""
    ready = [name for name in list_models() if has_weights(name)]
    return sorted(ready, key=lambda name: name != DEFAULT_MODEL)


def compare_models(image: ImageSource, models: Sequence[str] | None = None, saturation: float = 1.0) -> list[tuple[str, Showcase]]:
    """Every (trained) model on the same photo: the classroom view."""
    photo = load_image(image)
    return [(name, showcase(photo, name, saturation)) for name in (models or available_models())]


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
    """Markdown about every model family, written from the model table."""
    sections = []
    for name, spec in MODELS.items():
        status = "" if has_weights(name) else " *(not trained yet)*"
        sections.append(
            f"**{name}**{status}: {spec.description}  \n"
            f"*Based on:* {spec.reference}.  \n*Good at:* {spec.good_at}.  \n*Weak at:* {spec.bad_at}."
        )
    return "\n\n".join(sections)


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


def channel_gallery(image: ImageSource, model: str = "default", saturation: float = 1.0) -> list[tuple[np.ndarray, str]]:
    """(picture, caption) pairs: L, a and b of the photo, then of the model's colours."""
    photo = load_image(image)
    predicted = showcase(photo, model, saturation).full_resolution
    return [(picture, f"{which} {name}") for which, source in (("input", photo), ("prediction", predicted))
            for name, picture in channel_images(source).items()]
