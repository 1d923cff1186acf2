"""Turn whatever the user hands us into one predictable thing: an (H, W, 3) uint8 RGB array.

People give a colorizer anything: phone photos with a rotation flag, scanned 16-bit
TIFFs, transparent PNGs, animated GIFs, numpy arrays straight out of another
library, or a file that is not a picture at all. Everything after this module
assumes clean RGB pixels, so every oddity is settled here, and every input we
cannot read fails with one exception type, ``InvalidImageError``, whose message
tells a non-expert what is wrong and what to do about it.

Two safety rules shape the code:

* Pixels are decoded only after the header's width and height passed the size
  limit, so a tiny file that claims to be gigapixels (a "decompression bomb")
  is refused before it can fill the memory.
* Every image is decoded completely inside the ``try`` that translates Pillow's
  errors; Pillow opens files lazily, so a truncated file would otherwise fail
  much later, far from the code that knows what the user gave us.
"""

from __future__ import annotations

import io
import os
import re
import struct
import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from colorize.errors import InvalidImageError

DEFAULT_MAX_PIXELS = 50_000_000
"""Room for photos from nearly every phone and camera; decoded, that is 150 MB of RGB."""

_MAX_SIDE = 65_535
"""The largest side a JPEG can have; a longer one in a header means damage or an attack."""

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
"""File endings ``find_images`` picks up when it walks a folder (compared case-insensitively)."""

ImageSource = str | os.PathLike | bytes | Image.Image | np.ndarray

# What Pillow raises for a damaged file once it has recognised the format: truncation and
# broken streams are OSError, and the format plugins add SyntaxError ("broken PNG file"),
# ValueError, EOFError and struct.error. Anything else is a bug and should surface as one.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)

# Modes whose samples are wider than 8 bits; Pillow's own convert() clips them to 0..255.
_WIDE_GRAY_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})

# warnings.catch_warnings swaps a process-wide filter list; this lock keeps our own
# concurrent calls from restoring each other's filters in the wrong order.
_WARNING_FILTER_LOCK = threading.Lock()

_PLEASE_CHOOSE_A_PHOTO = "Please choose a photo file such as JPEG or PNG."


def load_image(source: ImageSource, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Return an (H, W, 3) uint8 RGB array, C-contiguous.

    Args:
        source: a file path, the raw bytes of an image file, a PIL image, or a numpy
            array shaped (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) holding uint8,
            uint16, bool, or float values in [0, 1].
        max_pixels: refuse images with more pixels than this; ``None`` lifts our limit
            (Pillow's process-wide ``PIL.Image.MAX_IMAGE_PIXELS`` still applies to files).

    Transparency is flattened onto white, the EXIF rotation of camera photos is applied,
    and animations give their first frame. PIL images in mode "F" follow Pillow's own
    convention of samples on the 0..255 scale.

    Raises:
        InvalidImageError: the source is missing, empty, not an image, damaged, too large,
            or an array of a shape or type that is not a picture.
        TypeError: the source is none of the accepted types (a programming error).
    """
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source, max_pixels)
    if isinstance(source, Image.Image):
        return _image_to_rgb(source, max_pixels, "The image")
    if isinstance(source, bytes):
        return _bytes_to_rgb(source, max_pixels)
    if isinstance(source, (str, os.PathLike)):
        return _file_to_rgb(Path(source), max_pixels)
    raise TypeError(
        "load_image() takes a file path, bytes, a PIL image or a numpy array, "
        f"not {type(source).__name__}"
    )


def find_images(paths: Iterable[str | os.PathLike], suffixes: frozenset[str] = IMAGE_SUFFIXES) -> list[Path]:
    """Expand files and folders into the list of image files to process.

    Folders are searched recursively and their images returned sorted, so a batch runs
    in a predictable order; inside folders only names ending in ``suffixes`` (lower case;
    the command line adds video endings) count,
    so notes and sidecar files are skipped. A file named explicitly is kept whatever its
    ending: the user asked for it, and ``load_image`` explains clearly if it is no image.

    Raises:
        InvalidImageError: a path does not exist, so a typo is reported, not ignored.
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in suffixes and p.is_file()))
        elif path.exists():
            found.append(path)
        else:
            raise InvalidImageError(
                f'There is no file or folder at "{path}". Please check the name and try again.'
            )
    return found


# --- Files and bytes ------------------------------------------------------------------


