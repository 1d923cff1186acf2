"""Full-resolution colorization: the network sees a small L, the photo keeps its own L.

    photo (H, W) ──resize to ~working_size²──> L_small ──model──> ab_small
    ab_small ──bilinear upsample──> ab (H, W) ──fit to sRGB gamut──> merged with the photo's
    own full-resolution L ──> RGB uint8 of exactly (H, W)

Chroma is low-frequency, so predicting it small loses little, while the detail a viewer
notices lives in L, which is never touched (after Zhang et al. 2016's ``postprocess_tens``).
The full-resolution part runs in horizontal bands, so a 24-megapixel scan needs a few
hundred megabytes, not gigabytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .color import gray_image, image_l, image_to_tensor, is_grayscale, render_lab, rgb_to_lab
from .errors import ColorizeError
from .hints import HintInput, hint_map
from .hub import load_model, working_size_of
from .io import DEFAULT_MAX_PIXELS, ImageSource, load_image
from .zoo import list_guided_models

ModelRef = str | Path | torch.nn.Module
BAND_PIXELS = 1 << 20  # pixels per full-resolution band: ~50 MB of float32 temporaries
NETWORK_BATCH = 4  # photos per forward pass: the U-Net's fastest per photo on 2 cores (47.7 ms, 53.6 at 16), bounded memory


@dataclass(frozen=True)
class Colorization:
    """Everything one colorization produced, as (H, W, 3) uint8 RGB arrays of the input's size.

    ``original`` is the photo as loaded; when it was already in colour (``has_ground_truth``)
    it is the ground truth the prediction can be scored against.
    """

    colorized: np.ndarray
    original: np.ndarray
    has_ground_truth: bool

    @property
    def gray(self) -> np.ndarray:
        """The photo's L channel alone (a = b = 0): what the network was given."""
        return gray_image(self.original)


def working_shape(height: int, width: int, working_size: int, multiple: int = 32) -> tuple[int, int]:
    """The network's input size: about ``working_size²`` pixels, the photo's aspect ratio,
    sides rounded to a multiple of 32 so every encoder divides evenly."""
    scale = working_size / math.sqrt(height * width)
    return (
        max(multiple, round(height * scale / multiple) * multiple),
        max(multiple, round(width * scale / multiple) * multiple),
    )


def _resolve(model: ModelRef, device: str) -> tuple[torch.nn.Module, int | None]:
    if isinstance(model, torch.nn.Module):
        return model.to(device).eval(), None
    return load_model(model, device), working_size_of(model)


def working_lab(image: np.ndarray, shape: tuple[int, int]) -> torch.Tensor:
    """The photo resized (Lanczos, like the training data) to ``shape``, in Lab, (1, 3, h, w).

    Its L is the model's input; its ab is the truth simulated hints are revealed from.
    """
    small = np.asarray(Image.fromarray(image).resize(shape[::-1], Image.Resampling.LANCZOS))
    return rgb_to_lab(image_to_tensor(small))


def _upsample_rows(ab_small: torch.Tensor, size: tuple[int, int], top: int, bottom: int) -> torch.Tensor:
    """Rows ``top:bottom`` of ``F.interpolate(ab_small, size, mode="bilinear")``, without
    building the whole full-resolution map (grid_sample with the same pixel-centre grid)."""
    height, width = size
    ys = (torch.arange(top, bottom, dtype=torch.float32) + 0.5) / height * 2 - 1
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) / width * 2 - 1
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)[None]  # (1, rows, W, 2) as (x, y)
    return F.grid_sample(ab_small, grid.to(ab_small), mode="bilinear", padding_mode="border", align_corners=False)


