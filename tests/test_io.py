"""Tests for colorize.io: real files of every odd kind, written with Pillow into tmp_path.

Each test builds the file it needs, so there are no binary fixtures to trust and every
expectation is visible next to the pixels that produce it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from colorize.errors import ColorizeError, InvalidImageError
from colorize.io import IMAGE_SUFFIXES, find_images, load_image

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
EXIF_ORIENTATION = 0x0112


# --- Helpers ----------------------------------------------------------------------------


def save(image: Image.Image, path: Path, **options) -> Path:
    image.save(path, **options)
    return path


def assert_rgb_array(result: np.ndarray, height: int, width: int) -> None:
    """The contract every successful load_image call must keep."""
    assert result.shape == (height, width, 3)
    assert result.dtype == np.uint8
    assert result.flags.c_contiguous
    assert result.flags.writeable


def assert_close(actual, expected, tolerance: int) -> None:
    difference = np.abs(np.asarray(actual, dtype=int) - np.asarray(expected, dtype=int))
    assert difference.max() <= tolerance, f"{actual} is not within {tolerance} of {expected}"


def palette_image(indices: list[list[int]], colors: list[tuple[int, int, int]]) -> Image.Image:
    image = Image.fromarray(np.array(indices, dtype=np.uint8), mode="P")
    image.putpalette([channel for color in colors for channel in color])
    return image


def png_file(width: int, height: int, bit_depth: int, color_type: int, rows: bytes) -> bytes:
    """A real PNG written chunk by chunk, for the kinds Pillow reads but cannot write."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def png_claiming(width: int, height: int) -> bytes:
    """A valid all-black 1-bit grayscale PNG: the shape of a decompression bomb.

    Zero rows compress about a thousandfold, so a file of a few dozen kilobytes can
    claim hundreds of megapixels; Pillow would have to allocate them all to write it.
    """
    row = bytes(1 + (width + 7) // 8)  # filter byte "none", then 8 pixels per byte
    return png_file(width, height, bit_depth=1, color_type=0, rows=row * height)


def png_16bit_rgb(pixels: np.ndarray) -> bytes:
    height, width, _ = pixels.shape
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in pixels)
    return png_file(width, height, bit_depth=16, color_type=2, rows=rows)


def noisy_rgb(height: int = 64, width: int = 64) -> Image.Image:
    """Random pixels, so compressed files are long enough to cut and corrupt."""
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


# --- Ordinary formats -------------------------------------------------------------------


def test_jpeg_rgb(tmp_path):
    path = save(Image.new("RGB", (16, 8), (200, 30, 60)), tmp_path / "photo.jpg", quality=95)
    result = load_image(path)
    assert_rgb_array(result, 8, 16)
    assert_close(result[4, 8], (200, 30, 60), tolerance=4)


def test_jpeg_grayscale_becomes_equal_channels(tmp_path):
    path = save(Image.new("L", (8, 8), 100), tmp_path / "gray.jpg", quality=95)
    result = load_image(path)
    assert_rgb_array(result, 8, 8)
    assert_close(result, np.full((8, 8, 3), 100), tolerance=1)
    assert (result[..., 0] == result[..., 1]).all() and (result[..., 1] == result[..., 2]).all()


def test_jpeg_cmyk(tmp_path):
    path = save(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), tmp_path / "print.jpg", quality=95)
    with Image.open(path) as image:
        assert image.mode == "CMYK"
    assert_close(load_image(path)[4, 4], RED, tolerance=4)


def test_bmp(tmp_path):
    image = Image.new("RGB", (3, 2), BLUE)
    image.putpixel((2, 1), (10, 20, 30))
    result = load_image(save(image, tmp_path / "picture.bmp"))
    assert_rgb_array(result, 2, 3)
    assert tuple(result[1, 2]) == (10, 20, 30)
    assert tuple(result[0, 0]) == BLUE


def test_webp_lossless(tmp_path):
    image = Image.new("RGB", (4, 4), GREEN)
    image.putpixel((0, 0), (10, 20, 30))
    result = load_image(save(image, tmp_path / "picture.webp", lossless=True))
    assert tuple(result[0, 0]) == (10, 20, 30)
    assert tuple(result[3, 3]) == GREEN


def test_one_by_one_png(tmp_path):
    result = load_image(save(Image.new("RGB", (1, 1), (1, 2, 3)), tmp_path / "dot.png"))
    assert_rgb_array(result, 1, 1)
    assert tuple(result[0, 0]) == (1, 2, 3)