def _file_to_rgb(path: Path, max_pixels: int | None) -> np.ndarray:
    """Check the path the way a person would expect, then decode the file."""
    what = f'The file "{path}"'
    try:
        size_in_bytes = path.stat().st_size
    except FileNotFoundError as error:
        raise InvalidImageError(
            f'There is no file at "{path}". Please check the name and folder, then try again.'
        ) from error
    except OSError as error:
        raise _unreadable(what, error) from error
    if path.is_dir():
        raise InvalidImageError(
            f'"{path}" is a folder, not an image file. Please choose one photo inside it.'
        )
    if size_in_bytes == 0:
        raise InvalidImageError(f"{what} is empty (0 bytes). {_PLEASE_CHOOSE_A_PHOTO}")
    try:
        file = path.open("rb")
    except OSError as error:
        raise _unreadable(what, error) from error
    with file:
        return _stream_to_rgb(file, max_pixels, what)


def _bytes_to_rgb(data: bytes, max_pixels: int | None) -> np.ndarray:
    what = "The image data"
    if not data:
        raise InvalidImageError(f"{what} is empty (0 bytes). {_PLEASE_CHOOSE_A_PHOTO}")
    return _stream_to_rgb(io.BytesIO(data), max_pixels, what)


def _stream_to_rgb(stream: BinaryIO, max_pixels: int | None, what: str) -> np.ndarray:
    """Identify the format from the header (cheap, no pixels yet), then decode."""
    with _pillow_errors_explained(what, max_pixels):
        image = _open_header(stream)
    with image:
        return _image_to_rgb(image, max_pixels, what)


def _open_header(stream: BinaryIO) -> Image.Image:
    """Read only the header, with Pillow's soft size warning silenced.

    Our own ``max_pixels`` check runs right after this and decides; Pillow's warning
    would only be noise (or, under ``-W error``, an exception before we can give our
    message). Pillow's hard limit, DecompressionBombError, stays in force.
    """
    with _WARNING_FILTER_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(stream)


# --- PIL images -----------------------------------------------------------------------


def _image_to_rgb(image: Image.Image, max_pixels: int | None, what: str) -> np.ndarray:
    """Check the size, decode fully, apply the EXIF rotation, and convert to RGB."""
    _check_size(*image.size, max_pixels)
    with _pillow_errors_explained(what, max_pixels):
        image.load()
        upright = ImageOps.exif_transpose(image)
    return _pixels_to_rgb(upright, what)


def _pixels_to_rgb(image: Image.Image, what: str) -> np.ndarray:
    """Convert a decoded image of any Pillow mode to an RGB array, transparency on white."""
    if image.mode in _WIDE_GRAY_MODES:
        image = Image.fromarray(_sixteen_bit_to_uint8(np.asarray(image)))
    elif image.mode == "F":
        image = Image.fromarray(_float_gray_to_uint8(np.asarray(image)))
    target = "RGBA" if image.has_transparency_data else "RGB"
    try:
        pixels = np.array(image.convert(target))
    except ValueError as error:
        raise InvalidImageError(
            f"{what} uses a colour format ({image.mode}) that cannot be shown as RGB. "
            "Please save it again as an ordinary JPEG or PNG."
        ) from error
    return _composite_on_white(pixels) if target == "RGBA" else pixels


# --- numpy arrays ---------------------------------------------------------------------


def _array_to_rgb(array: np.ndarray, max_pixels: int | None) -> np.ndarray:
    """Validate the array's layout, bring its values to uint8, and expand it to RGB."""
    _check_array_shape(array)
    _check_size(array.shape[1], array.shape[0], max_pixels)
    pixels = _array_to_uint8(array)
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    if pixels.shape[2] == 4:
        return _composite_on_white(pixels)
    return np.array(np.broadcast_to(pixels, (*pixels.shape[:2], 3)))  # a copy: ours to return


def _check_array_shape(array: np.ndarray) -> None:
    channels = array.shape[2] if array.ndim == 3 else 1
    if array.ndim not in (2, 3) or channels not in (1, 3, 4):
        raise InvalidImageError(
            f"An image array must be shaped (height, width) or (height, width, channels) "
            f"with 1, 3 or 4 channels, but this one has shape {array.shape}."
        )