def merge_full_resolution(image: np.ndarray, ab_small: torch.Tensor, saturation: float = 1.0) -> np.ndarray:
    """Combine the photo's own L with upsampled, gamut-fitted ab, band by band.

    Args:
        image: (H, W, 3) uint8 RGB, the photo at full resolution.
        ab_small: (1, 2, h, w) float, predicted ab in Lab units at the working size.
        saturation: factor on ab before gamut fitting; 0 gives the gray image, 1 the prediction.
    Returns:
        (H, W, 3) uint8 RGB of the photo's size.
    """
    height, width = image.shape[:2]
    ab_small = ab_small.float().cpu() * saturation
    out = np.empty_like(image)
    band = max(1, BAND_PIXELS // width)
    for top in range(0, height, band):
        bottom = min(height, top + band)
        out[top:bottom] = render_lab(image_l(image[top:bottom]), _upsample_rows(ab_small, (height, width), top, bottom))
    return out


@torch.inference_mode()
def predict_ab(model: torch.nn.Module, l_small: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
    """Run a model on a batch of working-size L, (N, 1, h, w), and for guided models a hint
    map (N, 3, h, w) -> ab (N, 2, h, w) on the CPU."""
    device = next(model.parameters(), l_small).device
    l_small = l_small.to(device, memory_format=torch.channels_last)  # the layout load_model gives weights
    if getattr(model, "accepts_hints", False):
        hints = None if hints is None else hints.to(device, memory_format=torch.channels_last)
        return model(l_small, hints).float().cpu()
    return model(l_small).float().cpu()


def takes_hints(network: torch.nn.Module, hints_given: bool) -> bool:
    """Whether ``network`` reads colour hints; giving hints to one that does not is refused."""
    guided = getattr(network, "accepts_hints", False)
    if hints_given and not guided:
        raise ColorizeError(f"This model does not take colour hints. Guided models: {', '.join(list_guided_models())}.")
    return guided


def colorize_with_details(
    image: ImageSource,
    model: ModelRef = "default",
    *,
    hints: HintInput | None = None,
    working_size: int | None = None,
    saturation: float = 1.0,
    device: str = "cpu",
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Colorization:
    """Colorize one photo and return the prediction with the gray input and the original.

    ``model`` is a table name, a weights folder or an ``nn.Module``; ``working_size``
    overrides the model's working resolution (bigger: finer colour detail, slower).
    ``hints`` (guided models only) are ``colorize.hints.Point``s in photo pixels, an RGBA
    stroke layer painted over the photo, or a ready hint map.
    """
    return colorize_batch([image], model, hints=None if hints is None else [hints], working_size=working_size,
                          saturation=saturation, device=device, max_pixels=max_pixels)[0]


def predict_colour(
    photo: np.ndarray, model: ModelRef = "default", *, hints: HintInput | None = None, working_size: int | None = None,
    device: str = "cpu",
) -> torch.Tensor:
    """The model's colour for one loaded photo, (1, 2, h, w) ab at the working size.

    The small result of the expensive step: ``merge_full_resolution`` turns it into a
    picture of any size and saturation, so a preview, a new colour strength or a
    full-resolution file never runs the network again (the studio keeps it per session).
    """
    network, table_size = _resolve(model, device)
    guided = takes_hints(network, hints is not None)
    shape = working_shape(*photo.shape[:2], working_size or table_size or 256)
    maps = hint_map(hints, photo.shape[:2], shape) if guided else None
    return predict_ab(network, working_lab(photo, shape)[:, :1], maps)


def colorize_batch(
    images: Sequence[ImageSource],
    model: ModelRef = "default",
    *,
    hints: Sequence[HintInput | None] | None = None,
    working_size: int | None = None,
    saturation: float = 1.0,
    device: str = "cpu",
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> list[Colorization]:
    """Colorize several photos, running the network on up to ``NETWORK_BATCH`` photos of equal working shape at a time.

    ``hints``, if given, holds one entry (or None) per photo; see ``colorize_with_details``.
    """
    network, table_size = _resolve(model, device)
    hints = list(hints) if hints is not None else [None] * len(images)
    if len(hints) != len(images):
        raise ValueError(f"got {len(hints)} hint entries for {len(images)} photos")
    guided = takes_hints(network, any(entry is not None for entry in hints))
    size = working_size or table_size or 256
    photos = [load_image(image, max_pixels=max_pixels) for image in images]
    shapes = [working_shape(*photo.shape[:2], size) for photo in photos]
    ab_small: dict[int, torch.Tensor] = {}
    for shape in dict.fromkeys(shapes):
        members = [i for i, s in enumerate(shapes) if s == shape]
        for start in range(0, len(members), NETWORK_BATCH):
            chunk = members[start : start + NETWORK_BATCH]
            l_small = torch.cat([working_lab(photos[i], shape)[:, :1] for i in chunk])
            maps = torch.cat([hint_map(hints[i], photos[i].shape[:2], shape) for i in chunk]) if guided else None
            predicted = predict_ab(network, l_small, maps)
            ab_small.update({i: predicted[j : j + 1] for j, i in enumerate(chunk)})
    return [
        Colorization(
            colorized=merge_full_resolution(photo, ab_small[i], saturation),
            original=photo,
            has_ground_truth=not is_grayscale(photo),
        )
        for i, photo in enumerate(photos)
    ]


def colorize_image(image: ImageSource, model: ModelRef = "default", **options) -> Image.Image:
    """Colorize a photo (path, bytes, PIL image or array); returns a PIL RGB image of its size.

    Options are those of ``colorize_with_details``.
    """
    return Image.fromarray(colorize_with_details(image, model, **options).colorized)


def colorize_images(images: Iterable[ImageSource], model: ModelRef = "default", **options) -> list[Image.Image]:
    """Colorize many photos at once (batched where their working shapes agree)."""
    return [Image.fromarray(result.colorized) for result in colorize_batch(list(images), model, **options)]