# --- Transparency is flattened onto white -----------------------------------------------


def test_png_rgba_composites_on_white(tmp_path):
    image = Image.new("RGBA", (3, 1))
    image.putpixel((0, 0), (0, 0, 255, 255))  # opaque blue stays blue
    image.putpixel((1, 0), (0, 0, 0, 128))  # half-transparent black becomes mid gray
    image.putpixel((2, 0), (255, 0, 0, 0))  # invisible red must not show through
    result = load_image(save(image, tmp_path / "logo.png"))
    assert tuple(result[0, 0]) == BLUE
    assert tuple(result[0, 1]) == (127, 127, 127)
    assert tuple(result[0, 2]) == WHITE


def test_png_gray_with_alpha(tmp_path):
    image = Image.new("LA", (2, 1))
    image.putpixel((0, 0), (50, 255))
    image.putpixel((1, 0), (0, 0))
    result = load_image(save(image, tmp_path / "gray_alpha.png"))
    assert tuple(result[0, 0]) == (50, 50, 50)
    assert tuple(result[0, 1]) == WHITE


def test_png_palette_with_transparent_index(tmp_path):
    image = palette_image([[0, 1]], [RED, BLUE])
    result = load_image(save(image, tmp_path / "palette.png", transparency=0))
    assert tuple(result[0, 0]) == WHITE
    assert tuple(result[0, 1]) == BLUE


def test_png_rgb_with_transparent_colour_key(tmp_path):
    image = Image.new("RGB", (2, 1), GREEN)
    image.putpixel((1, 0), RED)
    result = load_image(save(image, tmp_path / "keyed.png", transparency=RED))
    assert tuple(result[0, 0]) == GREEN
    assert tuple(result[0, 1]) == WHITE


def test_webp_with_alpha(tmp_path):
    image = Image.new("RGBA", (2, 1), (0, 0, 255, 255))
    image.putpixel((1, 0), (255, 0, 0, 0))
    result = load_image(save(image, tmp_path / "sticker.webp", lossless=True))
    assert tuple(result[0, 0]) == BLUE
    assert tuple(result[0, 1]) == WHITE


def test_gif_palette(tmp_path):
    image = palette_image([[0, 1], [1, 0]], [(10, 20, 30), (200, 100, 50)])
    result = load_image(save(image, tmp_path / "palette.gif"))
    assert tuple(result[0, 0]) == (10, 20, 30)
    assert tuple(result[0, 1]) == (200, 100, 50)


# --- High bit depth and unusual modes ---------------------------------------------------

SIXTEEN_BIT_SAMPLES = [[0, 32768, 65535, 25700]]
SIXTEEN_BIT_EXPECTED = [0, 128, 255, 100]  # x / 257, rounded: scaled, never clipped


def test_png_16bit_gray_is_scaled_not_clipped(tmp_path):
    samples = np.array(SIXTEEN_BIT_SAMPLES, dtype=np.uint16)
    path = save(Image.fromarray(samples), tmp_path / "scan.png")
    with Image.open(path) as image:
        assert image.mode == "I;16"
    result = load_image(path)
    assert result[0, :, 0].tolist() == SIXTEEN_BIT_EXPECTED
    assert (result[..., 0] == result[..., 2]).all()


@pytest.mark.parametrize(
    ("dtype", "mode"),
    [("<u2", "I;16"), (">u2", "I;16B"), ("<i4", "I")],
    ids=["I;16", "I;16B", "I"],
)
def test_tiff_wide_gray(tmp_path, dtype, mode):
    samples = np.array(SIXTEEN_BIT_SAMPLES, dtype=dtype)
    path = save(Image.fromarray(samples), tmp_path / "scan.tif")
    with Image.open(path) as image:
        assert image.mode == mode
    assert load_image(path)[0, :, 1].tolist() == SIXTEEN_BIT_EXPECTED


def test_tiff_float_follows_pillow_0_to_255_scale(tmp_path):
    samples = np.array([[0.4, 127.6, 300.0, -5.0]], dtype=np.float32)
    path = save(Image.fromarray(samples), tmp_path / "float.tif")
    with Image.open(path) as image:
        assert image.mode == "F"
    assert load_image(path)[0, :, 0].tolist() == [0, 128, 255, 0]