def _array_to_uint8(array: np.ndarray) -> np.ndarray:
    """Map each supported value type onto 0..255 the way image libraries conventionally do."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint16:
        return _sixteen_bit_to_uint8(array)
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise InvalidImageError(
                "The image array contains NaN or infinite values. "
                "Please replace them with numbers between 0 and 1."
            )
        return _unit_scale_to_uint8(array)
    raise InvalidImageError(
        f"An image array must hold uint8, uint16, bool or float values, not {array.dtype}. "
        "Please convert it, for example with array.astype(np.uint8) for values 0-255."
    )


# --- Pixel arithmetic shared by files and arrays ----------------------------------------


def _sixteen_bit_to_uint8(samples: np.ndarray) -> np.ndarray:
    """Scale 0..65535 to 0..255 with rounding (x / 257), so 65535 is white, not clipped.

    32-bit "I" images are treated as 16-bit samples, which is how Pillow stores them.
    """
    wide = np.clip(samples, 0, 65535).astype(np.uint32)
    return ((wide + 128) // 257).astype(np.uint8)


def _unit_scale_to_uint8(samples: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(samples, 0.0, 1.0) * 255).astype(np.uint8)


def _float_gray_to_uint8(samples: np.ndarray) -> np.ndarray:
    """Round Pillow "F" samples, which live on the 0..255 scale; NaN becomes black."""
    return np.rint(np.clip(np.nan_to_num(samples), 0.0, 255.0)).astype(np.uint8)


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Flatten transparency onto white, as a viewer on a light page would show it.

    Integer arithmetic with exact rounding; the largest intermediate, 255 * 255 + 127,
    fits in uint16, which keeps a 50-megapixel image cheap.
    """
    alpha = rgba[:, :, 3:].astype(np.uint16)
    color = rgba[:, :, :3].astype(np.uint16)
    return ((color * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)


# --- Validation messages ----------------------------------------------------------------


@contextmanager
def _pillow_errors_explained(what: str, max_pixels: int | None) -> Iterator[None]:
    """Translate Pillow's reasons for refusing a file into one plain-language exception."""
    try:
        yield
    except UnidentifiedImageError as error:
        raise InvalidImageError(
            f"{what} is not an image we can read. {_PLEASE_CHOOSE_A_PHOTO}"
        ) from error
    except Image.DecompressionBombError as error:
        raise _beyond_pillow_limit(max_pixels, _pixels_in(error)) from error
    except _DECODE_ERRORS as error:
        raise _damaged(what) from error


def _check_size(width: int, height: int, max_pixels: int | None) -> None:
    """Refuse empty, absurdly long, or too large images before any pixel is decoded."""
    size = f"{width} x {height} pixels"
    if width == 0 or height == 0:
        raise InvalidImageError(
            f"The image has no pixels ({size}). "
            "Please use a picture at least 1 pixel wide and high."
        )
    if max(width, height) > _MAX_SIDE:
        raise InvalidImageError(
            f"The image is {size}, but sides longer than {_MAX_SIDE} pixels are not supported. "
            "Please resize it and try again."
        )
    if max_pixels is not None and width * height > max_pixels:
        raise _too_many_pixels(
            f"The image is {size} ({_megapixels(width * height)} megapixels)", max_pixels
        )


def _pixels_in(error: Image.DecompressionBombError) -> int | None:
    """The image's pixel count, which Pillow states only in its message ("Image size (N pixels) ...")."""
    found = re.search(r"\((\d+) pixels\)", str(error))
    return int(found.group(1)) if found else None


def _beyond_pillow_limit(max_pixels: int | None, pixels: int | None = None) -> InvalidImageError:
    """Pillow refused the header itself; report the size it read (or else its bound)."""
    pillow_limit = 2 * Image.MAX_IMAGE_PIXELS
    description = f"The image is {_megapixels(pixels)} megapixels" if pixels else f"The image is over {_megapixels(pillow_limit)} megapixels"
    if max_pixels is not None and max_pixels < pillow_limit:
        return _too_many_pixels(description, max_pixels)
    return InvalidImageError(
        f"{description}, more than the {_megapixels(pillow_limit)} megapixels that can be opened safely. "
        "Please resize it to a smaller size and try again."
    )


def _too_many_pixels(description: str, limit: int) -> InvalidImageError:
    return InvalidImageError(
        f"{description}, more than the limit of {_megapixels(limit)} megapixels. "
        "Please resize it to a smaller size and try again."
    )


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.3g}"


def _unreadable(what: str, error: OSError) -> InvalidImageError:
    return InvalidImageError(
        f"{what} could not be opened ({error.strerror or error}). "
        "Please check that it exists and that you are allowed to read it."
    )


def _damaged(what: str) -> InvalidImageError:
    return InvalidImageError(
        f"{what} looks like an image but is damaged or incomplete, perhaps from an "
        "interrupted download or copy. Please try the original file again."
    )


def resize_short_side(image: np.ndarray, side: int) -> np.ndarray:
    """Resize an (H, W, 3) uint8 photo (Lanczos) so that its short side is ``side`` pixels,
    the convention of ../shared/data and of ``python -m colorize.evaluate --size``."""
    height, width = image.shape[:2]
    scale = side / min(height, width)
    if scale == 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
