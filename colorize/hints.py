"""Colour hints: what a person knows about a photo's colours, in the form the engines read.

A *hint map* is an (N, 3, h, w) float tensor at the network's working size: channels 0-1
hold ab in Lab units where a colour is given (0 elsewhere), channel 2 is the 0/1 mask that
says where. Both guided engines (``unet-guided`` and ``levin``) read this one format.

Hints reach it three ways:

* ``points_to_hints``: clicked points (x, y, colour) in photo pixels (the API, the CLI's
  JSON file, the app's "click to place");
* ``strokes_to_hints``: a sparse RGBA layer painted over the photo (the app's brush, the
  CLI's PNG stroke layer);
* ``sample_hints``: patches revealed from the ground truth, to measure how much N hints
  help (Zhang et al. 2017's simulated user, Sec. 3.3: patches of 1-9 px showing the patch's
  mean colour, centred positions).

Only a hint's a and b are used: its lightness always comes from the photo.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from .color import image_to_tensor, rgb_to_lab
from .errors import ColorizeError

HINT_CHANNELS = 3
MAX_PATCH = 9       # revealed patches are 1..9 px squares at the working size
POINT_PATCH = 3     # a clicked point covers 3x3 working pixels (about 1 % of a 256 px side)


@dataclass(frozen=True)
class Point:
    """A colour placed at pixel (x, y) of the photo; ``rgb`` is 0-255 sRGB."""

    x: float
    y: float
    rgb: tuple[int, int, int]


HintInput = Sequence[Point] | np.ndarray | torch.Tensor
"""Points, an (H, W, 4) RGBA stroke layer, or a ready (1, 3, h, w) hint map of any size."""


def empty_hints(count: int, height: int, width: int) -> torch.Tensor:
    """A hint map with no hints: the automatic case."""
    return torch.zeros(count, HINT_CHANNELS, height, width)


def hint_map(hints: HintInput | None, photo_size: tuple[int, int], shape: tuple[int, int]) -> torch.Tensor:
    """Any accepted form of hints for a photo of ``photo_size`` -> a (1, 3, h, w) map of ``shape``."""
    if hints is None:
        return empty_hints(1, *shape)
    if isinstance(hints, torch.Tensor):
        if hints.ndim != 4 or hints.shape[:2] != (1, HINT_CHANNELS):
            raise ValueError(f"a hint map must have shape (1, 3, h, w), got {tuple(hints.shape)}")
        return resize_hints(hints.float(), shape)
    if isinstance(hints, np.ndarray):
        return strokes_to_hints(hints, shape)
    return points_to_hints(hints, photo_size, shape)


def rgb_to_ab(colours: Sequence[Sequence[int]]) -> torch.Tensor:
    """0-255 sRGB triples -> (K, 2) ab in Lab units."""
    pixels = torch.tensor(np.asarray(colours, dtype=np.float32).reshape(1, -1, 3) / 255).permute(2, 0, 1)[None]
    return rgb_to_lab(pixels)[0, 1:, 0].T


def points_to_hints(points: Sequence[Point], photo_size: tuple[int, int], shape: tuple[int, int], patch: int = POINT_PATCH) -> torch.Tensor:
    """Clicked points on a photo of ``photo_size`` (H, W) -> a (1, 3, h, w) hint map of ``shape``."""
    hints = empty_hints(1, *shape)
    if not points:
        return hints
    (height, width), (rows, cols) = photo_size, shape
    for point, ab in zip(points, rgb_to_ab([point.rgb for point in points])):
        row = min(rows - 1, max(0, int(point.y / height * rows)))
        col = min(cols - 1, max(0, int(point.x / width * cols)))
        _reveal(hints[0], row, col, patch, ab)
    return hints


def strokes_to_hints(layer: np.ndarray, shape: tuple[int, int]) -> torch.Tensor:
    """An (H, W, 4) uint8 RGBA stroke layer -> a (1, 3, h, w) hint map of ``shape``.

    Painted pixels (alpha > 0) are converted to ab and averaged, alpha-weighted, over the
    photo pixels each working pixel covers; every working pixel touched by paint is a hint.
    """
    if layer.ndim != 3 or layer.shape[2] != 4:
        raise ValueError(f"a stroke layer must be an (H, W, 4) RGBA array, got shape {layer.shape}")
    alpha = torch.from_numpy(layer[..., 3].astype(np.float32) / 255)[None, None]
    if not alpha.any():
        return empty_hints(1, *shape)
    ab = rgb_to_lab(image_to_tensor(np.ascontiguousarray(layer[..., :3])))[:, 1:]
    return resize_hints(torch.cat([ab, alpha], dim=1), shape)


def resize_hints(hints: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """A hint map (ab + mask or alpha weights) resampled to ``shape``: each new pixel gets
    the weighted mean colour of the hinted pixels it covers, and is a hint if it covers any."""
    if tuple(hints.shape[-2:]) == tuple(shape):
        return hints
    weight = hints[:, 2:]
    coverage = F.adaptive_avg_pool2d(weight, shape)
    ab = F.adaptive_avg_pool2d(hints[:, :2] * weight, shape)
    mask = (coverage > 0).float()
    return torch.cat([ab / coverage.clamp(min=1e-6) * mask, mask], dim=1)


def _reveal(hints: torch.Tensor, row: int, col: int, size: int, ab: torch.Tensor) -> None:
    """Write colour ``ab`` into a ``size``-px square centred at (row, col) of a (3, h, w) map."""
    top, left = max(0, row - size // 2), max(0, col - size // 2)
    bottom, right = min(hints.shape[1], top + size), min(hints.shape[2], left + size)
    hints[:2, top:bottom, left:right] = ab.view(2, 1, 1)
    hints[2, top:bottom, left:right] = 1.0


def sample_hints(ab: torch.Tensor, counts: Sequence[int], generator: torch.Generator | None = None) -> torch.Tensor:
    """Reveal ``counts[i]`` random patches of the true ``ab`` (N, 2, h, w) of image i.

    Positions follow a Gaussian centred on the image with a standard deviation of a quarter
    of each side (people hint the subject, rarely the border); patch sides are uniform in
    1..9 px and show the patch's mean true colour. Deterministic for a seeded ``generator``.
    """
    count, _, height, width = ab.shape
    hints = empty_hints(count, height, width).to(ab.device)
    for image, points in enumerate(counts):
        for _ in range(points):
            size = int(torch.randint(1, MAX_PATCH + 1, (1,), generator=generator))
            centre = torch.randn(2, generator=generator) * torch.tensor([height / 4, width / 4]) + torch.tensor([height / 2, width / 2])
            row = int(centre[0].clamp(0, height - 1))
            col = int(centre[1].clamp(0, width - 1))
            top, left = max(0, row - size // 2), max(0, col - size // 2)
            patch = ab[image, :, top : top + size, left : left + size]
            _reveal(hints[image], row, col, size, patch.mean(dim=(1, 2)))
    return hints


def parse_colour(value: str | Sequence[int]) -> tuple[int, int, int]:
    """``"#3366cc"``, ``"3366cc"`` or ``[51, 102, 204]`` -> an sRGB triple."""
    if isinstance(value, str):
        digits = value.strip().lstrip("#")
        if len(digits) != 6 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise ValueError(f"colour {value!r} is not of the form #rrggbb")
        return tuple(int(digits[i : i + 2], 16) for i in (0, 2, 4))
    if len(value) != 3 or not all(isinstance(c, int) and 0 <= c <= 255 for c in value):
        raise ValueError(f"colour {value!r} is not three integers 0-255")
    return tuple(value)


def read_hints_file(path: str | Path) -> HintInput:
    """A hints file for the command line: JSON points or a PNG stroke layer.

    JSON: ``[{"x": 120, "y": 80, "color": "#3366cc"}, ...]`` (or ``{"points": [...]}``), x and
    y in pixels of the photo. PNG: an RGBA image, transparent except where colour is painted,
    stretched over the photo.
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            entries = json.loads(path.read_text())
            entries = entries["points"] if isinstance(entries, dict) else entries
            return [Point(float(entry["x"]), float(entry["y"]), parse_colour(entry.get("color", entry.get("rgb"))))
                    for entry in entries]
        with Image.open(path) as image:
            if "A" not in image.getbands() and "transparency" not in image.info:
                raise ValueError("a stroke layer needs transparency (RGBA): unpainted pixels must be transparent")
            return np.asarray(image.convert("RGBA"))
    except FileNotFoundError as error:
        raise ColorizeError(f"Hints file {path} does not exist.") from error
    except (ValueError, KeyError, TypeError, UnidentifiedImageError, OSError) as error:
        raise ColorizeError(f"Could not read hints from {path}: {error}") from error