def test_png_16bit_rgb(tmp_path):
    """Pillow reads 16-bit RGB as 8-bit by keeping the high byte, so allow 1 of rounding."""
    pixels = np.array([[[65535, 32768, 0]]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    path.write_bytes(png_16bit_rgb(pixels))
    assert_close(load_image(path)[0, 0], (255, 128, 0), tolerance=1)


@pytest.mark.parametrize("suffix", [".tif", ".png"])
def test_bilevel(tmp_path, suffix):
    image = Image.new("1", (2, 1), 0)
    image.putpixel((1, 0), 1)
    path = save(image, tmp_path / f"fax{suffix}")
    with Image.open(path) as reopened:
        assert reopened.mode == "1"
    result = load_image(path)
    assert tuple(result[0, 0]) == BLACK
    assert tuple(result[0, 1]) == WHITE


def test_lab_tiff(tmp_path):
    image = Image.new("LAB", (2, 1), (255, 128, 128))  # L = 100, a = b = 0: white
    image.putpixel((1, 0), (0, 128, 128))  # L = 0: black
    path = save(image, tmp_path / "lab.tif")
    with Image.open(path) as reopened:
        assert reopened.mode == "LAB"
    result = load_image(path)
    assert_close(result[0, 0], WHITE, tolerance=2)
    assert_close(result[0, 1], BLACK, tolerance=2)


@pytest.mark.parametrize(
    ("mode", "value"), [("YCbCr", (76, 85, 255)), ("HSV", (0, 255, 255))], ids=["YCbCr", "HSV"]
)
def test_pil_colour_spaces(mode, value):
    assert_close(load_image(Image.new(mode, (2, 2), value))[1, 1], RED, tolerance=2)


# --- Animation and orientation ----------------------------------------------------------


@pytest.mark.parametrize("suffix", [".gif", ".webp", ".png"], ids=["gif", "webp", "apng"])
def test_animation_gives_first_frame(tmp_path, suffix):
    frames = [Image.new("RGB", (4, 4), color) for color in (RED, GREEN, BLUE)]
    path = tmp_path / f"animation{suffix}"
    options = {"lossless": True} if suffix == ".webp" else {}
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, **options)
    with Image.open(path) as image:
        assert image.n_frames == 3
    result = load_image(path)
    assert_rgb_array(result, 4, 4)
    assert (result == RED).all()


def test_exif_orientation_6_rotates_clockwise(tmp_path):
    """Orientation 6 means "rotate 90 degrees clockwise to view": top-left goes top-right."""
    image = Image.new("RGB", (40, 20), BLACK)
    image.paste(RED, (0, 0, 10, 10))  # red block in the stored top-left corner
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    path = save(image, tmp_path / "phone.jpg", exif=exif, quality=95)

    result = load_image(path)

    assert_rgb_array(result, 40, 20)
    assert_close(result[2:8, 12:18], np.broadcast_to(RED, (6, 6, 3)), tolerance=8)
    assert result[2:8, 2:8].max() < 10
    assert result[-8:, :].max() < 10


# --- Every kind of source ---------------------------------------------------------------


@pytest.fixture
def small_png(tmp_path) -> Path:
    image = Image.new("RGB", (3, 2), GREEN)
    image.putpixel((0, 0), (1, 2, 3))
    return save(image, tmp_path / "small.png")


@pytest.mark.parametrize(
    "as_source",
    [str, Path, Path.read_bytes],
    ids=["str", "Path", "bytes"],
)
def test_path_and_bytes_sources(small_png, as_source):
    result = load_image(as_source(small_png))
    assert_rgb_array(result, 2, 3)
    assert tuple(result[0, 0]) == (1, 2, 3)
    assert tuple(result[1, 2]) == GREEN


def test_lazily_opened_pil_image(small_png):
    with Image.open(small_png) as image:
        result = load_image(image)
    assert tuple(result[0, 0]) == (1, 2, 3)


def test_pil_image_is_not_modified():
    image = Image.new("RGBA", (2, 2), (255, 0, 0, 0))
    assert (load_image(image) == WHITE).all()
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0)) == (255, 0, 0, 0)


@pytest.mark.parametrize(
    ("array", "expected_first_pixel"),
    [
        (np.full((2, 3), 7, dtype=np.uint8), (7, 7, 7)),
        (np.full((2, 3, 1), 7, dtype=np.uint8), (7, 7, 7)),
        (np.full((2, 3, 3), (1, 2, 3), dtype=np.uint8), (1, 2, 3)),
        (np.full((2, 3, 4), (255, 0, 0, 0), dtype=np.uint8), WHITE),
        (np.full((2, 3, 4), (0, 0, 0, 128), dtype=np.uint8), (127, 127, 127)),
        (np.full((2, 3, 4), (1, 1, 1, 128), dtype=np.uint8), (128, 128, 128)),  # 127.502
        (np.full((2, 3, 3), (0, 32768, 65535), dtype=np.uint16), (0, 128, 255)),
        (np.full((2, 3), True), WHITE),
        (np.full((2, 3), False), BLACK),
        (np.full((2, 3, 3), (-0.5, 0.5, 1.5), dtype=np.float32), (0, 128, 255)),
        (np.full((2, 3, 3), (0.0, 0.2, 1.0), dtype=np.float64), (0, 51, 255)),
        (np.full((2, 3, 4), (1.0, 0.0, 0.0, 0.0), dtype=np.float16), WHITE),
    ],
    ids=[
        "uint8-HW",
        "uint8-HW1",
        "uint8-HW3",
        "uint8-transparent",
        "uint8-half-alpha",
        "uint8-alpha-rounds",
        "uint16",
        "bool-true",
        "bool-false",
        "float32-clipped",
        "float64",
        "float16-rgba",
    ],
)
def test_numpy_arrays(array, expected_first_pixel):
    result = load_image(array)
    assert_rgb_array(result, 2, 3)
    assert (result == expected_first_pixel).all()


def test_numpy_result_is_a_contiguous_copy():
    array = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    mirrored = array[:, ::-1]
    result = load_image(mirrored)
    assert_rgb_array(result, 2, 3)
    assert (result == mirrored).all()
    assert not np.shares_memory(result, array)


# --- Bad inputs: one exception type, a message a person can act on -----------------------


def _write(name: str, data: bytes) -> Callable[[Path], Path]:
    def build(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return build


def _cut_in_half(suffix: str) -> Callable[[Path], Path]:
    """An interrupted download: the first half of a valid file."""

    def build(tmp_path: Path) -> Path:
        data = save(noisy_rgb(), tmp_path / f"whole{suffix}").read_bytes()
        path = tmp_path / f"half{suffix}"
        path.write_bytes(data[: len(data) // 2])
        return path

    return build


def _corrupt_png(tmp_path: Path) -> Path:
    """The signature and header are intact; the compressed pixels have garbage inside."""
    data = bytearray(save(noisy_rgb(), tmp_path / "whole.png").read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = b"\xff" * 64
    path = tmp_path / "corrupt.png"
    path.write_bytes(bytes(data))
    return path


def _directory(tmp_path: Path) -> Path:
    (tmp_path / "holiday").mkdir()
    return tmp_path / "holiday"


BAD_SOURCES = {
    "empty file": (_write("empty.jpg", b""), "empty"),
    "empty bytes": (lambda tmp_path: b"", "empty"),
    "missing file": (lambda tmp_path: str(tmp_path / "missing.jpg"), "no file"),
    "directory": (_directory, "folder"),
    "text file": (_write("notes.jpg", b"Shopping list: milk, eggs.\n"), "not an image"),
    "random bytes": (lambda tmp_path: np.random.default_rng(0).bytes(500), "not an image"),
    "truncated jpeg": (_cut_in_half(".jpg"), "damaged or incomplete"),
    "truncated png": (_cut_in_half(".png"), "damaged or incomplete"),
    "corrupt png": (_corrupt_png, "damaged or incomplete"),
    "empty PIL image": (lambda tmp_path: Image.new("RGB", (0, 5)), "no pixels"),
    "premultiplied PIL image": (lambda tmp_path: Image.new("La", (2, 2)), "colour format"),
    "zero-size array": (lambda tmp_path: np.zeros((0, 5, 3), np.uint8), "no pixels"),
    "4-D array": (lambda tmp_path: np.zeros((1, 4, 4, 3), np.uint8), "shape"),
    "5 channels": (lambda tmp_path: np.zeros((4, 4, 5), np.uint8), "shape"),
    "complex array": (lambda tmp_path: np.zeros((4, 4, 3), np.complex64), "complex64"),
    "int64 array": (lambda tmp_path: np.zeros((4, 4, 3), np.int64), "int64"),
    "NaN array": (lambda tmp_path: np.full((4, 4), np.nan), "NaN"),
}


@pytest.mark.parametrize(("build", "keyword"), BAD_SOURCES.values(), ids=BAD_SOURCES.keys())
def test_bad_input_raises_plain_language_error(tmp_path, build, keyword):
    with pytest.raises(InvalidImageError) as caught:
        load_image(build(tmp_path))
    assert isinstance(caught.value, ColorizeError)
    assert keyword in str(caught.value)
    assert str(caught.value).endswith(".")


def test_truncated_images_stay_refused_globally():
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_wrong_source_type_is_a_programming_error():
    with pytest.raises(TypeError, match="int"):
        load_image(42)


# --- Size limits ------------------------------------------------------------------------


def test_max_pixels_refuses_larger_images(tmp_path):
    path = save(Image.new("RGB", (20, 20)), tmp_path / "small.png")
    expected = r"20 x 20 pixels \(0.0004 megapixels\), more than the limit of 0.0001 megapixels"
    with pytest.raises(InvalidImageError, match=expected):
        load_image(path, max_pixels=100)
    assert load_image(path, max_pixels=400).shape == (20, 20, 3)
    assert load_image(path, max_pixels=None).shape == (20, 20, 3)


def test_max_pixels_applies_to_arrays_and_pil_images():
    with pytest.raises(InvalidImageError, match="megapixels"):
        load_image(np.zeros((20, 20), np.uint8), max_pixels=399)
    with pytest.raises(InvalidImageError, match="megapixels"):
        load_image(Image.new("L", (20, 20)), max_pixels=399)


def test_hand_built_png_is_valid(tmp_path):
    """Proves the bomb below is a real PNG, refused for its size and not as garbage."""
    path = tmp_path / "small_claim.png"
    path.write_bytes(png_claiming(30, 20))
    result = load_image(path)
    assert_rgb_array(result, 20, 30)
    assert (result == 0).all()


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (8000, 8000, "8000 x 8000 pixels (64 megapixels), more than the limit of 50 megapixels"),
        (10000, 10000, "10000 x 10000 pixels (100 megapixels)"),  # Pillow warns at this size
        (20000, 20000, "The image is 400 megapixels, more than the limit of 50 megapixels"),
        (30000, 30000, "The image is 900 megapixels, more than the limit of 50 megapixels"),  # its real size, not Pillow's bound
    ],
    ids=["over our limit", "over Pillow's warning", "over Pillow's hard limit", "far over Pillow's hard limit"],
)
@pytest.mark.filterwarnings("error")  # Pillow's DecompressionBombWarning must not escape either
def test_decompression_bomb_is_refused_from_the_header(tmp_path, width, height, expected):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(width, height))
    assert path.stat().st_size < 200_000  # a tiny file claiming a huge picture
    pillow_limit = Image.MAX_IMAGE_PIXELS

    with pytest.raises(InvalidImageError) as caught:
        load_image(path)

    assert expected in str(caught.value)
    assert Image.MAX_IMAGE_PIXELS == pillow_limit


def test_no_limit_still_respects_pillows_hard_limit(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(20000, 20000))
    with pytest.raises(InvalidImageError, match="400 megapixels, more than the 179 megapixels that can be opened safely"):
        load_image(path, max_pixels=None)


def test_side_longer_than_any_format_allows(tmp_path):
    path = tmp_path / "ribbon.png"
    path.write_bytes(png_claiming(70_000, 1))
    with pytest.raises(InvalidImageError, match="65535"):
        load_image(path)


# --- find_images ------------------------------------------------------------------------


def test_find_images_walks_folders_sorted_and_by_suffix(tmp_path):
    root = tmp_path / "photos"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "sub" / "looks_like.jpg").mkdir()  # a folder, however it is named
    for name in ["b.png", "a.jpeg", "sub/C.JPG", "sub/deeper/d.webp", "sub/e.TIFF"]:
        (root / name).write_bytes(b"x")
    (root / "notes.txt").write_text("not a photo")
    (root / "sub" / "raw.cr2").write_bytes(b"x")
    single = tmp_path / "chosen.txt"
    single.write_text("named explicitly")

    found = find_images([single, str(root)])

    assert found == [
        single,
        root / "a.jpeg",
        root / "b.png",
        root / "sub" / "C.JPG",
        root / "sub" / "deeper" / "d.webp",
        root / "sub" / "e.TIFF",
    ]


def test_find_images_reports_missing_paths(tmp_path):
    with pytest.raises(InvalidImageError, match="no file or folder"):
        find_images([tmp_path / "typo"])


def test_image_suffixes_are_lowercase_with_dot():
    assert ".jpg" in IMAGE_SUFFIXES and ".webp" in IMAGE_SUFFIXES
    assert all(suffix == suffix.lower() and suffix.startswith(".") for suffix in IMAGE_SUFFIXES)
